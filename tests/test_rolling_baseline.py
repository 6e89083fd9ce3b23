"""The rolling windows' pitch and level baselines against planted changes (docs/live.md, "The rolling windows'
pitch and level baselines").

An espeak therapist reads for 3 minutes, then louder (+6 dB) or higher (+3 semitones, Praat's PSOLA) for 2
(``benchmarks/rolling_baseline.py``). The windows' baseline took the window itself in (the speech up to the
window's end), so the change raised its own baseline: the windows wholly inside the louder stretch read
+4.4..+5.1 dB (the first +4.9), the higher +2.1..+2.5 st (the first +2.5). The baseline is now the speech before
the window's start (as the articulation rate's was): +5.0..+5.7 dB and +2.5..+3.0 st, the first window within
0.4 dB / 0.05 st of the planted change (the usual voice's profile reads +5.8 dB / +3.0 st there)."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.rolling_baseline import material, windows


def _inside(rows, t0, t1, fig):
    return [w.voice["therapist"][fig] for w in rows if w.start_s >= t0 and w.end_s <= t1 + 0.5]


@pytest.mark.parametrize("plan, fig, other, planted, first_within, least, mean", [
    # before: first +4.86, least +4.36, mean +4.71 dB
    ("reading +6 dB", "level_rel_db", "f0_median_rel_st", 6.02, 0.5, 4.8, 5.2),
    # before: first +2.48, least +2.09, mean +2.29 st
    ("reading +3 st", "f0_median_rel_st", "level_rel_db", 3.0, 0.25, 2.4, 2.6),
])
def test_a_raised_stretch_reads_its_planted_change(needs_espeak, plan, fig, other, planted, first_within, least,
                                                   mean):
    rows, t0, t1 = windows(plan)
    inside = _inside(rows, t0, t1, fig)
    assert len(inside) >= 10, (t0, t1)
    assert abs(inside[0] - planted) <= first_within, inside
    assert min(inside) >= least, inside
    assert np.mean(inside) >= mean, inside
    assert all(abs(v) < 0.5 for v in _inside(rows, t0, t1, other)), _inside(rows, t0, t1, other)
    # no false change before it
    assert all(abs(w.voice["therapist"][fig]) < 1.0 for w in rows if 30.0 <= w.end_s <= t0), rows


def test_a_steady_reader_reads_steady(needs_espeak):
    """160 wpm, the same voice throughout: every window from 30 s within 1 dB and 0.3 st of its baseline (0.61 dB
    and 0.18 st; 0.29 and 0.08 with the window in the baseline)."""
    rows, _, _ = windows("reading steady")
    assert len(rows) >= 55
    for w in rows:
        if w.end_s >= 30.0:
            v = w.voice["therapist"]
            assert abs(v["level_rel_db"]) < 1.0 and abs(v["f0_median_rel_st"]) < 0.3, (w.end_s, v)


def test_the_baseline_before_the_window_does_not_depend_on_block_sizes(needs_espeak):
    """The windows of the louder reading pushed in 0.37 s blocks are those of 1 s blocks (the baseline before
    the window's start is taken in step by step, as the running one)."""
    from prosody.session import analyze_blocks
    audio, speakers, _, _ = material("reading +6 dB")
    audio = audio[:150 * 16000]
    ref = analyze_blocks([audio[i:i + 16000] for i in range(0, len(audio), 16000)], speakers).rolling
    odd = analyze_blocks([audio[i:i + 5920] for i in range(0, len(audio), 5920)], speakers).rolling
    assert len(ref) >= 29 and list(odd) == list(ref)
