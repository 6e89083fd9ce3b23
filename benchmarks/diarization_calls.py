"""Who spoke when on call-quality mono: the mixed recordings a teletherapy session leaves.

``benchmarks/diarization.py`` mixes clean voices through a room. A recorded video call is
different: the remote voice (here the client) reaches the recording through a speech codec
(Opus, with lost packets concealed), the local voice through the therapist's microphone and
room; a recording made by the call service, or a phone call, has both voices coded or both
narrow-band. Each condition below is built from the same dialogues as a ``diarization.py``
split (its espeak-ng voice pairs, seeds and AMI turn placements; clean tracks rebuilt, then
coded and mixed to mono) and scored with the same figures and targets:

* ``call``: client through Opus at 16 kbit/s with 5 % of packets lost (``opusdec
  --packet-loss``), therapist through a room (rt60 0.2-0.5 s), mixed with 0-6 dB level
  differences and noise at -65..-45 dBFS;
* ``service``: both voices through Opus at 24 kbit/s, 3 % of packets lost (a recording
  made by the call service of the mixed call);
* ``phone``: both voices band-limited to 300-3400 Hz at 8 kHz (``sox``) and back to 16 kHz.

Needs espeak-ng, sox and opus-tools (``opusenc`` / ``opusdec``); AMI dialogues need
``../shared/corpus`` (skipped with a message when absent). Usage::

    python benchmarks/diarization_calls.py [--split fresh13] [--conditions call,service,phone] [--detail] [--cache DIR]

Every condition is coded in every run (the draws follow each other across conditions), ``--conditions`` scoring
some; ``--cache DIR`` keeps the coded recordings in ``DIR/<split>-calls`` and reads them back after (the
tracing tools' ``--condition`` read the same folder with ``--cache DIR``).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

import diarization as B
from _common import corpus_dir

from tests.dialogue import mix_room

SR = 16000
CONDITIONS = ("call", "service", "phone")


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def opus(y: np.ndarray, kbps: int, loss_pct: int, tmp: Path) -> np.ndarray:
    """``y`` (mono float, 16 kHz) through an Opus encode / decode with ``loss_pct`` % of packets
    lost (the decoder's concealment fills them). The result keeps ``y``'s length and timing
    (opusdec drops the encoder's pre-skip; checked by cross-correlation on the first run)."""
    src, enc, dec = tmp / "in.wav", tmp / "x.opus", tmp / "out.wav"
    sf.write(src, np.clip(y, -1, 1), SR, subtype="PCM_16")
    _run(["opusenc", "--quiet", "--bitrate", str(kbps), str(src), str(enc)])
    _run(["opusdec", "--quiet", "--rate", str(SR), "--packet-loss", str(loss_pct), str(enc), str(dec)])
    z, _ = sf.read(dec, dtype="float32")
    return _same_length(z if z.ndim == 1 else z.mean(axis=1), len(y))


def narrowband(y: np.ndarray, tmp: Path) -> np.ndarray:
    """``y`` band-limited to 300-3400 Hz at 8 kHz and back to 16 kHz (sox)."""
    src, dst = tmp / "nb_in.wav", tmp / "nb_out.wav"
    sf.write(src, np.clip(y, -1, 1), SR, subtype="FLOAT")
    _run(["sox", str(src), "-r", "8000", str(tmp / "nb8.wav"), "sinc", "300-3400"])
    _run(["sox", str(tmp / "nb8.wav"), "-r", str(SR), str(dst)])
    z, _ = sf.read(dst, dtype="float32")
    return _same_length(z, len(y))


def narrowband_channels(x: np.ndarray, tmp: Path) -> np.ndarray:
    """``x`` ((n,) or (n, channels)) through ``narrowband``, each channel on its own: a recording made
    through a telephone channel (``benchmarks/diarization_noise.py`` and ``diarization_single.py``
    ``--phone``)."""
    if x.ndim == 1:
        return narrowband(x, tmp)
    return np.stack([narrowband(x[:, c], tmp) for c in range(x.shape[1])], axis=1)


def _same_length(z: np.ndarray, n: int) -> np.ndarray:
    """``z`` cut or zero-padded to ``n`` samples (float32)."""
    out = np.zeros(n, np.float32)
    out[: min(n, len(z))] = z[:n]
    return out


def condition_mix(tracks: np.ndarray, cond: str, rng: np.random.Generator, seed: int, tmp: Path) -> np.ndarray:
    """The two clean voice tracks (therapist, client) as one call-quality mono recording."""
    ld = tuple(float(rng.uniform(0, 6)) * float(rng.choice([-1, 1])) for _ in range(2))
    noise = float(rng.uniform(-65, -45))
    if cond == "call":  # the client's voice arrives coded, the therapist's through the room
        room, _ = mix_room(B._Tracks(np.stack([tracks[:, 0], np.zeros(len(tracks), np.float32)], axis=1)),
                           layout="mono", level_diff_db=ld, rt60_s=float(rng.uniform(0.2, 0.5)),
                           noise_db=noise, seed=seed)
        remote = opus(tracks[:, 1] * 10 ** (ld[1] / 40), 16, 5, tmp)
        return (room[:, 0] + remote)[:, None].astype(np.float32)
    room, _ = mix_room(B._Tracks(tracks), layout="mono", level_diff_db=ld, rt60_s=None, noise_db=noise, seed=seed)
    y = room[:, 0]
    y = opus(y, 24, 3, tmp) if cond == "service" else narrowband(y, tmp)
    return y[:, None].astype(np.float32)


def cases(split: str, conds: tuple[str, ...], tmp: Path):
    rng = np.random.default_rng(3000 + B.SPLIT_RNG[split])
    for nm, _x, truth, (d, _tv) in B.espeak_cases(split, False):
        if not nm.endswith(" mono"):
            continue
        seed = int(nm.split()[2][1:])
        for c in conds:
            yield f"{nm[:-5]} {c} mono", condition_mix(d.audio.astype(np.float32), c, rng, seed, tmp), truth
    corpus = corpus_dir()
    if corpus is None:
        print("  (no corpus: AMI real-voice dialogues skipped)", file=sys.stderr)
        return
    for entry in B.AMI_DIALOGUE_FILES[split]:
        uri, speakers = B.ami_entry(entry)
        for seed in B.AMI_SEEDS[split]:
            got = B.ami_dialogue(uri, corpus, seed, speakers)
            if got is None:
                continue
            tracks, truth = got
            for c in conds:
                yield f"AMI {uri} s{seed} {c} mono", condition_mix(tracks, c, rng, seed, tmp), truth


def all_cases(split: str, cache: str | None = None):
    """(name, audio, truth) of ``split``'s recordings in every condition, drawn in one run (the draws of ``cases``
    follow each other across conditions, so a run of one condition alone would hear other mixes); with ``cache``
    (a folder outside the repo) built once and read back from ``cache/<split>-calls`` after (``diarization.cached``:
    the codecs and synthesis are the slow part of a run)."""
    with tempfile.TemporaryDirectory() as t:
        yield from B.cached(cases(split, CONDITIONS, Path(t)), None if cache is None else f"{cache}/{split}-calls")


def condition_cases(split: str, cond: str, cache: str | None = None):
    """(name, audio, truth) of ``split``'s recordings in the one condition ``cond``, drawn as a run over all
    conditions draws them (``all_cases``): the material ``diarization_calls.py --split S`` scores, for the
    tracing tools' ``--condition`` (``diarization_wrong.py``, ``backchannel_false.py``)."""
    yield from ((nm, x, tr) for nm, x, tr in all_cases(split, cache) if nm.split()[-2] == cond)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=tuple(s for s in B.SEEDS if B.VOICE_PAIRS.get(s)), default="fresh13")
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--detail", action="store_true", help="print each recording's missed and false backchannels")
    ap.add_argument("--cache", help="folder (outside the repo) to keep the coded recordings in between runs "
                    "(every condition's, whichever --conditions)")
    args = ap.parse_args()
    conds = tuple(c for c in args.conditions.split(",") if c)
    bad = [c for c in conds if c not in CONDITIONS]
    if bad or not conds:
        print(f"error: --conditions: use some of {', '.join(CONDITIONS)}", file=sys.stderr)
        return 2
    missing = [t for t in ("espeak-ng", "sox", "opusenc", "opusdec") if shutil.which(t) is None]
    if missing:
        print(f"error: needs {', '.join(missing)} (apt-get install espeak-ng sox opus-tools)", file=sys.stderr)
        return 2
    rows = {c: [] for c in conds}
    print(f"== split {args.split}, call-quality mono ==")
    for name, x, truth in all_cases(args.split, args.cache):
        if name.split()[-2] in conds:
            r, _att = B.run_case(x, truth)
            r["name"] = name
            rows[name.split()[-2]].append(r)
            fto = np.median(r["fto_err"]) * 1000 if r["fto_err"] else float("nan")
            print(f"{name:60} v{r['voices']} wrong {100 * r['wrong'] / max(1, r['single_frames']):6.2f} % "
                  f"changes {r['changes_true']:3d}/{r['changes_found']:<3d} share {r['share_err']:.3f} "
                  f"fto {fto:6.1f} ms bc {r['bc_true']}/{r['bc_found']}/{r['bc_pred']}", flush=True)
            if args.detail and (r["bc_missed"] or r["bc_false"]):
                print(f"    backchannels missed {r['bc_missed']}  false {r['bc_false']}", flush=True)
    ok = True
    for c in conds:
        ok &= B.summarize({"rows": rows[c], "singles": []}, None, None, f"{args.split} / {c}")
    print("\nALL PASS" if ok else "\nSOME FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
