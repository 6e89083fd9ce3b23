"""The layout of one stereo device found live (``prosody.live.layout_watch``): how soon a
table device (both voices on both channels) is read as one shared device, what the
live view shows after that, and how often separate channels are switched by mistake.

Every case is a stereo replay through the live runner as ``prosody live --input FILE``
runs it (``plan_capture``, ``LiveRunner``, ``--speed max``), the saved session read back.

Shared material (planted truth), channel 2 of a table device:

* ``espeak``: two-voice espeak-ng dialogues (benchmarks/online_attribution.py ``case``:
  events / turns / mixed scenarios), mixed by ``tests.dialogue.mix_room`` (shared: each
  voice +-0..6 dB between the two mics, 0-1 ms later on mic 2, RT60 0.2-0.5 s or dry,
  noise -65..-45 dBFS), with the therapist's profile enrolled from other sentences
  (``enrolment``): the provisional talk share against the planted one;
* ``ami``: real AMI voices (``tests.dialogue.ami_dialogue``) mixed alike, no profile;
* ``fixture``: fixtures/dialogue.flac's two voices mixed alike (its channels as the voices).

Separate material (must not switch):

* ``crosstalk``: benchmarks/crosstalk.py's dialogues (leak 3-33 dB under, gains up to
  +-24 dB, rooms, path changes), splits given by ``--splits``;
* ``plain``: the same dialogues without any leak (``clean``) and the fixture dialogue as recorded;
* ``alone``: one voice speaking alone for the first 45 s (a headset), its leak 3-10 dB under
  on the other channel (delay 0-150 ms, a room or none): the level rule alone reads that
  shared (one mode within 12 dB).

Printed per case and per material: switched or not, seconds of audio until the switch,
the share of planted speech (frames where someone speaks) shown as speech after the
switch, before it (the channels read as given: the cross-talk rejection's 0), and with a
profile the provisional talk share against the planted.

    python benchmarks/live_layout.py [--shared 16] [--ami 12] [--splits held,fresh] [--alone 20]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import corpus_dir, frame_mask  # noqa: E402

from prosody.engine.speakers import build_profile  # noqa: E402
from prosody.live.layout import LiveRequest, layout_watch, plan_capture  # noqa: E402
from prosody.live.runner import LiveRunner, load_live_session  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def replay(x: np.ndarray, folder: Path, name: str, voice_profile=None, watch: bool = True) -> tuple[dict, dict, float]:
    """``prosody live --input`` of the stereo ``x`` at --speed max: (saved doc, frames, CPU s).
    ``watch`` False: as before the live layout checks (the channels read as given all session)."""
    wav = folder / f"{name}.wav"
    sf.write(wav, x.astype(np.float32), 16000, subtype="FLOAT")
    req = LiveRequest(input_files=(str(wav),), speed=None)
    src, sources, warnings = plan_capture(req)
    runner = LiveRunner(src, output_path=folder / f"{name}.json", sources=sources, warnings=warnings,
                        layout_watch=layout_watch(req, src.speakers) if watch else None, voice_profile=voice_profile,
                        online_profile="therapist" if voice_profile is not None else "")
    t0 = time.process_time()
    runner.start()
    res = runner.wait()
    cpu = time.process_time() - t0
    doc, frames = load_live_session(res.output_path)
    return doc, frames, cpu


def shown_shares(doc: dict, frames: dict, truth_segs: list) -> tuple[float | None, float | None]:
    """Share of planted speech frames shown as anyone's speech (final frames), after / before the switch."""
    lay = doc["live"]["layout"]
    n = min(len(v["is_speech"]) for v in frames.values())
    planted = frame_mask(truth_segs, n)
    shown = np.zeros(n, bool)
    for v in frames.values():
        shown |= np.asarray(v["is_speech"][:n], bool)
    if not lay["switched"]:
        return None, float(np.mean(shown[planted])) if planted.any() else None
    k = int(round(lay["found_at_s"] / 0.01))
    after = planted.copy()
    after[:k] = False
    return float(np.mean(shown[after])) if after.any() else None, None


def planted_share(truth: dict) -> float:
    t = sum(b - a for a, b in truth["segments"]["therapist"])
    c = sum(b - a for a, b in truth["segments"]["client"])
    return t / (t + c)


def shared_espeak(seed: int):
    from online_attribution import enrolment, espeak_dialogue
    kind, rng, d, tv = espeak_dialogue(seed)
    x, truth = room_mix(d, rng, seed)
    return f"espeak-{kind}-s{seed}", x, truth, build_profile(enrolment(tv, seed))


def room_mix(d, rng, seed):
    from tests.dialogue import mix_room
    ld = tuple(float(rng.uniform(0, 6)) * float(rng.choice([-1, 1])) for _ in range(2))
    rt60 = None if rng.uniform() < 0.25 else float(rng.uniform(0.2, 0.5))
    x, _ = mix_room(d, layout="shared", level_diff_db=ld, delay_ms=tuple(rng.uniform(0, 1, 2)), rt60_s=rt60,
                    noise_db=float(rng.uniform(-65, -45)), seed=seed)
    return x, d.truth.to_json_dict()


def shared_ami(seed: int, corpus):
    from tests.dialogue import ami_dialogue
    d = ami_dialogue(corpus, seed=seed, trim_db=30.0)
    x, truth = room_mix(d, np.random.default_rng([seed, 78]), seed)
    return f"ami-s{seed}", x, truth, None


def shared_fixture(seed: int):
    """fixtures/dialogue.flac's two voices (its channels) mixed to two table mics."""
    import json

    from tests.dialogue import room_ir
    x, sr = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="float64")
    truth = json.loads((REPO / "fixtures" / "dialogue.truth.json").read_text())
    rng = np.random.default_rng([seed, 79])
    out = np.zeros((len(x), 2))
    rt60 = None if rng.uniform() < 0.25 else float(rng.uniform(0.2, 0.5))
    for s in (0, 1):
        ld = float(rng.uniform(0, 6)) * float(rng.choice([-1, 1]))
        for m in (0, 1):
            y = x[:, s] * 10 ** (ld / 2 * (1 if m == 0 else -1) / 20)
            if rt60 is not None:
                y = np.convolve(y, room_ir(rt60, seed=seed * 4 + 2 * s + m, direct_to_reverb_db=6.0))[:len(y)]
            k = int(round(rng.uniform(0, 1) * 16)) if m == 1 else 0
            out[k:, m] += y[:len(y) - k]
    out += rng.standard_normal(out.shape) * 10 ** (rng.uniform(-65, -45) / 20)
    return f"fixture-s{seed}", out.astype(np.float32), {"segments": truth["segments"]}, None


def alone(seed: int, corpus):
    """One voice alone for 45 s on its channel (AMI on odd seeds, the fixture's therapist on even),
    its leak 3-10 dB under on the other channel."""
    from tests.dialogue import ami_dialogue, room_ir
    rng = np.random.default_rng([seed, 80])
    if corpus is not None and seed % 2:
        d = ami_dialogue(corpus, seed=seed, trim_db=30.0)
        v = d.audio[:, 0].astype(np.float64)
    else:
        x, _ = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="float64")
        v = x[:, 0]
    v = v[: 45 * 16000]
    leak_db, delay = float(rng.uniform(-10, -3)), int(rng.uniform(0, 0.15) * 16000)
    rt60 = None if rng.uniform() < 0.3 else float(rng.uniform(0.15, 0.7))
    y = v if rt60 is None else np.convolve(v, room_ir(rt60, seed=seed))[:len(v)]
    y = y / max(np.sqrt(np.mean(y ** 2)), 1e-12) * np.sqrt(np.mean(v ** 2)) * 10 ** (leak_db / 20)
    y = np.concatenate([np.zeros(delay), y[:len(y) - delay]])
    out = np.stack([v, y * (1 if rng.uniform() < 0.5 else -1)], axis=1)
    out += rng.standard_normal(out.shape) * 10 ** (rng.uniform(-72, -55) / 20)
    if rng.uniform() < 0.5:
        out = out[:, ::-1]
    return f"alone-s{seed} leak {leak_db:+.0f}dB delay {delay / 16:.0f}ms rt60 {rt60 or 0:.2f}", out.astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=int, default=16, help="espeak shared dialogues (seeds 0..N-1)")
    ap.add_argument("--ami", type=int, default=12, help="AMI shared dialogues")
    ap.add_argument("--fixture", type=int, default=6, help="fixture shared mixes")
    ap.add_argument("--splits", default="held,fresh", help="crosstalk.py splits for the separate material")
    ap.add_argument("--alone", type=int, default=20, help="one voice alone with its leak 3-10 dB under")
    ap.add_argument("--before", action="store_true", help="each shared case also read as two channels all "
                    "session (as before the live layout checks)")
    args = ap.parse_args()
    corpus = corpus_dir()
    folder = Path(tempfile.mkdtemp(prefix="live_layout_"))
    rows = {}

    def add(kind, row):
        rows.setdefault(kind, []).append(row)

    cases = [("shared-espeak", lambda s=s: shared_espeak(s)) for s in range(args.shared)]
    cases += [("shared-ami", lambda s=s: shared_ami(s, corpus)) for s in range(args.ami) if corpus is not None]
    cases += [("shared-fixture", lambda s=s: shared_fixture(s)) for s in range(args.fixture)]
    for kind, make_case in cases:
        try:
            name, x, truth, prof = make_case()
        except Exception as exc:  # a scenario an espeak voice cannot plant
            print(f"{kind} skipped: {exc}")
            continue
        segs = list(truth["segments"]["therapist"]) + list(truth["segments"]["client"])
        doc, frames, cpu = replay(x, folder, name, prof)
        lay = doc["live"]["layout"]
        after, before = shown_shares(doc, frames, segs)
        speech_at = lay["decided_by"]["speech_s"] if lay["decided_by"] else None
        oa = doc["live"].get("online_attribution") or {}
        share = oa.get("talk_share_therapist")
        row = {"switched": lay["switched"], "at_s": lay["found_at_s"], "after": after, "speech_at": speech_at,
               "share": share, "planted": planted_share(truth), "dur": doc["duration_s"],
               "reanalysis_s": lay.get("reanalysis_s")}
        if args.before:  # the channels read as given all session: speech shown, and the talk share by channel
            bdoc, bframes, _ = replay(x, folder, name + "-before", None, watch=False)
            _, row["before_shown"] = shown_shares({"live": {"layout": {"switched": False}}}, bframes, segs)
            tm = bdoc["measures"]["timing"]
            row["before_share"] = tm["therapist"].get("talk_share")
            row["before_silent"] = sum(1 for w in bdoc["warnings"] if "never speaks" in w)
        add(kind, row)
        print(f"{kind:15} {name:28} {doc['duration_s']:5.0f} s  switched {str(lay['switched']):5} at "
              f"{lay['found_at_s'] if lay['found_at_s'] is not None else '-':>5} s (speech {speech_at}) "
              f"shown after {after if after is None else round(after, 3)}"
              + (f" share {share} planted {row['planted']:.3f}" if prof is not None else "")
              + (f" | before: shown {row['before_shown']:.3f}, channel talk share {row['before_share']}"
                 if args.before else "")
              + f" cpu {cpu:.1f} s", flush=True)

    sep = []
    if args.splits:
        from crosstalk import SPLITS, make
        for split in args.splits.split(","):
            a, b = map(int, SPLITS[split].split(":"))
            for seed in range(a, b):
                try:
                    d, quiet, cond, clean = make(seed, corpus)
                except Exception as exc:
                    print(f"crosstalk {seed} skipped: {exc}")
                    continue
                sep.append(("separate-crosstalk", f"{split}-s{seed} {cond}", d.audio))
                sep.append(("separate-plain", f"{split}-s{seed} clean", clean.audio))
    x, _ = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="float32")
    sep.append(("separate-plain", "fixture dialogue", x))
    for s in range(args.alone):
        name, x = alone(s, corpus)
        sep.append(("separate-alone", name, x))
    for kind, name, x in sep:
        doc, frames, cpu = replay(x, folder, "sep", None)
        lay = doc["live"]["layout"]
        add(kind, {"switched": lay["switched"], "found": lay["found"], "said": bool(lay["said"])})
        print(f"{kind:18} {name[:70]:70} found {lay['found']} switched {lay['switched']}"
              + (f" at {lay['found_at_s']}" if lay["switched"] else ""), flush=True)

    print("\n== summary")
    for kind, rs in rows.items():
        n = len(rs)
        sw = [r for r in rs if r["switched"]]
        line = f"{kind:18} {n:3} cases: switched {len(sw)}/{n}"
        if kind.startswith("shared") and sw:
            at = np.array([r["at_s"] for r in sw])
            sp = np.array([r["speech_at"] for r in sw])
            aft = np.array([r["after"] for r in sw if r["after"] is not None])
            line += (f"; switch at median {np.median(at):.0f} s (max {at.max():.0f}) of audio, "
                     f"{np.median(sp):.0f} s of speech in its window; planted speech shown after it "
                     f"mean {aft.mean():.3f} (min {aft.min():.3f})")
            sh = [(r["share"], r["planted"]) for r in sw if r["share"] is not None]
            if sh:
                err = np.abs([a - b for a, b in sh])
                line += f"; provisional talk share |error| median {np.median(err):.3f} (max {err.max():.3f}, n {len(sh)})"
            ra = [r["reanalysis_s"] for r in sw if r.get("reanalysis_s") is not None]
            if ra:
                line += f"; the switch's re-analysis median {np.median(ra):.2f} s (max {max(ra):.2f}) wall"
            if "before_shown" in rs[0]:
                bs = np.array([r["before_shown"] for r in rs])
                be = np.array([abs(r["before_share"] - r["planted"]) if r["before_share"] is not None else 1.0
                               for r in rs])
                line += (f"\n{'':18} before (channels as given all session): planted speech shown {bs.mean():.3f}, "
                         f"channel talk share |error| median {np.median(be):.3f} (max {be.max():.3f}); "
                         f"a speaker who never speaks in {sum(r['before_silent'] > 0 for r in rs)}/{n}")
        elif not kind.startswith("shared"):
            found = {k: sum(r["found"] == k for r in rs) for k in ("separate", "shared", None)}
            line += f" (found separate {found['separate']}, shared {found['shared']}, not yet {found[None]})"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
