"""Two voices at once in the pitch: each "both" run inside one voice's speech against the planted truth (issue 9,
backchannel precision; docs/speakers.md, sixty-eighth round).

Runs each recording of a ``benchmarks/diarization.py`` split (its ``--cache DIR``) as ``run_case`` runs it and
keeps the diarizer's final speech-frame owners (``diarization_gap_edges.Recorder``). For every "both" run with
the same voice (the holder) on both sides and no pause of the speech mask at either end, it counts the run's
**two-voice frames**: frames whose spectrum holds two harmonic series, one near each voice's pitch. Per 10 ms
frame (64 ms Hann window): the strongest series by subharmonic summation (Hermes 1988; 60-262 Hz, 8 harmonics,
weights 0.85^(k-1), square-rooted magnitude), its harmonics removed (+-30 Hz each, up to 5 kHz), the strongest
series of what is left and its salience over the mean salience (``SECOND_MIN`` 2.0 or more); the two f0s must
lie within ``WINDOW_ST`` (4 st) of the holder's median pitch and the listener's, one each. The voices' pitch:
the median f0 of their voiced frames (salience >= ``VOICED_MIN`` 1.6 x the mean), the holder's from its frames
within 1 s of the run, the listener's from 200 of its own frames (the same seeded draw for each run). Runs
where the two medians lie under ``MIN_SEP_ST`` (3 st) apart are listed with ``two=-`` (the cue cannot tell two
voices there).

Each line: the run's start and length, the planted class (``overlap``: both voices planted in half its frames
or more; ``listener``: the listener alone; ``holder-only``: nobody but the holder), the planted event within
0.1 s (``back``, ``fail``, ``inte`` or ``-``), whether the turn tracker scored a false backchannel of the
listener there, the voices' pitch distance and the two-voice frame count. The summary counts the runs by class
and count (0, 1, 2, 3+).

    python benchmarks/both_run_pitch.py --split S --cache DIR [--only TEXT] [--dump FILE]
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

import diarization as bench
import diarization_both_runs as both
import diarization_gap_edges as gap

SR = 16000
HOP = 160
WIN = 1024  # 64 ms
NFFT = 8192
FREQ_HZ = np.fft.rfftfreq(NFFT, 1 / SR)
F0_HZ = 440.0 * 2 ** ((np.arange(-144, 1) / 4 - 9) / 12)  # quarter semitones up to C4 (261.6 Hz)
F0_HZ = F0_HZ[F0_HZ >= 60]
HARMONICS = 8
NOTCH_HZ = 30.0
SECOND_MIN = 2.0
VOICED_MIN = 1.6
WINDOW_ST = 4.0
MIN_SEP_ST = 3.0


def st(f_hz: np.ndarray | float) -> np.ndarray | float:
    """Semitones re 100 Hz."""
    return 12 * np.log2(np.asarray(f_hz) / 100.0)


def _salience(mag: np.ndarray) -> np.ndarray:
    """Subharmonic summation over ``F0_HZ`` of one frame's magnitude spectrum (NFFT bins)."""
    m = np.sqrt(mag)
    out = np.zeros(len(F0_HZ))
    for k in range(1, HARMONICS + 1):
        b = np.round(F0_HZ * k * NFFT / SR).astype(int)
        ok = b < len(m)
        out[ok] += m[b[ok]] * 0.85 ** (k - 1)
    return out


def two_series(x: np.ndarray, frame: int) -> tuple[float, float, float, float]:
    """The strongest harmonic series of 10 ms frame ``frame`` of mono 16 kHz ``x`` and the strongest after its
    harmonics are removed: (f0 st, salience / mean salience) of each."""
    c = frame * HOP + HOP // 2
    seg = x[max(0, c - WIN // 2): c + WIN // 2]
    seg = np.pad(seg, (0, WIN - len(seg)))
    mag = np.abs(np.fft.rfft(seg * np.hanning(WIN), NFFT))
    s1 = _salience(mag)
    f1 = F0_HZ[np.argmax(s1)]
    for k in range(1, int(5000 // f1) + 1):
        mag[np.abs(FREQ_HZ - k * f1) < NOTCH_HZ] = 0
    s2 = _salience(mag)
    return (float(st(f1)), float(s1.max() / max(s1.mean(), 1e-12)),
            float(st(F0_HZ[np.argmax(s2)])), float(s2.max() / max(s2.mean(), 1e-12)))


def voice_pitch_st(x: np.ndarray, frames) -> float:
    """Median f0 (st) of the voiced frames among ``frames``; nan where under 5 are voiced."""
    f = [f1 for f1, s1, _, _ in (two_series(x, int(i)) for i in frames) if s1 >= VOICED_MIN]
    return float(np.median(f)) if len(f) >= 5 else float("nan")


def two_voice_frames(x: np.ndarray, frames, a_st: float, b_st: float) -> int:
    """How many of ``frames`` hold two harmonic series, one within ``WINDOW_ST`` of each pitch (st)."""
    n = 0
    for i in frames:
        f1, _, f2, s2 = two_series(x, int(i))
        near = (abs(f1 - a_st) <= WINDOW_ST and abs(f2 - b_st) <= WINDOW_ST) or \
            (abs(f1 - b_st) <= WINDOW_ST and abs(f2 - a_st) <= WINDOW_ST)
        n += bool(s2 >= SECOND_MIN and near)
    return n


def _event(truth: dict, t0: float, t1: float) -> str:
    kinds = sorted({e["kind"][:4] for e in truth["events"] if e["start_s"] < t1 + 0.1 and e["end_s"] > t0 - 0.1})
    return ",".join(kinds) or "-"


def inner_runs(name: str, x: np.ndarray, truth: dict) -> list[dict]:
    """One row per "both" run inside one voice's speech of recording ``name``."""
    with gap.Recorder() as rec:
        r, att = bench.run_case(x, truth)
    d = att.diarization
    if d is None or d.n_voices != 2 or rec.speech is None or not rec.chain or rec.chain[-1][1] is None:
        return []
    idx = np.flatnonzero(rec.speech)
    owned = np.asarray(rec.chain[-1][1])[idx]
    planted, vmap = both.planted_by_voice(owned, idx, truth)
    role_of = {v: k for k, v in vmap.items()}
    brk = np.concatenate([[True], np.diff(idx) > 1, [True]])
    xm = x.mean(axis=1) if x.ndim == 2 else x
    out = []
    for a, b in both_runs_inside(owned, brk):
        h = int(owned[a - 1])
        lis = np.flatnonzero(owned == 1 - h)
        near = [j for j in [*range(max(0, a - 100), a), *range(b, min(len(owned), b + 100))] if owned[j] == h]
        h_st = voice_pitch_st(xm, idx[near])
        draw = np.random.default_rng(0).choice(lis, min(200, len(lis)), replace=False) if len(lis) else lis
        l_st = voice_pitch_st(xm, idx[draw])  # the same draw for every run of the recording
        fr = idx[a:b]
        p_h, p_l = planted[h][fr], planted[1 - h][fr]
        kind = ("overlap" if np.mean(p_h & p_l) >= 0.5 else "listener" if np.mean(p_l) >= 0.5 else "holder-only")
        t0, t1 = idx[a] * 0.01, idx[b - 1] * 0.01 + 0.01
        sep = abs(l_st - h_st)
        two = two_voice_frames(xm, fr, h_st, l_st) if sep >= MIN_SEP_ST else None
        out.append({"name": name, "t_s": round(float(t0), 2), "len_s": round((b - a) * 0.01, 2), "kind": kind,
                    "event": _event(truth, t0, t1),
                    "bc_false": any(e[0] == role_of[1 - h] and e[1] < t1 + 0.1 and e[2] > t0 - 0.1
                                    for e in r["bc_false"]),
                    "sep_st": None if np.isnan(sep) else round(float(sep), 1), "two": two})
    return out


def both_runs_inside(owned: np.ndarray, brk: np.ndarray) -> list[tuple[int, int]]:
    """The "both" runs [a, b) of compact owners ``owned`` with one voice on both sides and no pause (``brk``:
    a gap in the speech mask before compact frame i) at either end."""
    return [(a, b) for a, b in both.both_spans(owned)
            if 0 < a and b < len(owned) and not brk[a] and not brk[b] and owned[a - 1] == owned[b] != 2]


def main() -> int:
    args = gap.trace_parser().parse_args()
    d = gap.cached_split(args)
    if d is None:
        return 2
    rows, tally = [], Counter()
    for name, x, truth in bench.cached(iter(()), str(d)):
        if args.only and args.only not in name:
            continue
        for row in inner_runs(name, x, truth):
            rows.append(row)
            two = "-" if row["two"] is None else row["two"]
            print(f"{name:52} {row['t_s']:7.2f} {row['len_s']:.2f} {row['kind']:11} {row['event']:5} "
                  f"{'FALSE-BC' if row['bc_false'] else '':8} sep {row['sep_st']} st  two={two}", flush=True)
            tally[(row["kind"], "-" if row["two"] is None else str(min(row["two"], 3)))] += 1
    print("== runs by class and two-voice frames (3 = 3 or more; - = voices under 3 st apart):")
    for (kind, two), c in sorted(tally.items()):
        print(f"  {kind:11} {two:>2} {c:4d}")
    if args.dump:
        Path(args.dump).write_text(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
