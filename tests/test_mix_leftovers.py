"""Hostile sweep 22's leftovers, second part (2026-12-05, docs/store.md): the measures of one mix's two voices that
still read the frames both voices hold (voice quality, the attunement's loudness per stretch of speech), and the
gain a quiet recording's speech detection heard it with, said and kept."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from tests.conftest import run_cli

VQ = ("jitter_local", "shimmer_local", "hnr_db", "cpps_db")


def _doc(path, tmp_path) -> dict:
    out = tmp_path / f"{path.name}.json"
    rc, _, err = run_cli("analyze", path, "--json", out, "--quiet", "--no-progress")
    assert rc == 0, err
    return json.loads(out.read_text())


def test_voice_quality_of_a_mono_mix_is_its_separate_channels(fixture_dialogue, tmp_path):
    """Jitter, shimmer, HNR and CPPS of one voice of a mono memo read the mixture where both voices speak (the
    periods of two voices are nobody's): the fixture's client HNR 10.9 dB on its mono mix for 13.4 on its separate
    channel, CPPS 15.2 for 16.5, jitter 1.10 % for 0.87 %. Read on each voice's own frames now (as its pitch:
    ``Pipeline._own_pitch``): within 0.5 dB, 0.1 % (benchmarks/mix_measures.py)."""
    audio, _ = fixture_dialogue
    sep, mono = tmp_path / "sep.wav", tmp_path / "mono.wav"
    sf.write(sep, audio, 16000, subtype="FLOAT")
    sf.write(mono, 0.7 * audio.sum(axis=1), 16000, subtype="FLOAT")
    want = _doc(sep, tmp_path)["measures"]["voice_quality"]
    got = _doc(mono, tmp_path)["measures"]["voice_quality"]
    for who in ("therapist", "client"):
        w, g = want[who], got[who]
        assert abs(g["hnr_db"] - w["hnr_db"]) < 0.5, (who, g["hnr_db"], w["hnr_db"])
        assert abs(g["cpps_db"] - w["cpps_db"]) < 0.5, (who, g["cpps_db"], w["cpps_db"])
        assert abs(g["jitter_local"] - w["jitter_local"]) < 0.001, (who, g["jitter_local"], w["jitter_local"])


def test_the_ipu_intensity_of_one_signal_leaves_out_the_frames_both_voices_hold():
    """The attunement's loudness of a stretch of speech (``attunement._ipu_features``): of two voices cut from one
    signal, the mean level of the frames the voice holds alone (the frames both hold carry the mixture, turned
    down by the overlap gains); of separate channels, of all its frames, as before."""
    from prosody.measures.attunement import _ipu_features
    from prosody.measures.slice import Slice
    from prosody.timebase import GRID
    from prosody.types import Segment
    n = 200
    a_sp, b_sp = np.zeros(n, bool), np.zeros(n, bool)
    a_sp[0:150], b_sp[100:200] = True, True  # both speak in frames 100-150
    lv = np.full(n, -30.0, np.float32)
    lv[100:150] = -45.0  # the mixture at the overlap gain in A's channel
    frames = {"a": {"is_speech": a_sp, "rms_db": lv, "f0_hz": np.full(n, np.nan, np.float32)},
              "b": {"is_speech": b_sp, "rms_db": np.full(n, -30.0, np.float32),
                    "f0_hz": np.full(n, np.nan, np.float32)}}
    seg = Segment("a", 0.0, 1.5)
    for one, want in ((True, -30.0), (False, (100 * -30.0 + 50 * -45.0) / 150)):
        sl = Slice.cut(grid=GRID, speakers=("a", "b"), frame0=0, frame1=n, frames=frames, segments=(seg,),
                       transitions=(), turn_taking=True, one_signal=one)
        assert abs(_ipu_features(sl, seg, None)["intensity"] - want) < 1e-4, one
