"""One voice or two, over a wide generated set (issue 9: "single-voice recordings reported as one voice").

``benchmarks/diarization.py`` holds 10 one-voice recordings per split; this script makes many more,
runs the diarizer alone (``prosody.engine.diarize.diarize``, no analysis pipeline: fast) and prints
how many one-voice recordings stay one voice and how many two-voice recordings keep two:

* one voice: espeak-ng voices (base voice + variant, pitch base, speed), 10-60 s, sentences with
  pauses of 0.05-1.2 s (near-continuous speech too), levels -35..-15 dBFS, noise 20-45 dB below the speech,
  dry or a synthetic room (RT60 0.2-0.6 s), mono or shared (two table mics, 0-6 dB level
  difference); real AMI speakers' single-speaker stretches (RTTM, ``PROSODY_CORPUS``) joined with
  pauses, shuffled per case;
* two voices, hard cases: near-alike pairs (one base voice, two variants, or one variant at two
  pitch bases), one voice holding ~90 % (one or two short answers), quick turns (gaps -0.25..0.3 s),
  short answers; scored by the share of single-speaker speech given to the wrong voice (best
  mapping, 0.25 s collars) on the diarization itself;
* ``--splits tune,held,...``: also the recordings of ``benchmarks/diarization.py``'s splits
  (diarization only; the pipeline's figures stay that benchmark's).

Splits of this script: ``wide`` (tuning: variants used by no split of diarization.py but its
tune/held/dev voices), ``fresh6`` (voices and seeds used nowhere else; run once, on final settings).

``--phone``: every recording through a telephone channel first (300-3400 Hz at 8 kHz), with how many
are said telephone-band (``speakers.NARROW_BAND_BELOW_DB``).

``--voices-of fresh15``: each espeak-ng voice of that diarization.py split alone, as the split specifies it
(``OWN_PER_VOICE`` monologues each; gen90, for a held-back split's own voices).

    python benchmarks/diarization_single.py [--set wide|fresh6] [--splits tune,held,fresh5] [--voices-of fresh15]
        [--phone]
        [--cache DIR] [--dump FILE] [--only TEXT] [--config FIELD=VALUE ...]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import corpus_dir, frame_mask

from diarization_calls import narrowband_channels
from prosody.engine.diarize import DiarizeConfig, diarize
from prosody.engine.speakers import NARROW_BAND_BELOW_DB
from tests.dialogue import (CLIENT_SENTENCES, THERAPIST_LONG_SENTENCES, THERAPIST_SENTENCES, mix_room,
                            synthesize)

BASES = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-us-nyc", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
VARIANTS = {
    # tuning: variants in no split of diarization.py, plus tune/held/dev's m/f variants
    "wide": ("adam", "antonio", "boris", "ed", "gustave", "iven", "iven2", "Jacky", "marcelo", "Mario", "michel",
             "miguel", "pablo", "pedro", "sandro", "grandpa", "klatt", "klatt3", "croak", "AnxiousAndy",
             "kaukovalta", "Henrique", "m1", "m2", "m3", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", ""),
    # fresh6: variants used nowhere else (not in diarization.py, not in "wide")
    "fresh6": ("edward2", "Gene2", "iven3", "iven4", "Marco", "Nguyen", "Diogo", "klatt2", "klatt4", "klatt5",
               "whisperf", "RicishayMax", "klatt6"),
}
SEED0 = {"wide": 100, "fresh6": 900}
N_SINGLE = {"wide": 48, "fresh6": 24}
N_TWO = {"wide": 36, "fresh6": 18}
SHORT_ANSWERS = ("Yes, I think so.", "Not really.", "Maybe, I am not sure.", "No.", "It was fine.",
                 "That is right.", "I suppose so.", "Sometimes.")
SENTENCES = THERAPIST_SENTENCES + THERAPIST_LONG_SENTENCES + CLIENT_SENTENCES
COLLAR_S = 0.25


class _Tracks:
    """Enough of a Dialogue for mix_room: clean two-track audio."""

    class settings:  # noqa: N801
        noise_db = None

    def __init__(self, audio):
        self.audio = audio
        self.sample_rate = 16000


def _voice(rng, split: str) -> tuple[str, int, int]:
    v = str(rng.choice(VARIANTS[split]))
    base = str(rng.choice(BASES))
    return (base + ("+" + v if v else "")), int(rng.integers(20, 80)), int(rng.integers(135, 200))


def _say(text, voice) -> np.ndarray:
    v, p, s = voice
    return np.asarray(synthesize(text, voice=v, pitch=p, speed_wpm=s), np.float32)


def _room(tracks: np.ndarray, rng, *, seed: int) -> tuple[np.ndarray, str]:
    layout = "shared" if rng.uniform() < 0.5 else "mono"
    ld = tuple(float(rng.uniform(0, 6)) * float(rng.choice([-1, 1])) for _ in range(2))
    rt60 = None if rng.uniform() < 0.3 else float(rng.uniform(0.2, 0.6))
    level = float(rng.uniform(-35, -15))
    act = np.abs(tracks).sum(axis=1) > 1e-4
    rms = np.sqrt(np.mean(tracks[act] ** 2)) if act.any() else 1.0
    tracks = tracks * (10 ** (level / 20) / max(rms, 1e-9))
    noise = max(-70.0, level - float(rng.uniform(20, 45)))  # speech 20-45 dB above the noise
    x, _ = mix_room(_Tracks(tracks.astype(np.float32)), layout=layout, level_diff_db=ld,
                    delay_ms=tuple(rng.uniform(0, 1, 2)), rt60_s=rt60, noise_db=noise, seed=seed)
    how = f"{layout} rt{0 if rt60 is None else rt60:.1f} {level:.0f}/{noise:.0f}dB"
    return (x[:, 0] if layout == "mono" else x), how


def _monologue(voice, rng, i: int, seed: int) -> tuple[str, np.ndarray]:
    """One voice alone, 10-60 s of sentences with pauses (``i`` picks the pause range), in a drawn room:
    (what it is, audio)."""
    dur = float(rng.uniform(10, 60))
    gap_hi = (0.3, 0.8, 1.2)[i % 3]  # near-continuous speech, short pauses, monologue pauses
    parts, t = [], 0.0
    while t < dur:
        y = _say(str(rng.choice(SENTENCES)), voice)
        g = np.zeros(int(16000 * rng.uniform(0.05, gap_hi)), np.float32)
        parts += [y, g]
        t += (len(y) + len(g)) / 16000
    y = np.concatenate([np.zeros(8000, np.float32)] + parts)
    x, how = _room(np.stack([y, np.zeros_like(y)], axis=1), rng, seed=seed)
    return f"{dur:.0f}s gap<{gap_hi} {how}", x


def single_cases(split: str):
    """(name, audio, None): one voice alone."""
    for i in range(N_SINGLE[split]):
        seed = SEED0[split] + i
        rng = np.random.default_rng(seed)
        voice = _voice(rng, split)
        how, x = _monologue(voice, rng, i, seed)
        yield f"one {voice[0]} p{voice[1]} s{voice[2]} {how}", x, None
    corpus = corpus_dir()
    if corpus is None:
        print("  (no corpus: AMI single voices skipped)", file=sys.stderr)
        return
    from diarization import ami_stretches
    pools: dict[str, list[np.ndarray]] = {}
    for uri in ("dev00", "dev01", "trn04", "trn05", "trn06", "tst00"):
        y, sr = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
        for spk, st in ami_stretches(uri, corpus).items():
            pools.setdefault(spk, []).extend(y[int(a * sr):int(b * sr)] for a, b in st)
    k = 0
    for spk in sorted(pools):
        total = sum(len(p) for p in pools[spk]) / 16000
        if total < 4.0:
            continue
        for rep in range(3 if total >= 15 else 2):
            seed = SEED0[split] + 500 + k
            k += 1
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(pools[spk]))
            parts = []
            for j in order:
                parts += [pools[spk][j], np.zeros(int(16000 * rng.uniform(0.1, 0.9)), np.float32)]
            y = np.concatenate(parts)
            x, how = _room(np.stack([y, np.zeros_like(y)], axis=1), rng, seed=seed)
            yield f"one AMI {spk} r{rep} {len(y) / 16000:.0f}s {how}", x, None


def _pair(rng, split: str):
    kind = int(rng.integers(0, 3))
    a = _voice(rng, split)
    if kind == 0:  # one base voice, two variants
        b = _voice(rng, split)
        b = (a[0].split("+")[0] + ("+" + b[0].split("+")[1] if "+" in b[0] else ""), b[1], b[2])
    elif kind == 1:  # one variant at two pitch bases
        b = (a[0], int(np.clip(a[1] + rng.choice([-1, 1]) * rng.integers(15, 30), 0, 99)), int(rng.integers(135, 200)))
    else:
        b = _voice(rng, split)
    return a, b


def two_cases(split: str, only: frozenset[int] | None = None):
    """(name, audio, truth segments per voice): hard two-voice recordings. ``only``: just the cases
    of these numbers (0-based; each case draws from its own seed, so a case is the same alone)."""
    for i in range(N_TWO[split]):
        if only is not None and i not in only:
            continue
        seed = SEED0[split] + 300 + i
        rng = np.random.default_rng(seed)
        va, vb = _pair(rng, split)
        kind = ("dominant", "quick", "short")[i % 3]
        dur = float(rng.uniform(15, 50))
        placed = []  # (voice, start_s, audio)
        t = 0.5
        if kind == "dominant":  # A ~90 %, B one or two short answers at pauses
            n_ans = 1 + int(dur > 30)
            slots = sorted(rng.uniform(0.25, 0.85, n_ans) * dur)
            while t < dur:
                y = _say(str(rng.choice(SENTENCES)), va)
                placed.append((0, t, y))
                t += len(y) / 16000
                if slots and t > slots[0]:
                    slots.pop(0)
                    t += float(rng.uniform(0.2, 0.7))
                    y = _say(str(rng.choice(SHORT_ANSWERS + CLIENT_SENTENCES[:3])), vb)
                    placed.append((1, t, y))
                    t += len(y) / 16000
                t += float(rng.uniform(0.3, 1.0))
        else:
            who = 0
            while t < dur:
                pool = SHORT_ANSWERS if (kind == "short" and who == 1) else SENTENCES
                y = _say(str(rng.choice(pool)), (va, vb)[who])
                placed.append((who, t, y))
                t += len(y) / 16000
                t += float(rng.uniform(-0.25, 0.3)) if kind == "quick" else float(rng.uniform(0.2, 0.9))
                if kind == "short" or rng.uniform() < 0.8:
                    who = 1 - who
        n = int((max(s + len(y) / 16000 for _, s, y in placed) + 0.5) * 16000)
        tracks = np.zeros((n, 2), np.float32)
        segs = [[], []]
        for w, s, y in placed:
            a = int(s * 16000)
            tracks[a:a + len(y), w] += y
            segs[w].append((s, s + len(y) / 16000))
        # voices at their own level within +-3 dB
        tracks[:, 1] *= 10 ** (float(rng.uniform(-3, 3)) / 20)
        x, how = _room(tracks, rng, seed=seed)
        yield f"two {kind} {va[0]} p{va[1]}/{vb[0]} p{vb[1]} {n / 16000:.0f}s {how}", x, segs


OWN_PER_VOICE = 6  # --voices-of: monologues of each voice


def own_voice_cases(split: str):
    """(name, audio, None): each espeak-ng voice of ``benchmarks/diarization.py``'s ``split`` alone, exactly as
    that split specifies it (pitch base, speed), in ``OWN_PER_VOICE`` monologues made as ``single_cases``'
    (seeds 5000 + 10 * the voice's place + k; gen90: one voice kept whole for a held-back split's voices)."""
    import diarization as B
    for j, spec in enumerate(v for pair in B.VOICE_PAIRS[split] for v in pair):
        for k in range(OWN_PER_VOICE):
            seed = 5000 + 10 * j + k
            how, x = _monologue(B.voice_spec(spec), np.random.default_rng(seed), k, seed)
            yield f"one {spec} r{k} {how}", x, None


def bench_cases(split: str):
    """The recordings of diarization.py's split: two-voice ones with their truth, then one-voice ones."""
    import diarization as B
    from tests.dialogue import CLIENT, THERAPIST
    for nm, x, tr in B.two_voice_cases(split, False):
        yield f"{split} {nm}", x, [tr["segments"][THERAPIST], tr["segments"][CLIENT]]
    for nm, x in B.single_voice_cases(split, False):
        yield f"{split} {nm}", x, None


def cached(name: str, gen, cache_dir):
    """``gen`` read from / written to ``cache_dir``'s folder ``name`` (``diarization.cached``)."""
    import diarization as B
    yield from B.cached(gen, None if cache_dir is None else Path(cache_dir) / name)


def wrong_share(d, segs) -> tuple[int, int]:
    """(frames of single-speaker speech outside collars given to the wrong voice, such frames)."""
    n = d.n_frames
    A, B = frame_mask(segs[0], n), frame_mask(segs[1], n)
    t = (np.arange(n) + 0.5) * 0.01
    keep = np.ones(n, bool)
    for a, b in segs[0] + segs[1]:
        keep &= (np.abs(t - a) >= COLLAR_S) & (np.abs(t - b) >= COLLAR_S)
    single = (A ^ B) & keep
    h0, h1 = d.activity[:, 0], d.activity[:, 1]
    w = min(np.sum(single & ((A & h1) | (B & h0))), np.sum(single & ((A & h0) | (B & h1))))
    return int(w), int(single.sum())


def one_voice_trial(cur: dict, *, name_width: int = 64, argv=None) -> int:
    """The driver of the one-voice trials (diarization_spectral_trial.py, diarization_campplus_trial.py):
    ``--groups`` (diarization.py split names, ``wide`` / ``fresh6s``), ``--cache``, ``--only``; per recording
    diarize, then print the truth, the voices found, wrong-voice speech and ``cur["st"]``, the figures the
    trial's hook left there (``cur["segs"]``: the recording's truth, for the hook to read)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", default="fresh2,wide")
    ap.add_argument("--cache", help="folder (outside the repo), as diarization_single.py's")
    ap.add_argument("--only", help="only the recordings whose name contains this")
    args = ap.parse_args(argv)
    groups = []
    for g in args.groups.split(","):
        if g in ("wide", "fresh6s"):
            s = "wide" if g == "wide" else "fresh6"
            groups += [(f"{s}-one", single_cases(s)), (f"{s}-two", two_cases(s))]
        elif g:
            groups.append((f"bench-{g}", bench_cases(g)))
    for gname, gen in groups:
        for nm, x, segs in cached(gname, gen, args.cache):
            if args.only and args.only not in nm:
                continue
            cur.clear()
            cur["segs"] = segs
            d = diarize(x)
            w, tot = wrong_share(d, segs) if segs is not None else (0, 0)
            st = cur.get("st")
            txt = "-" if st is None else " ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                                  for k, v in st.items())
            print(f"{gname[:12]:12} truth {1 if segs is None else 2} found {d.n_voices} wrong "
                  f"{100 * w / max(tot, 1):4.1f} % {nm[:name_width]:{name_width}} | {txt}", flush=True)
    return 0


def _field_value(text: str) -> tuple[str, object]:
    """``FIELD=VALUE`` of ``--config`` as a DiarizeConfig field and its value of the field's type (a bool read
    from true/false/1/0/yes/no/on/off: ``bool("0")`` is True, so ``flip_overlap_ends=0`` turned it on)."""
    key, _, value = text.partition("=")
    default = getattr(DiarizeConfig(), key)
    if isinstance(default, bool):
        low = value.strip().lower()
        if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise SystemExit(f"--config {key}={value}: a bool is true or false")
        return key, low in ("1", "true", "yes", "on")
    return key, type(default)(value)


def finish(rows: list[dict], dump: str | None) -> int:
    """The closing line of a run over ``rows`` (the diarizer's CPU seconds per audio second), the rows written
    as JSON to ``dump`` where given; 0 (the exit status)."""
    cpu = sum(r["cpu"] for r in rows) / max(1e-9, sum(r["audio_s"] for r in rows))
    print(f"diarization CPU s per audio s over all: {cpu:.4f}")
    if dump:
        Path(dump).write_text(json.dumps(rows, indent=1))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", choices=tuple(VARIANTS) + ("none",), default="wide")
    ap.add_argument("--splits", default="", help="also diarization.py's splits, comma-separated (e.g. tune,held)")
    ap.add_argument("--voices-of", default="",
                    help="also each espeak-ng voice of these diarization.py splits alone (comma-separated)")
    ap.add_argument("--cache", help="folder (outside the repo) to keep the generated cases in between runs")
    ap.add_argument("--dump", help="write per-recording results as JSON to this file")
    ap.add_argument("--only", help="run only the recordings whose name contains this")
    ap.add_argument("--config", action="append", default=[], metavar="FIELD=VALUE",
                    help="a DiarizeConfig field other than its default (e.g. pieces_min_changes=0), repeatable")
    ap.add_argument("--phone", action="store_true",
                    help="each recording through a telephone channel first (300-3400 Hz at 8 kHz, sox)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp()) if args.phone else None
    cfg = DiarizeConfig(**dict(_field_value(c) for c in args.config))
    groups = []
    if args.set != "none":
        groups += [(f"{args.set}-one", single_cases(args.set)), (f"{args.set}-two", two_cases(args.set))]
    groups += [(f"bench-{s}", bench_cases(s)) for s in args.splits.split(",") if s]
    groups += [(f"voices-{s}", own_voice_cases(s)) for s in args.voices_of.split(",") if s]
    rows = []
    for gname, gen in groups:
        for nm, x, segs in cached(gname, gen, args.cache):
            if args.only and args.only not in nm:
                continue
            if tmp is not None:
                x = narrowband_channels(x, tmp)
            t0 = time.process_time()
            d = diarize(x, config=cfg)
            cpu = time.process_time() - t0
            w, tot = wrong_share(d, segs) if segs is not None and d.n_voices == 2 else (0, 0)
            if segs is not None and d.n_voices < 2:
                w, tot = wrong_share(d, segs)  # one voice: the other's speech all wrong (min over mappings)
            r = {"group": gname, "name": nm, "truth": 1 if segs is None else 2, "voices": int(d.n_voices),
                 "separation": float(d.separation), "wrong": w, "single": tot, "cpu": cpu, "audio_s": len(x) / 16000,
                 "narrow": bool(d.speech_high_band_db < NARROW_BAND_BELOW_DB), "unsure": bool(d.unsure)}
            rows.append(r)
            ok = r["voices"] == r["truth"]
            print(f"{'  ' if ok else '!!'} {gname:12} {nm[:88]:88} v{r['voices']}{'?' if r['unsure'] else ' '}"
                  f"sep {r['separation']:.3f}"
                  + (f" wrong {100 * w / max(tot, 1):5.1f} %" if segs is not None else ""), flush=True)
    print()
    for gname in dict.fromkeys(r["group"] for r in rows):
        g = [r for r in rows if r["group"] == gname]
        one = [r for r in g if r["truth"] == 1]
        two = [r for r in g if r["truth"] == 2]
        print(f"{gname:14} said telephone-band   {sum(r['narrow'] for r in g)}/{len(g)}")
        if one:
            print(f"{gname:14} one voice kept whole  {sum(r['voices'] == 1 for r in one)}/{len(one)}   "
                  f"(of which said unsure: {sum(r['unsure'] for r in one)})")
        if two:
            w = sum(r["wrong"] for r in two) / max(1, sum(r["single"] for r in two))
            rest = [r for r in two if not r["unsure"]]
            wr = sum(r["wrong"] for r in rest) / max(1, sum(r["single"] for r in rest))
            print(f"{gname:14} two voices found      {sum(r['voices'] == 2 for r in two)}/{len(two)}   "
                  f"wrong-voice speech {100 * w:.2f} %   said unsure {len(two) - len(rest)} (scored as one voice "
                  f"above), wrong-voice over the rest {100 * wr:.2f} %")
    return finish(rows, args.dump)


if __name__ == "__main__":
    sys.exit(main())
