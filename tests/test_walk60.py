"""walk60 (2026-12-07): flows the earlier walks did not read, against planted truth (docs/store.md, "Views walked
against planted truth"): a voice profile naming the therapist against the rule and `relabel`, a live replay saved
against `analyze`, `batch` against `analyze`, and `export` / `import` into a fresh store."""
from __future__ import annotations

import json
import shutil
from statistics import median

import numpy as np
import pytest

T, C = "therapist", "client"


def _need_espeak():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")


@pytest.fixture(scope="module")
def client_first(tmp_path_factory):
    """A mixed dialogue (``scenario_mixed(seed=3)``, mixed to one channel) whose first voice is the client's: our
    therapist is the dialogue's second speaker, so the rule "the voice heard first is the therapist" names the
    wrong voice; the same dialogue on a channel each and on a shared table recorder; and a recording of the
    therapist's voice alone (four sentences) to enrol. Planted: the therapist's talk share and median wait before
    answering."""
    _need_espeak()
    import soundfile as sf

    from tests.dialogue import CLIENT, THERAPIST, build_dialogue, mix_room, scenario_mixed, scenario_monologue
    folder = tmp_path_factory.mktemp("walk60")
    d = build_dialogue(scenario_mixed(seed=3), noise_db=None, seed=3)
    x, _ = mix_room(d, layout="mono", seed=3)
    sf.write(folder / "mono.wav", x, d.sample_rate, subtype="PCM_16")
    sf.write(folder / "sep.wav", build_dialogue(scenario_mixed(seed=3), seed=3).audio, d.sample_rate,
             subtype="PCM_16")  # the same dialogue on a channel each (the dialogue's first speaker on the left)
    shared, _ = mix_room(d, layout="shared", seed=3)
    sf.write(folder / "shared.wav", shared, d.sample_rate, subtype="PCM_16")
    alone = build_dialogue(scenario_monologue(4, seed=2, speaker=CLIENT), noise_db=None, seed=2)
    sf.write(folder / "alone.wav", alone.audio[:, 1], alone.sample_rate, subtype="PCM_16")
    speech = {s: sum(b - a for a, b in d.truth.segments(s)) for s in (THERAPIST, CLIENT)}
    waits = [t.offset_s for t in d.truth.transitions if t.to_speaker == CLIENT]
    return {"folder": folder, "x": x, "share": speech[CLIENT] / sum(speech.values()), "wait": median(waits)}


def test_a_voices_channel_is_the_same_whichever_name_it_is_given(client_first):
    """A shared or mono recording's voices are cut from the one mix, with the recording's own noise floor
    (seeded) where a voice does not speak. The seed was the name's place (therapist 0, client 1), not the
    voice's: the same voice named the therapist by a profile, or named the client by the rule and then
    relabelled, carried another fill, and its pauses, pitch and attunement read a little otherwise (walk60: the
    client's typical pitch 179.56 / 179.60 Hz, pitch synchrony -0.15 / -0.16). Each voice's channel is now the
    same whichever name it is given."""
    import dataclasses

    from prosody.engine.speakers import attribute, swap_names
    x = client_first["x"]
    att = attribute(x, layout="mono")
    assert att.diarization is not None and att.diarization.n_voices == 2
    swapped = dataclasses.replace(att, naming=swap_names(att.naming))
    a, b = att.channels(x), swapped.channels(x)
    np.testing.assert_array_equal(a[:, 0], b[:, 1])
    np.testing.assert_array_equal(a[:, 1], b[:, 0])


def test_a_profile_names_the_therapist_and_relabel_gives_the_same_figures(client_first, tmp_path):
    """Flow 1: `enrol` from a recording of the therapist alone, then `analyze` of a mono session whose client
    speaks first: the profile names the therapist (the planted talk share and wait are the therapist's); the
    same audio without a profile says the rule as an assumption and gives the client's figures as the
    therapist's; `relabel` then gives every figure of the profile-named session, the frames included."""
    from tests.conftest import run_cli
    folder, store = client_first["folder"], tmp_path / "st"
    rc, out, err = run_cli("enrol", folder / "alone.wav", "--therapist", "ann", "--store", store)
    assert rc == 0, err
    for who in ("ann", "bob"):  # ann has a profile, bob none
        rc, _, err = run_cli("analyze", folder / "mono.wav", "--save", "--store", store, "--therapist", who,
                             "--client", "C1", "--quiet", "--no-progress")
        assert rc == 0, err
        assert ("assumption: no voice profile" in err) == (who == "bob"), err
    docs = []
    for i in (1, 2):
        if i == 2:
            rc, _, err = run_cli("relabel", "2", "--store", store)
            assert rc == 0, err
        rc, _, err = run_cli("export", str(i), "--store", store, "-o", tmp_path / f"e{i}.json")
        assert rc == 0, err
        docs.append(json.loads((tmp_path / f"e{i}.json").read_text()))
    named, relabelled = docs
    assert named["attribution"]["naming"]["rule"].startswith("voice profile:")
    assert named["speakers"][T]["talk_share"] == pytest.approx(client_first["share"], abs=0.01)
    assert named["speakers"][T]["gap_median_s"] == pytest.approx(client_first["wait"], abs=0.07)
    for key in ("speakers", "segments", "turns", "transitions", "events", "measures"):
        assert relabelled[key] == named[key], key
    a, b = (np.load(tmp_path / f"e{i}.frames.npz") for i in (1, 2))
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_batch_says_the_manifests_layout_and_its_table_follows_relabel_and_edit(client_first, tmp_path):
    """Flow 3: `batch` with a manifest giving per-file layouts. A layout that contradicts the audio is warned as
    `analyze` warns, naming the manifest's cell the user wrote (it said "--layout shared overrides ...", an
    option never typed). The table is the stored sessions': after `relabel` (and `edit`) a batch run again
    skips the file as done and gave the row recorded before, the exchanged voices' figures (therapist talk
    share 0.38 in the table, 62 % in `show`, `export`, `compare`); it now gives the session as stored."""
    from prosody.batch.runner import read_table_csv
    from tests.conftest import run_cli
    folder, store, table = client_first["folder"], tmp_path / "st", tmp_path / "t"
    man = tmp_path / "m.csv"
    man.write_text(f"file,client,layout\n{folder / 'mono.wav'},B1,mono\n{folder / 'sep.wav'},B2,shared\n")
    args = ("batch", man, "--store", store, "--table", table, "--no-parquet", "--therapist", "bob", "--jobs", "1")
    rc, _, err = run_cli(*args)
    assert rc == 0, err
    said = f"{man} line 3: layout shared overrides the detected layout (separate: "
    assert said in err and "--layout shared" not in err, err
    rc, _, err = run_cli("export", "2", "--store", store, "-o", tmp_path / "b2.json")
    assert rc == 0, err
    assert any(w.startswith(said) for w in json.loads((tmp_path / "b2.json").read_text())["warnings"])
    rc, _, err = run_cli("relabel", "1", "--store", store)
    assert rc == 0, err
    rc, _, err = run_cli("edit", "1", "--client", "Z9", "--store", store)
    assert rc == 0, err
    rc, out, err = run_cli(*args)  # skipped as done: the table from the stored sessions
    assert rc == 0 and "2 skipped" in out, err
    rc, _, err = run_cli("export", "1", "--store", store, "-o", tmp_path / "b1.json")
    assert rc == 0, err
    doc = json.loads((tmp_path / "b1.json").read_text())
    row = next(r for r in read_table_csv(tmp_path / "t.csv") if r["session_id"] == 1)
    assert row["client"] == "Z9"
    assert row["therapist.talk_share"] == doc["speakers"][T]["talk_share"]
    assert row["therapist.talk_share"] == pytest.approx(client_first["share"], abs=0.01)
    assert row["warmth_score"] == doc["measures"]["warmth"]["score"]


def test_a_live_session_found_shared_says_its_saved_figures_are_the_whole_recordings(client_first, tmp_path):
    """Flow 2: `prosody live --input` of a shared table recording, recorded (`--record`): the layout is found
    live (read from then as one shared device, its first channel, "analysed again from the start") and on save
    the whole recording is attributed again, as `analyze` reads it: every figure is analyze's. The saved session
    kept the live words alone, which describe the live view, not its figures; it now says what they are."""
    from prosody.live.layout_watch import FOUND_LIVE
    from prosody.live.reattribute import SAVED_BY_VOICE
    from tests.conftest import run_cli
    wav = client_first["folder"] / "shared.wav"
    rc, _, err = run_cli("live", "--input", wav, "--speed", "max", "--plain", "--record", tmp_path / "rec.wav",
                         "--output", tmp_path / "live.json")
    assert rc == 0, err
    rc, _, err = run_cli("analyze", wav, "--json", tmp_path / "a.json", "--quiet", "--no-progress")
    assert rc == 0, err
    saved, analysed = (json.loads((tmp_path / f).read_text()) for f in ("live.json", "a.json"))
    found = [w for w in saved["warnings"] if w.startswith(FOUND_LIVE)]
    assert len(found) == 1 and "as --mono reads it" in found[0] and found[0].endswith(SAVED_BY_VOICE), found
    assert saved["live"]["reattributed"] is True
    for key in ("attribution", "speakers", "segments", "transitions", "events", "measures"):
        assert saved[key] == analysed[key], key
