"""The entry points agree (STYLE.md rule 14): for the same audio, ``analyze
--json``, the store's export and a live capture imported into the store carry
the same frames and measures; the configuration survives TOML; the grid and the
framer convert exactly."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from prosody.config import AnalysisConfig, PitchConfig, TurnConfig, VadConfig
from prosody.engine.framing import Framer
from prosody.engine.sources import Layout
from prosody.live.capture import ReplaySource
from prosody.live.runner import LiveRunner, load_live_session
from prosody.store.db import Store
from prosody.timebase import GRID, Grid
from prosody.types import FRAME_COLUMNS, SPEAKER_FIELDS, SpeakerStats
from prosody_cli.main import main

REPO = Path(__file__).resolve().parents[1]
DIALOGUE = REPO / "fixtures" / "dialogue.flac"
STEREO = Layout(("therapist", "client"), ((0, 0), (0, 1)))
# what depends on when the analysis ran, not on the audio
VOLATILE = ("sources", "warnings", "live", "bookmarks", "capture")


def _comparable(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def three_ways(tmp_path_factory):
    """The fixture analysed by ``analyze --json --save``, exported from the
    store, and replayed through the live runner then imported."""
    tmp = tmp_path_factory.mktemp("equiv")
    store = tmp / "store"
    analysed = tmp / "analysed.json"
    assert main(["analyze", str(DIALOGUE), "--json", str(analysed), "--quiet", "--save", "--store", str(store),
                 "--therapist", "T1", "--client", "C1"]) == 0
    exported = tmp / "exported.json"
    assert main(["export", "last", "--format", "json", "--output", str(exported), "--store", str(store)]) == 0
    live_out = tmp / "live.json"
    runner = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path=live_out)
    runner.start()
    res = runner.wait(180)
    assert res is not None and res.reason == "end of input", res
    assert main(["import", str(live_out), "--store", str(store), "--therapist", "T1", "--client", "C1"]) == 0
    with Store(store) as st:
        live_stored = st.get("last")
        live_frames = st.frames("last")
        first = st.list()[0]
        analysed_frames = st.frames(first.id)
    return {"analysed": json.loads(analysed.read_text()), "exported": json.loads(exported.read_text()),
            "live_doc": live_stored.doc, "live_frames": live_frames, "analysed_frames": analysed_frames,
            "live_file": load_live_session(live_out), "live_dir": str(tmp)}


def test_analyze_json_equals_store_export(three_ways):
    a, e = three_ways["analysed"], three_ways["exported"]
    assert _comparable(e) | {"prosody_store": None} == _comparable(a) | {"prosody_store": None}


def test_live_capture_imported_equals_analyze(three_ways):
    """Frames (every column, hf500_db included) and measures of a live capture
    imported into the store equal those of ``analyze``."""
    a, live = three_ways["analysed"], three_ways["live_doc"]
    for key in ("schema", "duration_s", "speaker_order", "speakers", "segments", "turns", "pauses",
                "transitions", "events", "measures"):
        assert live[key] == a[key], key
    fa, fl = three_ways["analysed_frames"], three_ways["live_frames"]
    for spk in a["speaker_order"]:
        assert set(fl[spk]) == set(FRAME_COLUMNS) == set(fa[spk])
        for k in FRAME_COLUMNS:
            np.testing.assert_array_equal(fl[spk][k], fa[spk][k], err_msg=f"{spk}.{k}")


def test_live_file_holds_every_frame_column(three_ways):
    doc, frames = three_ways["live_file"]
    for spk in doc["speaker_order"]:
        assert set(frames[spk]) == set(FRAME_COLUMNS)


def test_speaker_summary_is_a_view_of_the_measures(three_ways):
    """One computation: the per-speaker summary repeats the whole-session
    voice and timing measures, never a second calculation."""
    a = three_ways["analysed"]
    assert list(a["speakers"]["therapist"]) == list(SPEAKER_FIELDS)
    for spk, s in a["speakers"].items():
        v, t = a["measures"]["voice"][spk], a["measures"]["timing"][spk]
        for key in ("f0_sd_st", "f0_range_st", "speech_rate_syl_s", "articulation_rate_syl_s"):
            assert s[key] == v[key], key
        for key in ("talk_share", "gap_median_s", "overlaps", "interruptions", "failed_interruptions",
                    "backchannels"):
            assert s[key] == t[key], key
        assert s["speech_s"] == v["speech_s"]


def test_speaker_fields_follow_the_dataclass():
    assert SPEAKER_FIELDS == tuple(f for f in SpeakerStats.__dataclass_fields__ if f != "speaker")


def test_config_toml_round_trip():
    cfg = AnalysisConfig(vad=VadConfig(min_duration_off_s=0.5), pitch=PitchConfig(fmin_hz=70.0, fmax_hz=500.0),
                         turns=TurnConfig(backchannel_max_s=0.9),
                         pitch_by_speaker=(("client", PitchConfig(fmin_hz=120.0, fmax_hz=450.0)),)).validate()
    back = AnalysisConfig.from_toml(cfg.to_toml())
    assert back == cfg
    assert back.to_dict() == cfg.to_dict()


@pytest.mark.parametrize("grid", [GRID, Grid(sample_rate=8000, hop_length=80), Grid(sample_rate=48000, hop_length=480)])
def test_grid_conversions_are_exact(grid):
    k = np.arange(0, 400_000, 997)
    assert grid.hop_s == pytest.approx(0.01)
    # frame k starts at k * hop_length samples; its centre half a hop later
    np.testing.assert_allclose(grid.frame_start_s(k) * grid.sample_rate, k * grid.hop_length, rtol=0, atol=1e-6)
    np.testing.assert_allclose(grid.frame_centre_s(k) - grid.frame_start_s(k), grid.hop_s / 2, atol=1e-9)
    for n in (0, 1, 7, 159, 160, 161, 3_600 * 100):
        assert grid.s_to_frames(grid.frames_to_s(n)) == n
        samples = n * grid.hop_length
        assert grid.s_to_samples(grid.samples_to_s(samples)) == samples
    # an hour of frames, computed from indices, does not drift
    assert grid.frames_to_s(360_000) == 3600.0


def test_framer_any_block_sizes_equal_whole_and_keep_the_tail():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(16_000 * 3 + 77).astype(np.float32)
    whole = Framer()
    a = np.concatenate([whole.push(x), whole.flush()])
    f = Framer()
    parts, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 900))
        parts.append(f.push(x[i:i + n]))
        i += n
    parts.append(f.flush())
    b = np.concatenate(parts)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (len(x) // 160 + 1, 160)
    np.testing.assert_array_equal(a.reshape(-1)[:len(x)], x)      # nothing dropped
    assert not a.reshape(-1)[len(x):].any()                        # the last frame padded with zeros
    assert f.n_frames == len(x) // 160 + 1


def test_live_frames_file_is_the_store_layout_and_old_live_files_still_read(three_ways, tmp_path):
    """One frames codec: a live save's .npz has the store's keys; a live file
    of the earlier layout (``<speaker>.<column>``) is still read."""
    import zipfile
    doc, frames = three_ways["live_file"]
    live_dir = Path(three_ways["live_dir"])
    with zipfile.ZipFile(live_dir / doc["live"]["frames_file"]) as z:
        names = {n.removesuffix(".npy") for n in z.namelist()}
    assert names == {"speakers"} | {f"s{i}_{k}" for i in range(2) for k in FRAME_COLUMNS}
    old = {"speakers": np.array(doc["speaker_order"]), "frame_hop_s": np.float64(0.01),
           "n_frames": np.int64(len(frames["therapist"]["is_speech"]))}
    for s in doc["speaker_order"]:
        for k in ("is_speech", "f0_hz", "voiced_prob", "rms_db"):
            old[f"{s}.{k}"] = frames[s][k]
    np.savez_compressed(tmp_path / "old.frames.npz", **old)
    (tmp_path / "old.json").write_text(json.dumps({**doc, "live": {**doc["live"], "frames_file": "old.frames.npz"}}))
    doc2, frames2 = load_live_session(tmp_path / "old.json")
    for s in doc["speaker_order"]:
        np.testing.assert_array_equal(frames2[s]["f0_hz"], frames[s]["f0_hz"])
        assert "hf500_db" not in frames2[s]
