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


def test_a_session_heard_raised_says_so_and_keeps_it(fixture_dialogue, tmp_path):
    """A quiet recording's speech detection hears it raised (``engine.vad.hearing_gain_db``): that gain was in no
    saved field (hostile sweep 23: the config said 0.0), so a session did not tell it was heard raised. Now the
    document holds it per voice (``heard_raised_db``) and its notes say it ("speech heard at +N dB: the recording is
    very quiet"), through the store, `show`, `report`, export, import and `relabel`; an ordinary recording's
    document has neither."""
    from prosody.engine.speakers import _vad_levels_db
    from prosody.engine.vad import hearing_gain_db
    from prosody.engine.views import ChannelMean
    audio, _ = fixture_dialogue
    mix = (audio.mean(axis=1) * np.float32(10 ** (-36 / 20))).astype(np.float32)
    quiet = tmp_path / "quiet memo.wav"
    sf.write(quiet, mix, 16000, subtype="FLOAT")
    gain = hearing_gain_db(_vad_levels_db(ChannelMean(mix[:, None]), len(mix) // 160))
    assert 20 <= gain <= 40
    doc = _doc(quiet, tmp_path)
    assert doc["heard_raised_db"] == {"therapist": gain, "client": gain}
    said = [n for n in doc["notes"] if n.startswith(f"speech heard at +{gain:.0f} dB: the recording is very quiet")]
    assert len(said) == 1, doc["notes"]
    plain = tmp_path / "memo.wav"
    sf.write(plain, audio.mean(axis=1), 16000, subtype="FLOAT")
    ordinary = _doc(plain, tmp_path)
    assert "heard_raised_db" not in ordinary and not any("heard at" in n for n in ordinary["notes"])

    store = tmp_path / "store"
    assert run_cli("analyze", quiet, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    rc, out, err = run_cli("show", "1", "--store", store)
    assert rc == 0 and f"speech heard at +{gain:.0f} dB" in out, (out, err)
    assert run_cli("report", "1", "--store", store, "-o", tmp_path / "r.html")[0] == 0
    assert f"speech heard at +{gain:.0f} dB" in (tmp_path / "r.html").read_text()
    assert run_cli("export", "1", "--store", store, "-o", tmp_path / "s.json")[0] == 0
    assert json.loads((tmp_path / "s.json").read_text())["heard_raised_db"] == doc["heard_raised_db"]
    rc, _, err = run_cli("import", tmp_path / "s.json", "--new-id", "--store", store)
    assert rc == 0, err
    rc, _, err = run_cli("relabel", "2", "--store", store)
    assert rc == 0, err
    assert run_cli("export", "2", "--store", store, "-o", tmp_path / "r.json")[0] == 0
    back = json.loads((tmp_path / "r.json").read_text())
    assert back["heard_raised_db"] == doc["heard_raised_db"] and said[0] in back["notes"]


def test_an_imported_gain_out_of_bounds_is_refused(fixture_dialogue, tmp_path):
    """The saved gain is checked on import as every figure is: a number of 0..80 dB per speaker of the session."""
    audio, _ = fixture_dialogue
    p = tmp_path / "memo.wav"
    sf.write(p, audio[:12 * 16000].mean(axis=1) * np.float32(10 ** (-36 / 20)), 16000, subtype="FLOAT")
    doc = _doc(p, tmp_path)
    store = tmp_path / "store"
    for bad, word in (({"therapist": 85.0}, "heard_raised_db.therapist"), ({"nobody": 3.0}, "heard_raised_db"),
                      ("loud", "heard_raised_db")):
        q = tmp_path / "bad.json"
        q.write_text(json.dumps({**doc, "heard_raised_db": bad}))
        rc, _, err = run_cli("import", q, "--store", store)
        assert rc != 0 and word in err and "Traceback" not in err, err


def test_relabel_recomputes_the_coregulation_of_a_mix_as_the_analysis_read_it(fixture_dialogue, tmp_path):
    """`relabel` recomputes the arousal co-regulation (from the IPUs' pitch and intensity) from the stored frames;
    a stored session does not hold ``Session.one_signal``, so a mono memo's was recomputed over all its frames while
    the analysis read each voice's own (test above): relabelled twice (the voices as found), the fixture's mix read
    -0.13 for the 0.00 analysed. It reads the document's attribution now (``session.one_signal_of``): as analysed."""
    audio, _ = fixture_dialogue
    p = tmp_path / "memo.wav"
    sf.write(p, audio.mean(axis=1), 16000, subtype="PCM_16")
    store = tmp_path / "store"
    assert run_cli("analyze", p, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    assert run_cli("export", "1", "--store", store, "-o", tmp_path / "a.json")[0] == 0
    for _ in range(2):
        rc, _, err = run_cli("relabel", "1", "--store", store)
        assert rc == 0, err
    assert run_cli("export", "1", "--store", store, "-o", tmp_path / "b.json")[0] == 0
    a, b = (json.loads((tmp_path / f"{x}.json").read_text())["measures"]["attunement"]["arousal_coregulation"]
            for x in "ab")
    assert a["n"] >= 5 and a["value"] is not None
    assert a == b, (a, b)
    from prosody.session import one_signal_of
    assert one_signal_of(json.loads((tmp_path / "a.json").read_text()))
