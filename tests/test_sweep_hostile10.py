"""Hostile sweep 10 (docs/store.md, "Hostile sweep 10"): export/import bundles made by hand, reports of odd
sessions, ``live --input`` with odd keys. Through the real CLI where it can be; every file under tmp_path.
Each defect with what happened before and what happens now:

1. The report's "Pitch and level over the session" drew an empty chart, without a word, for a speaker with no
   voiced speech (a silent channel, a one-speaker recording's second channel, an imported frames file whose
   pitch is all NaN) and an invisible single point for a one-frame session's level. It now draws no chart and
   says which trace is missing and why.
"""
from __future__ import annotations

import re

import numpy as np
import soundfile as sf

from tests.conftest import run_cli


def _save(tmp_path, name: str, audio: np.ndarray) -> tuple[str, str]:
    wav = tmp_path / f"{name}.wav"
    sf.write(wav, audio, 16000, subtype="PCM_16")
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", wav, "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err
    page = tmp_path / f"{name}.html"
    rc, out, err = run_cli("report", "last", "--store", store, "-o", page)
    assert rc == 0, err
    html = page.read_text()
    return html, html[html.index('<section id="timelines">'):html.index('<section id="turns">')]


def _traces(section: str) -> list[str]:
    return re.findall(r'class="trace" d="([^"]*)"', section)


# -- 1. the report says which trace is missing ---------------------------------------------------------------

def test_report_of_a_silent_channel_says_it_has_no_pitch_trace(tmp_path, fixture_dialogue):
    audio, _ = fixture_dialogue
    one = audio[: 12 * 16000].copy()
    one[:, 1] = 0.0  # the client's channel digital silence: one speaker only
    html, section = _save(tmp_path, "one", one)
    # the therapist's pitch and level, the client's level (-120 dB throughout): drawn, none empty
    traces = _traces(section)
    assert len(traces) == 3 and all(d.strip() for d in traces), traces
    assert "client: no pitch trace: no speech frame holds a pitch (no voiced speech)." in section
    assert "therapist: no pitch trace" not in section


def test_report_of_silence_and_of_one_frame_draws_no_empty_chart(tmp_path):
    html, section = _save(tmp_path, "silence", np.zeros((5 * 16000, 2), dtype=np.float32))
    assert all(d.strip() for d in _traces(section)), _traces(section)
    for who in ("therapist", "client"):
        assert f"{who}: no pitch trace: no speech frame holds a pitch (no voiced speech)." in section
    # a session of one 10 ms frame: its level is one point (was a path "M496 52", drawn as nothing)
    html, section = _save(tmp_path, "oneframe", np.full((160, 2), 0.01, dtype=np.float32))
    assert _traces(section) == [], _traces(section)
    for who in ("therapist", "client"):
        assert (f"{who}: no pitch trace: no speech frame holds a pitch (no voiced speech); no level trace: "
                "a level in one stretch of the session only, too little to draw.") in section
