"""Issue 9 items 1, 4, 5: the attribution said out loud (store, report), voice profiles
(`prosody enrol`) and `prosody relabel`, with planted truth."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from prosody.session import analyze_blocks
from prosody.store.db import MIGRATIONS, SCHEMA_VERSION, Store
from tests.conftest import run_cli


_cli = run_cli


def _doc(session) -> dict:
    return json.loads(json.dumps(session.to_json_dict()))


def test_migration_3_to_4_backfills_layout_and_profiles_outlive_sessions(fixture_dialogue, tmp_path):
    audio, _ = fixture_dialogue
    doc = _doc(analyze_blocks([audio[: 16000 * 20]], ("therapist", "client"), sources=["d.flac"]))
    folder = tmp_path / "old"
    folder.mkdir(mode=0o700)
    db = sqlite3.connect(folder / "sessions.db", isolation_level=None)
    for m in MIGRATIONS[:3]:  # the version-3 schema, exactly as shipped
        m(db)
    db.execute("PRAGMA user_version = 3")
    db.execute("INSERT INTO sessions (uid, saved_at, duration_s, turn_taking, schema, doc) VALUES "
               "('abcd1234', '2024-01-01T00:00:00', ?, 1, ?, ?)", (doc["duration_s"], doc["schema"], json.dumps(doc)))
    db.close()
    with Store(folder) as st:
        assert st.schema_version == SCHEMA_VERSION == 6  # 6 since hostile sweep 40 (audio_hashes)
        assert st.attribution(1) == ("separate", "one speaker per channel or file, as given")
        shared = dict(doc, attribution={"layout": "shared", "attribution": "diarization: test"})
        sid = st.save(shared, None)
        assert st.attribution(sid) == ("shared", "diarization: test")
        prof = {"name": "ann", "model": "m", "spread": 0.1, "n_windows": 3, "speech_s": 9.0, "mean": [0.0] * 256}
        st.save_profile("ann", prof, source=f"session {sid} (therapist)", session_id=sid)
        st.delete(sid)  # the profile stays, never pointing at a deleted session
        kept = st.profile("ann")
        assert kept["session_id"] is None and kept["spread"] == 0.1
        st.delete_profile("ann")
        assert st.profile("ann") is None


def test_relabel_swapped_session_gets_the_planted_talk_shares(fixture_dialogue, tmp_path):
    audio, truth = fixture_dialogue
    right = _doc(analyze_blocks([audio], ("therapist", "client")))
    swapped = analyze_blocks([np.ascontiguousarray(audio[:, ::-1])], ("therapist", "client"))
    planted = {s: sum(b - a for a, b in truth["segments"][s]) for s in ("therapist", "client")}
    share = planted["therapist"] / (planted["therapist"] + planted["client"])
    store = tmp_path / "st"
    with Store(store) as st:
        sid = st.save_session(swapped)
    rc, out, err = _cli("relabel", sid, "--store", store)
    assert rc == 0, err
    with Store(store) as st:
        doc, frames = st.get(sid).doc, st.frames(sid)
        assert st.metrics([sid])[sid]["therapist.talk_share"] == pytest.approx(share, abs=0.03)
    assert doc["speakers"]["therapist"]["talk_share"] == pytest.approx(share, abs=0.03)
    for s in ("therapist", "client"):  # exactly the figures of the right analysis
        assert doc["speakers"][s]["talk_share"] == pytest.approx(right["speakers"][s]["talk_share"], abs=0.005)
        assert np.array_equal(frames[s]["is_speech"], swapped.frames["client" if s == "therapist" else "therapist"]
                              ["is_speech"])
    assert doc["measures"]["warmth"]["score"] == pytest.approx(right["measures"]["warmth"]["score"], abs=2.0)
    assert any("relabelled" in w for w in doc["warnings"])
    rc, out, _ = _cli("show", sid, "--store", store)
    assert rc == 0 and "layout: separate; speakers: one speaker per channel or file, as given" in out
    from prosody.formats.schema import check_session_doc
    check_session_doc(doc)


@pytest.fixture(scope="module")
def turns_dialogue():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")
    from tests.dialogue import build_dialogue, scenario_turns
    return build_dialogue(scenario_turns(8, seed=7), noise_db=None, level_db=(-22.0, -22.0), seed=7)


def test_profile_names_the_therapist_on_shared_audio(turns_dialogue, tmp_path):
    """The client's voice enrolled as the therapist: the profile must overrule the
    'first voice heard' rule, and --channels on shared audio is contradicted out loud."""
    from tests.dialogue import mix_room
    d = turns_dialogue
    alone = tmp_path / "alone.wav"
    sf.write(alone, d.audio[:, 1], 16000, subtype="PCM_16")  # the client's channel: that voice only
    store = tmp_path / "st"
    rc, out, err = _cli("enrol", alone, "--therapist", "ann", "--store", store)
    assert rc == 0 and "enrolled ann" in out, err
    x, _ = mix_room(d, layout="shared", level_diff_db=(2.0, -2.0), rt60_s=0.3, noise_db=-55.0, seed=7)
    table = tmp_path / "table.wav"
    sf.write(table, x, 16000, subtype="PCM_16")
    rc, out, err = _cli("analyze", table, "--channels", "therapist=left,client=right", "--save", "--therapist", "ann",
                        "--store", store, "--json", tmp_path / "s.json", "--quiet")
    assert rc == 0, err
    assert "--channels names one speaker per channel, but the audio looks shared" in err
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["attribution"]["naming"]["assumption"] is False and "voice profile" in doc["attribution"]["naming"]["rule"]
    # planted: the enrolled voice (the dialogue's client) is now called the therapist
    assert [t["to_speaker"] for t in doc["transitions"]] == [
        {"therapist": "client", "client": "therapist"}[t.to_speaker] for t in d.truth.transitions]
    with Store(store) as st:
        sid = st.list()[-1].id
        assert st.attribution(sid)[0] == "shared" and st.attribution(sid)[1].startswith("diarization")
    # batch: a manifest's layout column, per-file attribution, the therapist's profile: exactly analyze's result
    (tmp_path / "m.csv").write_text(f"file,layout,therapist\n{table},shared,ann\n", encoding="utf-8")
    rc, out, err = _cli("batch", tmp_path / "m.csv", "--store", store, "--table", tmp_path / "t", "--no-parquet",
                        "--jobs", "1", "--no-progress")
    assert rc == 0, err
    with Store(store) as st:
        bdoc = st.get(st.list()[-1].id).doc
    assert bdoc["attribution"]["layout"] == "shared" and bdoc["attribution"]["warnings"] == [
        w for w in doc["attribution"]["warnings"] if "--channels" not in w]
    for k in ("segments", "transitions", "speakers"):
        assert bdoc[k] == doc[k]
    assert bdoc["audio"] == doc["audio"]  # diarized voices: both read from the file's own channels, as analyze says
    from prosody.report.html import attribution_line
    assert attribution_line(doc).startswith("Who spoke when: shared layout") and "voice profile" in attribution_line(doc)
    rc, out, err = _cli("enrol", "--therapist", "bob", "--from-session", sid, "--speaker", "client", "--store", store)
    assert rc == 0 and f"session {sid} (client)" in out and "replaces" not in err
    # the same name again: one profile per name, and the one replaced is said
    rc, out, err = _cli("enrol", "--therapist", "bob", "--from-session", sid, "--speaker", "client", "--store", store)
    assert rc == 0 and "replaces the voice profile bob built" in err and f"from session {sid} (client)" in err
    with Store(store) as st:
        a, b = (np.asarray(st.profile(n)["mean"]) for n in ("ann", "bob"))
    rc, _, err = _cli("enrol", "--delete", "nobody", "--store", store)
    assert rc != 0 and err.startswith("prosody: error:") and len(err.strip().splitlines()) == 1
    assert float(a @ b) < 0.9  # the session's client is the other voice, not the enrolled one


def test_import_validator_checks_the_attribution(fixture_dialogue):
    from prosody.errors import ProsodyError
    from prosody.formats.schema import check_session_doc
    audio, _ = fixture_dialogue
    doc = _doc(analyze_blocks([audio[: 16000 * 5]], ("therapist", "client")))
    check_session_doc(dict(doc, attribution={"layout": "mono", "attribution": "diarization"}))
    with pytest.raises(ProsodyError, match="attribution.layout"):
        check_session_doc(dict(doc, attribution={"layout": "stereo"}))


def test_live_one_device_is_attributed_again_on_save(turns_dialogue, tmp_path):
    """A shared table recording replayed through `prosody live --record`: provisional
    channels while live, the whole session diarized on save (planted transitions)."""
    from prosody.live.reattribute import PROVISIONAL_NOTE, provisional_replay_note
    from prosody.live.runner import load_live_session
    from tests.dialogue import mix_room
    d = turns_dialogue
    x, _ = mix_room(d, layout="shared", level_diff_db=(2.0, -2.0), rt60_s=0.3, noise_db=-55.0, seed=7)
    table = tmp_path / "table.wav"
    sf.write(table, x, 16000, subtype="PCM_16")
    rc, out, err = _cli("live", "--input", table, "--speed", "max", "--plain", "--output", tmp_path / "s.json",
                        "--record", tmp_path / "rec.wav")
    assert rc == 0, err
    doc, frames = load_live_session(tmp_path / "s.json")
    assert doc["live"]["reattributed"] and doc["attribution"]["layout"] == "shared"
    assert doc["attribution"]["naming"]["assumption"]  # no profile: the rule is said
    assert [t["to_speaker"] for t in doc["transitions"]] == [t.to_speaker for t in d.truth.transitions]
    assert len(frames["client"]["is_speech"]) == int(round(doc["duration_s"] / 0.01))
    rc, out, err = _cli("live", "--input", table, "--speed", "max", "--plain", "--output", tmp_path / "p.json")
    assert rc == 0, err
    doc, _ = load_live_session(tmp_path / "p.json")
    # a replay without --record: the note names the command that attributes the file replayed, not --record alone
    note = provisional_replay_note([table])
    assert note in doc["warnings"] and PROVISIONAL_NOTE not in doc["warnings"] and "attribution" not in doc
    assert f"`prosody analyze {table}` attributes the whole recording" in note


def test_relabel_twice_restores_the_document(fixture_dialogue):
    from prosody.relabel import relabel
    audio, _ = fixture_dialogue
    s = analyze_blocks([audio], ("therapist", "client"))
    doc = _doc(s)
    back, frames = relabel(*relabel(doc, s.frames))
    assert back["measures"]["rolling"] and back["segments"] == doc["segments"]
    for key in ("speakers", "transitions", "events", "warnings"):
        assert back[key] == doc[key]
    for w0, w1 in zip(doc["measures"]["rolling"], back["measures"]["rolling"]):
        assert w1["warmth"]["score"] == w0["warmth"]["score"]  # recomputed and gated as the analysis did
    assert back["measures"]["warmth"] == doc["measures"]["warmth"]
    assert all(np.array_equal(frames[k]["f0_hz"], s.frames[k]["f0_hz"], equal_nan=True) for k in frames)


def test_clips_of_a_diarized_mono_session_come_from_its_one_channel(tmp_path, capsys):
    """A mono recording diarized into two voices: both voices' audio is the
    file's one channel, so the report's clips are cut from it (no second channel)."""
    import soundfile as sf
    from prosody_cli.main import main as cli
    x, sr = sf.read(Path(__file__).resolve().parents[1] / "fixtures" / "dialogue.flac", dtype="float32")
    mono = tmp_path / "mono.wav"
    sf.write(mono, x.mean(axis=1), sr, subtype="PCM_16")
    store = tmp_path / "store"
    assert cli(["analyze", str(mono), "--save", "--store", str(store), "--quiet"]) == 0
    out = tmp_path / "r.html"
    assert cli(["report", "1", "--clips", "--clips-format", "flac", "-o", str(out), "--store", str(store)]) == 0
    err = capsys.readouterr().err
    assert "no clips" not in err
    html = out.read_text()
    assert html.count("data:audio/flac;base64,") >= 1
