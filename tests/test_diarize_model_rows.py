"""The frames each voice's frame model is fitted on (seventy-second round, change counts, docs/speakers.md).

AMI tst00 FEO072+FEO070 s142 shared: FEO070 speaks only in seven 0.97 s answers. The window votes label
694 frames hers but only 94 of them confident (each answer shares its windows with the holder), under
the 100 the frame models ask, so the models were never fitted and the path, read from the votes alone,
gave five answers to the holder (13 changes planted, 3 found). ``diarize._model_rows`` fits such a voice
on all the frames labelled hers."""
from __future__ import annotations

import numpy as np

from prosody.engine.diarize import _model_rows

MIN_N = 100


def _planted(n_holder: int, n_answers: int, n_sure_answers: int):
    """(labels, confident): ``n_holder`` frames of voice 0, all confident, then ``n_answers`` of voice 1 whose
    first ``n_sure_answers`` are confident."""
    lab = np.r_[np.zeros(n_holder, bool), np.ones(n_answers, bool)]
    conf = np.r_[np.ones(n_holder, bool), np.arange(n_answers) < n_sure_answers]
    return lab, conf


def test_a_voice_heard_in_short_answers_is_fitted_on_all_its_frames():
    lab, conf = _planted(2000, 694, 94)
    rows = _model_rows(lab, conf, MIN_N)
    assert rows is not None
    assert np.array_equal(rows[1], lab)  # every frame labelled hers, the 600 unsure ones too
    assert np.array_equal(rows[0], ~lab)  # the holder: its confident frames (all of them here)


def test_a_voice_with_enough_confident_frames_keeps_to_them():
    lab, conf = _planted(2000, 694, 300)
    rows = _model_rows(lab, conf, MIN_N)
    assert rows is not None
    assert int(rows[1].sum()) == 300 and not np.any(rows[1] & ~conf)


def test_a_voice_under_the_minimum_in_all_leaves_the_models_unfitted():
    lab, conf = _planted(2000, 99, 99)
    assert _model_rows(lab, conf, MIN_N) is None
