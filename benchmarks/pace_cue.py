"""The pace cue and the articulation rate against planted rate changes (docs/live.md, "The pace cue measured").

Material: one channel, a therapist read by espeak-ng (tests/dialogue.py ``synthesize``; twelve fixed sentences
in turn, 0.5 s apart), at one rate for the first stretch and another after it. Two parts:

* ``cue`` (default): per plan (160 -> 220 wpm and the others in ``PLANS``), the rolling windows (60 s every
  5 s, the pipeline's ``RollingMeasures``, running baseline, ``cues.pace`` on): in how many windows the pace cue
  is on, the first window with it (its delay after the change), the peak ``articulation_rate_rel``.
* ``rate``: the same twelve sentences at 120..260 wpm in three voices: the true rate ratio (the sentences'
  duration at 160 wpm over theirs at the rate: the same syllables), Praat's syllable nuclei (parselmouth; de
  Jong & Wempe 2009: intensity peaks above the 0.99 quantile - 25 dB with a 2 dB dip to the next and a voiced
  pitch) per second of the sentences and their articulation rate (the nuclei over Praat's sounding time of the
  same audio prosody reads, ``djw_phonation_s``), and the offline session's ``articulation_rate_syl_s``, each
  also as a ratio to its own 160 wpm figure.

* ``real``: AMI voices alone (``real_part``): de Jong & Wempe's articulation rate against prosody's.

    PYTHONPATH=. python benchmarks/pace_cue.py [cue|rate|real] [plan names...]
"""
from __future__ import annotations

import sys

import numpy as np

from prosody.measures.registry import CueConfig, MeasuresConfig
from prosody.session import analyze_blocks
from tests.dialogue import synthesize

SR = 16000
SENTENCES = (
    "I hear that this week was hard for you and I wonder what made it so heavy.",
    "When you talk about your mother there is a lot of feeling in your voice.",
    "Maybe we can stay with that for a moment and see what comes up.",
    "It sounds as though you have been carrying this on your own for a long time.",
    "What would it be like to let someone else help you with some of it.",
    "You said earlier that you felt stuck at work and that nobody noticed.",
    "I am curious about the part of you that keeps going even when it is tired.",
    "Sometimes the things we avoid are the things that matter most to us.",
    "Let us think together about what you would like to be different next month.",
    "You mentioned the garden and how calm you feel when you are working there.",
    "There is no right answer here, we are just trying to understand it better.",
    "I notice that you smiled when you said that, even though it was painful.",
)
PLANS = {  # (wpm, seconds at least) stretches
    "160->220": ((160, 180), (220, 120)), "160->240": ((160, 180), (240, 120)),
    "160->260": ((160, 180), (260, 120)), "160->180": ((160, 180), (180, 120)),
    "140->160 (slow start)": ((140, 60), (160, 240)), "160 steady": ((160, 300),),
}


def read_aloud(plan, voice: str = "en-us") -> tuple[np.ndarray, list[float]]:
    """The sentences in turn, 0.5 s apart, at each stretch's rate for at least its seconds; (audio, the start
    time of each stretch)."""
    parts, starts, n, k = [], [], 0, 0
    gap = np.zeros(SR // 2, np.float32)
    for wpm, seconds in plan:
        starts.append(n / SR)
        until = n + seconds * SR
        while n < until:
            a = np.asarray(synthesize(SENTENCES[k % len(SENTENCES)], voice=voice, speed_wpm=wpm), np.float32)
            parts += [a, gap]
            n += len(a) + len(gap)
            k += 1
    return np.concatenate(parts), starts


def blocks(audio: np.ndarray) -> list[np.ndarray]:
    return [audio[i:i + SR][:, None] for i in range(0, len(audio), SR)]


def pace_windows(plan, voice: str = "en-us") -> tuple[list[tuple[float, float | None, bool]], list[float]]:
    """[(window end s, articulation_rate_rel, pace cue on)], stretch starts."""
    audio, starts = read_aloud(plan, voice)
    s = analyze_blocks(blocks(audio), ("therapist",), measures=MeasuresConfig(cues=CueConfig(pace=True)))
    return [(w.end_s, w.voice["therapist"]["articulation_rate_rel"], any(c["kind"] == "pace" for c in w.cues))
            for w in s.rolling], starts


def djw_nuclei(x: np.ndarray) -> int:
    import parselmouth
    snd = parselmouth.Sound(np.asarray(x, np.float64), SR)
    it = snd.to_intensity(minimum_pitch=50)
    v, t = it.values[0], it.xs()
    thr = max(float(np.quantile(v, 0.99)) - 25.0, float(v.min()))
    peaks = [i for i in range(1, len(v) - 1) if v[i] > v[i - 1] and v[i] >= v[i + 1] and v[i] > thr]
    keep = [i for j, i in enumerate(peaks)
            if j + 1 == len(peaks) or v[i] - v[i:peaks[j + 1] + 1].min() > 2.0]
    pitch = snd.to_pitch_ac(0.02, 30, 4, False, 0.03, 0.25, 0.01, 0.35, 0.25, 450)
    return sum(1 for i in keep if pitch.get_value_at_time(t[i]) > 0)


def djw_phonation_s(x: np.ndarray) -> float:
    """de Jong & Wempe's phonation time of ``x`` (s): Praat's "To TextGrid (silences)" at their threshold
    (the intensity's 0.99 quantile - 25 dB, given relative to its maximum), pauses >= 0.3 s, sounding >= 0.1 s."""
    import parselmouth
    from parselmouth.praat import call
    snd = parselmouth.Sound(np.asarray(x, np.float64), SR)
    it = snd.to_intensity(minimum_pitch=50)
    v = it.values[0]
    rel = -25.0 - (float(v.max()) - float(np.quantile(v, 0.99)))
    tg = call(it, "To TextGrid (silences)", rel, 0.3, 0.1, "silent", "sounding")
    total = 0.0
    for i in range(1, int(call(tg, "Get number of intervals", 1)) + 1):
        if call(tg, "Get label of interval", 1, i) == "sounding":
            total += call(tg, "Get end time of interval", 1, i) - call(tg, "Get start time of interval", 1, i)
    return total


def cue_part(names) -> None:
    for name in names:
        rows, starts = pace_windows(PLANS[name])
        change = starts[-1]
        on = [e for e, rel, c in rows if c]
        rels = [rel for e, rel, c in rows if rel is not None]
        first = f"{on[0]:.0f} s ({on[0] - change:.0f} s after the change)" if on else "never"
        print(f"{name}: change at {change:.1f} s; pace cue on in {len(on)}/{len(rows)} windows, first {first}; "
              f"peak rel {max(rels):+.3f}; windows with a rel {len(rels)}", flush=True)


def rate_part() -> None:
    gap = np.zeros(SR // 2, np.float32)
    for voice in ("en-us", "en-gb", "en-us+f3"):
        rows = {}
        for wpm in (120, 160, 180, 220, 260):
            parts = [np.asarray(synthesize(s, voice=voice, speed_wpm=wpm), np.float32) for s in SENTENCES]
            dur = sum(len(p) for p in parts) / SR
            djw = sum(djw_nuclei(p) for p in parts) / dur
            audio = np.concatenate([q for p in parts for q in (p, gap)] * 4)  # 4 passes: enough speech
            djw_art = djw_nuclei(audio) / djw_phonation_s(audio)
            doc = analyze_blocks(blocks(audio), ("therapist",)).to_json_dict()
            rows[wpm] = (dur, djw, djw_art, doc["measures"]["voice"]["therapist"]["articulation_rate_syl_s"])
        d0, a0, c0, b0 = rows[160]
        print(f"{voice}: wpm | true ratio | de Jong & Wempe syl/s of the sentences (ratio) | de Jong & Wempe "
              "articulation rate, syl/s of phonation (ratio) | prosody articulation rate syl/s (ratio)")
        for wpm, (d, a, c, b) in rows.items():
            print(f"  {wpm} | x{d0 / d:.3f} | {a:.2f} (x{a / a0:.3f}) | {c:.2f} (x{c / c0:.3f}) | {b:.2f} "
                  f"(x{b / b0:.3f})", flush=True)


def real_part() -> None:
    """Real voices: each AMI speaker of ``benchmarks/lone_voice.py`` (its tuning and fresh voices) alone, their
    turns in a random order at levels -32..-20 dBFS with 0.3-1.0 s between them (``lone_voice.lone``): de Jong &
    Wempe's articulation rate (Praat, the same audio) against prosody's, and against the speech time's rate
    (nuclei / speech time: the articulation rate before its time was phonation)."""
    import os
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from lone_voice import FRESH, TUNING, _pieces, lone
    corpus = Path(os.environ.get("PROSODY_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    print("voice | audio s | de Jong & Wempe syl/s | prosody articulation rate (ratio) | nuclei / speech time (ratio)")
    errs = {"phonation": [], "speech": []}
    for i, v in enumerate(TUNING + FRESH):
        y = lone(_pieces(v, corpus), 300 + i)
        djw = djw_nuclei(y) / djw_phonation_s(y)
        doc = analyze_blocks(blocks(y), ("therapist",)).to_json_dict()
        d, m = doc["speakers"]["therapist"], doc["measures"]["voice"]["therapist"]
        art, old = m["articulation_rate_syl_s"], d["n_syllables"] / m["speech_s"]
        errs["phonation"].append(abs(art / djw - 1))
        errs["speech"].append(abs(old / djw - 1))
        print(f"  {v} | {len(y) / SR:.0f} | {djw:.2f} | {art:.2f} (x{art / djw:.3f}) | {old:.2f} (x{old / djw:.3f})",
              flush=True)
    for k, e in errs.items():
        print(f"mean |ratio - 1| over {len(e)} voices, {k} time: {np.mean(e):.3f} (max {np.max(e):.3f})")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["rate"]:
        rate_part()
    elif args[:1] == ["real"]:
        real_part()
    else:
        names = [a for a in args if a != "cue"] or list(PLANS)
        unknown = [n for n in names if n not in PLANS]
        if unknown:
            sys.exit(f"unknown plan(s) {', '.join(unknown)}; known: {', '.join(PLANS)}")
        cue_part(names)
