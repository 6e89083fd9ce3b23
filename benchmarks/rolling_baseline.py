"""The rolling windows' pitch and level baselines against planted changes (docs/live.md, "The rolling windows'
pitch and level baselines").

Material: the therapist of ``benchmarks/pace_cue.py`` (its twelve sentences read by espeak-ng, ``en-us``, 160 wpm,
0.5 s apart), alone (``reading``) or in a dialogue (``dialogue``: one or two therapist sentences, then a client
sentence, ``en-us+f3`` at 170 wpm, 0.7 s between turns, a channel each). Each therapist sentence starting at
or after the change is changed (``PLANS``): raised by +6 dB (x2), or its pitch raised by +3 semitones (Praat's
PSOLA in parselmouth: the manipulation's pitch tier x 2^(3/12), overlap-add resynthesis; duration and level
kept). Rolling windows of 60 s every 5 s through the pipeline (``analyze_blocks``, the live runner's stage),
running baseline. Printed per plan: the windows wholly before the change (the largest |figure|: a false
change), and the windows wholly inside the changed stretch (their first, least, mean, last figure), for
``level_rel_db`` / ``f0_median_rel_st`` and the matching ``*_raised_share`` and ``arousal_z``.

``--usual``: the windows against the usual voice's profile instead (the offline baseline of the material without
the change), the figures a baseline could read at best.

    PYTHONPATH=. python benchmarks/rolling_baseline.py [--usual] [plan names...]
"""
from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np

from benchmarks.pace_cue import SENTENCES, SR
from prosody.session import analyze_blocks
from tests.dialogue import synthesize

CLIENT_SENTENCES = (
    "I do not really know where to start today.",
    "It has been a difficult week, to be honest.",
    "My sister called again and we ended up arguing.",
    "I keep thinking that I should be able to handle it.",
    "Yes, that is exactly how it feels most of the time.",
    "I suppose I have never said that out loud before.",
    "Work is the same as ever, nobody listens.",
)
# name -> (material, change kind, planted size, change from (s), change until (s), total (s))
PLANS = {
    "reading +6 dB": ("reading", "level", 6.02, 180.0, None, 300.0),
    "reading +3 st": ("reading", "pitch", 3.0, 180.0, None, 300.0),
    "dialogue +6 dB": ("dialogue", "level", 6.02, 180.0, None, 300.0),
    "dialogue +3 st": ("dialogue", "pitch", 3.0, 180.0, None, 300.0),
    "reading steady": ("reading", None, 0.0, 300.0, None, 300.0),
    "dialogue steady": ("dialogue", None, 0.0, 300.0, None, 300.0),
    "reading quiet start (-6 dB for 60 s)": ("reading", "level", -6.02, 0.0, 60.0, 300.0),
    "reading low start (-3 st for 60 s)": ("reading", "pitch", -3.0, 0.0, 60.0, 300.0),
}
FIGURES = {"level": ("level_rel_db", "level_raised_share"), "pitch": ("f0_median_rel_st", "pitch_raised_share")}


@lru_cache(maxsize=None)
def _pitch_shifted(text: str, voice: str, wpm: int, semitones: float) -> np.ndarray:
    import parselmouth
    from parselmouth.praat import call
    x = np.asarray(synthesize(text, voice=voice, speed_wpm=wpm), np.float64)
    snd = parselmouth.Sound(x, SR)
    manip = call(snd, "To Manipulation", 0.01, 60, 400)
    tier = call(manip, "Extract pitch tier")
    call(tier, "Multiply frequencies", snd.xmin, snd.xmax, 2.0 ** (semitones / 12.0))
    call([tier, manip], "Replace pitch tier")
    y = call(manip, "Get resynthesis (overlap-add)").values[0]
    out = np.zeros(len(x), np.float32)  # the same length: the material's layout does not move
    out[:min(len(x), len(y))] = y[:len(x)]
    return out


def _sentence(text: str, voice: str, wpm: int, kind: str | None, size: float) -> np.ndarray:
    if kind == "pitch":
        return _pitch_shifted(text, voice, wpm, size)
    x = np.asarray(synthesize(text, voice=voice, speed_wpm=wpm), np.float32)
    return x * np.float32(10 ** (size / 20.0)) if kind == "level" else x


def material(name: str, changed: bool = True) -> tuple[np.ndarray, tuple[str, ...], float, float]:
    """(audio (n, channels), speakers, the first changed sentence's start s, the changed stretch's end s);
    ``changed=False``: the same material without the change."""
    what, kind, size, t_from, t_until, total = PLANS[name]
    kind = kind if changed else None
    until = total if t_until is None else t_until
    th, cl = [], []     # (start sample, audio) per channel
    n, k, j, first, last_end = 0, 0, 0, None, 0.0
    rng = np.random.default_rng(7)
    while n < total * SR:
        for _ in range(1 if what == "reading" else int(rng.integers(1, 3))):
            changed = t_from <= n / SR < until
            a = _sentence(SENTENCES[k % len(SENTENCES)], "en-us", 160, kind if changed else None, size)
            if changed and first is None:
                first = n / SR
            th.append((n, a))
            n += len(a)
            if changed:
                last_end = n / SR
            n += SR // 2
            k += 1
        if what == "dialogue":
            n += SR // 5
            b = np.asarray(synthesize(CLIENT_SENTENCES[j % len(CLIENT_SENTENCES)], voice="en-us+f3", speed_wpm=170),
                           np.float32)
            cl.append((n, b))
            n += len(b) + int(0.7 * SR)
            j += 1
    chans = [th] + ([cl] if what == "dialogue" else [])
    out = np.zeros((n, len(chans)), np.float32)
    for c, parts in enumerate(chans):
        for i, a in parts:
            out[i:i + len(a), c] += a
    out += np.random.default_rng(1).normal(0, 10 ** (-70 / 20), out.shape).astype(np.float32)  # a -70 dBFS floor
    speakers = ("therapist",) if what == "reading" else ("therapist", "client")
    return out, speakers, (t_from if first is None else first), (until if t_until is None else last_end)


def windows(name: str, usual: bool = False) -> tuple[list, float, float]:
    """The rolling windows of a plan's material (running baseline; ``usual``: with the profile of the therapist's
    usual voice, the offline session baseline of the same material without the change: what a baseline that
    knew the usual voice would read)."""
    audio, speakers, t0, t1 = material(name)
    profile = None
    if usual:
        plain = material(name, changed=False)[0]
        profile = analyze_blocks([plain[i:i + SR] for i in range(0, len(plain), SR)], speakers).measures.baseline
    s = analyze_blocks([audio[i:i + SR] for i in range(0, len(audio), SR)], speakers, profile=profile)
    return s.rolling, t0, t1


def report(name: str, usual: bool = False) -> dict:
    rows, t0, t1 = windows(name, usual)
    kind = PLANS[name][1]
    out = {}
    for k in ("level", "pitch"):
        for fig in FIGURES[k] + ("arousal_z",):
            if fig == "arousal_z" and k != (kind or "level"):
                continue
            series = [(w.start_s, w.end_s, w.voice["therapist"].get(fig)) for w in rows]
            before = [v for a, e, v in series if e <= t0 and v is not None and e >= 30.0]
            inside = [v for a, e, v in series if a >= t0 and e <= t1 + 0.5 and v is not None]
            after = [v for a, e, v in series if a >= t1 + 0.5 and v is not None]
            out[fig] = (before, inside, after)
    return out


def _fmt(vals) -> str:
    if not vals:
        return "-"
    return (f"n {len(vals)}, first {vals[0]:+.2f}, least {min(vals):+.2f}, mean {np.mean(vals):+.2f}, "
            f"last {vals[-1]:+.2f}, most {max(vals):+.2f}")


def main(names, usual: bool = False) -> None:
    for name in names:
        r = report(name, usual)
        print(f"{name}:", flush=True)
        for fig, (before, inside, after) in r.items():
            b = f"max |x| {max(abs(v) for v in before):.2f}" if before else "-"
            print(f"  {fig}: before the change (windows ending >= 30 s) {b} | wholly inside: {_fmt(inside)}"
                  + (f" | after: {_fmt(after)}" if after else ""), flush=True)


if __name__ == "__main__":
    usual = "--usual" in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != "--usual"] or list(PLANS)
    unknown = [a for a in args if a not in PLANS]
    if unknown:
        sys.exit(f"unknown plan(s) {', '.join(map(repr, unknown))}; known: {', '.join(map(repr, PLANS))}")
    main(args, usual)
