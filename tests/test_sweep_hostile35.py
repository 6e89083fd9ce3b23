"""Hostile sweep 35 (docs/store.md "Hostile sweep 35"): two prosody processes on one store, and the voice profile.

1. `enrol --from-session N` while another prosody's `relabel N` ran saved the profile of the voice read as the
   therapist's, which the relabel had just named the client's: the profile "session N (therapist)" was of the
   client. Now the enrol is refused where the session's voices changed since it read them, nothing saved.
2. `note N --moment K` while `relabel N` ran kept the moment's label of the voices before ("talked over the
   client at 27.6 s", where the relabel says the client talked over the therapist; a note written before the
   relabel has its label exchanged). Now that note is refused, nothing added; a note `--at` a time is not.
3. `enrol --from-session N` of a session whose voices were named by an assumption (no voice profile: the voice
   heard first taken for the therapist) said "enrolled ... from session N (therapist)", the guess unsaid: a
   profile of the client's voice would then name the client the therapist in every later session. Now it is said.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture
def store_of_one(tmp_path):
    """The fixture dialogue (0.7 min, therapist left, client right) saved as session 1."""
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", Path(__file__).resolve().parent.parent / "fixtures" / "dialogue.flac",
                           "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err
    return store


def _profiles(store) -> list:
    from prosody.store.db import Store
    with Store(store) as s:
        return s.profiles()


def _therapist_speech_s(store) -> float:
    rc, out, err = run_cli("export", "1", "--store", store, "-o", store.parent / "t.json")
    assert rc == 0, err
    return json.loads((store.parent / "t.json").read_text())["speakers"]["therapist"]["speech_s"]


def test_an_enrol_from_a_session_relabelled_meanwhile_saves_no_profile_of_the_other_voice(store_of_one,
                                                                                            monkeypatch):
    """Before: exit 0, "enrolled Tess: ... from session 1 (therapist)", the profile of the voice the relabel
    (committed between the enrol's read and its save) named the client's."""
    import prosody.engine.speakers as speakers
    from prosody_cli.main import main
    therapist_before = _therapist_speech_s(store_of_one)
    built = speakers.profile_from_frames

    def relabel_meanwhile(*a, **k):
        prof = built(*a, **k)
        assert main(["relabel", "1", "--store", str(store_of_one)]) == 0  # another prosody, between read and save
        return prof
    monkeypatch.setattr(speakers, "profile_from_frames", relabel_meanwhile)
    rc, out, err = run_cli("enrol", "--from-session", "1", "--therapist", "Tess", "--store", store_of_one)
    assert rc != 0
    assert "changed by another prosody command" in err and "no voice profile was saved" in err
    assert "Traceback" not in err and "enrolled" not in out
    assert _profiles(store_of_one) == []
    assert _therapist_speech_s(store_of_one) != therapist_before  # the relabel stands
    monkeypatch.setattr(speakers, "profile_from_frames", built)
    rc, out, err = run_cli("enrol", "--from-session", "1", "--therapist", "Tess", "--store", store_of_one)
    assert rc == 0, err  # run again, it enrols the voice the session names the therapist's now
    assert [p[:2] for p in _profiles(store_of_one)] == [("Tess", "session 1 (therapist)")]


def test_an_enrol_from_a_session_tagged_meanwhile_is_saved(store_of_one, monkeypatch):
    """A note or tag meanwhile changes no voice: the enrol is not refused for it."""
    import prosody.engine.speakers as speakers
    from prosody_cli.main import main
    built = speakers.profile_from_frames

    def note_meanwhile(*a, **k):
        prof = built(*a, **k)
        assert main(["note", "1", "checked", "--at", "2", "--store", str(store_of_one)]) == 0
        return prof
    monkeypatch.setattr(speakers, "profile_from_frames", note_meanwhile)
    rc, out, err = run_cli("enrol", "--from-session", "1", "--therapist", "Tess", "--store", store_of_one)
    assert rc == 0, err
    assert [p[:2] for p in _profiles(store_of_one)] == [("Tess", "session 1 (therapist)")]


def _notes(store) -> list:
    from prosody.store.db import Store
    with Store(store) as s:
        return [(n.text, n.moment) for n in s.get(1).notes]


def test_a_moment_note_made_while_a_relabel_ran_keeps_no_label_of_the_voices_before(store_of_one, monkeypatch):
    """Before: exit 0, "session 1: note at 0:28 (talked over the client at 27.6 s)", kept so after the relabel
    (committed between the moments' ranking and the note's save) though the relabel names it the client's."""
    import prosody_cli.review as review
    from prosody_cli.main import main
    rc, out, err = run_cli("note", "1", "before", "--moment", "1", "--store", store_of_one)
    assert rc == 0, err
    label_before = _notes(store_of_one)[0][1]
    assert label_before.startswith("talked over the client at ")
    ranked = review.session_moments

    def relabel_meanwhile(*a, **k):
        ms = ranked(*a, **k)
        assert main(["relabel", "1", "--store", str(store_of_one)]) == 0
        return ms
    monkeypatch.setattr(review, "session_moments", relabel_meanwhile)
    rc, out, err = run_cli("note", "1", "racing", "--moment", "1", "--store", store_of_one)
    assert rc != 0 and "changed by another prosody command" in err and "no note was added" in err
    assert "Traceback" not in err and "note at" not in out
    # the note written before is exchanged with the voices; none is left naming the voices before
    assert _notes(store_of_one) == [("before",
                                     label_before.replace("talked over the client", "the client talked over you"))]
    monkeypatch.setattr(review, "session_moments", ranked)
    rc, out, err = run_cli("note", "1", "at a time", "--at", "0:05", "--store", store_of_one)
    assert rc == 0, err


def test_an_enrol_from_a_session_named_by_an_assumption_says_so(tmp_path):
    """Before: exit 0, the enrolled line alone. The mono mix of the fixture dialogue, analysed with no profile:
    its therapist is the voice heard first (``attribution.naming.assumption``); after `relabel` (the user's
    word) it is no assumption and nothing is said."""
    import numpy as np
    import soundfile as sf
    x, sr = sf.read(Path(__file__).resolve().parent.parent / "fixtures" / "dialogue.flac", dtype="float32")
    sf.write(tmp_path / "mono.wav", x.mean(axis=1).astype(np.float32), sr, subtype="PCM_16")
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", tmp_path / "mono.wav", "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err
    rc, out, err = run_cli("enrol", "--from-session", "1", "--therapist", "Tess", "--store", store)
    assert rc == 0, err
    assert "enrolled Tess" in out
    assert "in session 1 the speakers were named by an assumption (no voice profile: the voice heard first" in err
    assert "`prosody relabel 1`" in err
    assert run_cli("relabel", "1", "--store", store)[0] == 0
    assert run_cli("relabel", "1", "--store", store)[0] == 0  # back as found, and now the user's word
    rc, out, err = run_cli("enrol", "--from-session", "1", "--therapist", "Tess", "--store", store)
    assert rc == 0, err
    assert "assumption" not in err and "this replaces the voice profile Tess" in err
