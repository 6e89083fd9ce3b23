"""Hostile sweep 23 (2026-12-05): this session's new passes attacked (docs/store.md, "Hostile sweep 23"): the
quiet recordings' hearing gain (``engine.vad.hearing_gain_db``) at its bounds."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from tests.conftest import run_cli


def _figures(path, tmp_path) -> dict:
    out = tmp_path / f"{path.name}.json"
    rc, _, err = run_cli("analyze", path, "--json", out, "--quiet", "--no-progress")
    assert rc == 0, err
    return json.loads(out.read_text())


def test_a_recording_quieter_than_the_gain_can_raise_is_analysed_not_refused(tmp_path):
    """A channel whose loudest frames lie under -100 dBFS as the speech detection hears them (a 220 Hz tone at
    3e-4 of full scale in a float file: -105 dBFS high-passed) asked for a gain of 85 dB, over ``VadConfig``'s
    bound of 80, and the file was refused with "vad.hear_gain_db=85.0 must be within 0..80 dB" (exit 2), a setting
    nobody gave. The gain stops at 80 dB: analysed, no speech found (a tone is none)."""
    from prosody.engine.vad import HEAR_MAX_DB, hearing_gain_db
    assert hearing_gain_db(np.full(1000, -105.0)) == HEAR_MAX_DB == 80.0
    assert hearing_gain_db(np.full(1000, -60.0)) == 40.0  # under the bound: as before
    t = np.arange(12 * 16000) / 16000
    p = tmp_path / "faint_tone.wav"
    sf.write(p, (3e-4 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, subtype="FLOAT")
    doc = _figures(p, tmp_path)
    assert doc["speakers"]["therapist"]["speech_s"] == 0.0


def test_a_quiet_float_mix_is_heard_at_its_own_samples_not_on_the_16_bit_grid(fixture_dialogue, tmp_path):
    """The fixture dialogue's mono mix in a float file whose loudest 1 % of frames lies at -50.2 dBFS (raised 30 dB
    for the speech detection): the recording was held on the 16-bit grid (``read_channels(compact=True)``), its
    pauses (-116 dBFS) rounded to exact zeros dotted with single steps, and raised 30 dB that was the floor the
    diarizer heard: the client's wait 0.245 s for a planted 0.413 (0.41 at -49.8 dBFS, not raised, and from the same
    mix in a 16-bit file at -50.2). A quiet file of more than 16 bits is read in float32 for its diarization now:
    0.39 / 0.40 s, one talk-over each, as planted."""
    from prosody.engine.speakers import _vad_levels_db
    audio, _ = fixture_dialogue
    mono = audio.mean(axis=1)
    lv = _vad_levels_db(mono, len(mono) // 160)
    top = float(np.percentile(lv[lv > -119.0], 99))
    p = tmp_path / "quiet_mix.wav"
    sf.write(p, (mono * 10 ** ((-50.2 - top) / 20)).astype(np.float32), 16000, subtype="FLOAT")
    sp = _figures(p, tmp_path)["speakers"]
    assert abs(sp["therapist"]["gap_median_s"] - 0.404) < 0.05, sp["therapist"]["gap_median_s"]
    assert abs(sp["client"]["gap_median_s"] - 0.413) < 0.05, sp["client"]["gap_median_s"]
    assert sp["therapist"]["interruptions"] == 1 and sp["client"]["interruptions"] == 1
