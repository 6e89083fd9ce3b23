"""Hostile sweep 58 (docs/store.md "Hostile sweep 58").

1. Two inputs of one mix whose channels both show some speech (the second input 1 dB quieter and 2 ms later, each
   with its own hiss: the cross-talk rejection lets 0.3 s and 12.4 s through) were said nothing, live or saved: the
   same-sound rule asked for a channel without speech. Now said where the speech each channel shows keeps the
   whole's level difference (a channel of its own voice is 10 dB and more louder while it speaks).
2. Two channels of one mix at one level were said "the client's 0 dB quieter" (live and saved): now "both at one
   level"; `detect_layout`'s "0 dB quieter" / "within 0 dB" alike.
3. `delete` said nothing of the report `prosody report` wrote by its default name (`session-N.html` where it ran):
   the page now names its session, and `delete` run there says it is kept (never removed: the user's copy).
4. `batch --scheduler` at a server that is not Dask (an SSH server's banner) ended "MemoryError: Unable to allocate
   2.82 EiB for an array ...": now one line that says something answers there, but not as a Dask scheduler.
5. A silent channel named with `--channels` on a file of more than two channels was said "the channel" (no
   attribution names such a file's channels): now by its number, as a stereo file's is.
6. A channel of one constant value (a DC offset) was said by the layout "digital silence throughout (every sample
   zero)": now "(every sample zero, or one constant value)", as the session's own warning says it.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from prosody.session import same_sound_db, same_sound_words
from tests.conftest import FIXTURES, run_cli
from tests.test_sweep_hostile57 import _one_mix, _run_to

RATE_HZ = 16000


# -- 1. one mix whose two channels both show some speech -------------------------------------------------------------

def _one_mix_tipped() -> np.ndarray:
    """The fixture dialogue's mix as both people's, the second input 1 dB quieter and 2 ms (32 samples) later, each
    with its own white noise at -50 dBFS: two devices two feet apart hearing one room (this draw of the noise lets
    speech through on both channels; most draws on one only)."""
    x = _one_mix()[:, 0]
    rng = np.random.default_rng(2)
    late = np.concatenate([np.zeros(32, np.float32), x[:-32]]) * 10 ** (-1 / 20)
    hiss = rng.standard_normal((len(x), 2)) * 10 ** (-50 / 20)
    return (np.stack([x, late], axis=1) + hiss).astype(np.float32)


LIVE_SAID = ("layout found live at 00:10: the therapist's and the client's channels carry the same sound so far (the "
             "client's 1 dB quieter): each voice is taken for the other channel's leak, and the speech shown is what "
             "slipped through, not who spoke; two inputs that both carry both people are one shared input: stop, "
             "and take one of them alone as one shared device (`--device NAME --mono`; a replay: one --input file)")


def test_one_mix_whose_channels_both_show_speech_is_said_live_and_saved(tmp_path):
    """Planted: one mix on both inputs, both channels showing speech. Before: nothing said (live nor saved; the
    figures were of a "conversation" of 0.3 s against 12.4 s). Now the live line at 00:10, and the saved warning
    naming the speech shown as no one's."""
    r, src = _run_to(_one_mix_tipped(), 25.0, tmp_path / "s.json")
    assert src.seen == LIVE_SAID, src.seen
    doc = json.loads((tmp_path / "s.json").read_text())
    shown = {s: round(sum(g["end_s"] - g["start_s"] for g in doc["segments"] if g["speaker"] == s), 1)
             for s in ("therapist", "client")}
    assert shown == {"therapist": 0.3, "client": 12.4}, shown  # both channels show speech: the case planted
    assert doc["warnings"] == [
        "the therapist's and the client's channels carry the same sound throughout (the client's 1 dB quieter): both "
        "voices on each channel, as on a table device, are taken for the other channel's leak, and the speech shown "
        f"(the therapist's {shown['therapist']:.1f} s and the client's {shown['client']:.1f} s) is what slipped "
        "through, not who spoke: its turns, talk shares and talk-overs describe no one; `--mono` reads such a device "
        "as one shared device (docs/live.md), `prosody analyze` attributes a recording of it"], doc["warnings"]


def test_two_inputs_of_their_own_voices_stop_being_watched(tmp_path):
    """The dialogue as recorded (a channel each): the watch, which now goes on after both channels have shown
    speech, stops once each has shown 10 s of its own and the rule has not held (each later check reads the whole
    session so far); nothing said."""
    from tests.test_sweep_hostile57 import _dialogue
    r, src = _run_to(_dialogue(), 25.0, tmp_path / "s.json")
    watch = r.same_sound
    assert watch.settled and not watch.said and src.seen == ""
    assert watch._levels == {"therapist": [], "client": []} and watch._speech == {"therapist": [], "client": []}


def test_own_voices_speech_is_no_one_sound():
    """The rule on planted levels: one sound (the second channel 2 dB under the first throughout) is one sound
    whatever speech either channel shows where it keeps that difference; a channel whose shown speech is 15 dB
    louder than the other there is its own voice (a lapel microphone while the therapist talked alone), not one
    sound."""
    rng = np.random.default_rng(0)
    a = -40 + 20 * np.abs(np.sin(np.arange(3000) / 40)) + rng.normal(0, 0.2, 3000)
    b = a - 2 + rng.normal(0, 0.2, 3000)
    sa, sb = np.zeros(3000, bool), np.zeros(3000, bool)
    sa[100:1000], sb[2000:2100] = True, True
    assert round(same_sound_db(a, b, speech=(sa, sb)), 1) == 2.0
    b_own = b.copy()
    b_own[2000:2100] = a[2000:2100] + 15  # the client's channel, its own voice while it speaks
    assert round(same_sound_db(a, b_own), 1) == 2.0  # the old rule: one sound (too few frames to move the median)
    assert same_sound_db(a, b_own, speech=(sa, sb)) is None


# -- 2. "0 dB quieter" -----------------------------------------------------------------------------------------------

def test_one_level_is_said_as_one_level():
    """Before: "(the client's 0 dB quieter)" of 0.3 dB, "(the client's 0 dB louder)" of -0.2 dB."""
    from prosody.engine.speakers import level_words  # new in this sweep
    assert same_sound_words("therapist", "client", 0.3) == ("the therapist's and the client's channels carry the "
                                                            "same sound throughout (both at one level)")
    assert same_sound_words("therapist", "client", -0.2, span="so far").endswith("so far (both at one level)")
    assert same_sound_words("therapist", "client", 1.6).endswith("(the client's 2 dB quieter)")
    assert same_sound_words("therapist", "client", -3.2).endswith("(the client's 3 dB louder)")
    assert level_words(0.4) == "at the other's level" and level_words(-12.0) == "12 dB louder"


# -- 3. delete says the report written by its default name -----------------------------------------------------------

def _saved_session(store, client: str) -> None:
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", store, "--client", client)
    assert rc == 0, err


def test_delete_says_the_report_written_by_its_default_name(tmp_path, monkeypatch):
    """Planted: `report 1` run in a folder (session-1.html), then `delete 1` there. Before: only "deleted session
    1". Now a note that the page is kept and what it holds; the page is not removed (the user's copy). A page of
    another store's session 1 there is not named; one written before pages named their session is said to be
    maybe this session's."""
    monkeypatch.chdir(tmp_path)
    _saved_session(tmp_path / "st", "Zqx")
    _saved_session(tmp_path / "other", "Wyv")
    rc, _, err = run_cli("report", "1", "--store", tmp_path / "st")
    assert rc == 0, err
    page = tmp_path / "session-1.html"
    held = page.read_bytes()
    rc, out, err = run_cli("delete", "1", "--store", tmp_path / "st")
    assert (rc, out) == (0, "deleted session 1\n"), (rc, out, err)
    assert err == ("prosody: note: session 1's report session-1.html (written by `prosody report` by its default "
                   "name) is kept here: it holds the session's names and figures (with --clips its audio too); "
                   "remove it yourself\n"), err
    assert page.read_bytes() == held
    rc, _, err = run_cli("delete", "1", "--store", tmp_path / "other")  # the page is st's session 1, not other's
    assert rc == 0 and "session-1.html" not in err, err
    _saved_session(tmp_path / "old", "Vut")
    start = held.index(b'<meta name="prosody-session" ')
    page.write_bytes(held[:start] + held[held.index(b">", start) + 1:])  # as a page was before this sweep
    rc, _, err = run_cli("delete", "1", "--store", tmp_path / "old")
    assert rc == 0 and err == (
        "prosody: note: session-1.html here is a report by session 1's default name, written before a page named "
        "its session (it may be another store's session 1); if it is this session's, it holds the session's names "
        "and figures (with --clips its audio too): remove it yourself\n"), err


# -- 4. batch --scheduler at a server that is not Dask ---------------------------------------------------------------

def test_scheduler_at_an_ssh_server_is_one_plain_line(tmp_path):
    """Planted: a TCP server that greets as SSH servers do. Before: "... (its answer is not the Dask protocol):
    MemoryError: Unable to allocate 2.82 EiB for an array with shape (3256153323631825747,) and data type uint8"
    (the banner read as a frame's size). Now the line says what is there, exit 1."""
    pytest.importorskip("distributed", reason="dask distributed not installed")
    from tests.test_batch import _answering_server
    port, close = _answering_server(b"SSH-2.0-OpenSSH_9.6\r\n")
    try:
        rc, out, err = run_cli("batch", FIXTURES / "mono_therapist.wav", "--scheduler", f"tcp://127.0.0.1:{port}",
                               "--store", tmp_path / "st", "--table", tmp_path / "t")
    finally:
        close()
    assert rc == 1 and err == (f"prosody: error: cannot reach a Dask scheduler at tcp://127.0.0.1:{port} (its answer "
                               "is not the Dask protocol): something answers there, but not as a Dask scheduler; "
                               "check the address and port\n"), err
    assert not (tmp_path / "st").exists()


# -- 5. a channel named on a file of more than two, and a constant channel ---------------------------------------------

def _dialogue_with(tmp_path, name: str, *extra: float) -> str:
    """The fixture dialogue (a channel each) with a channel of each constant value in ``extra`` after it (a
    recorder's unused input at its DC offset)."""
    import soundfile as sf
    audio, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    cols = [audio[:, 0], audio[:, 1]] + [np.full(len(audio), v, np.float32) for v in extra]
    path = tmp_path / name
    sf.write(path, np.stack(cols, axis=1), sr)
    return str(path)


def test_a_silent_channel_named_on_a_file_of_four_is_said_by_its_number(tmp_path):
    """Planted: four channels, the fourth one constant value (-0.2), named the client's with `--channels`. Before:
    "client never speaks: the channel is digital silence ...", where a stereo file's is "channel 2 is ...": no
    attribution names the channels of such a file. Now "channel 3"."""
    path = _dialogue_with(tmp_path, "four.wav", 0.0, -0.2)
    rc, _, err = run_cli("analyze", path, "--channels", "therapist=1,client=4", "--json", tmp_path / "s.json",
                         "--quiet")
    assert rc == 0, err
    warned = json.loads((tmp_path / "s.json").read_text())["warnings"]
    assert warned == ["client never speaks: channel 4 is digital silence throughout (every sample zero, or one "
                      "constant value), so the client's figures describe no behaviour, and figures toward the "
                      "client (answering, talking over) have no data"], warned


def test_a_constant_channel_is_not_said_to_be_zeros(tmp_path):
    """Planted: the therapist's channel beside a channel of one constant value (0.3: a DC offset, no sound).
    Before: the layout "channel 2 is digital silence throughout (every sample zero)", untrue of the file (the
    session's own warning said "every sample zero, or one constant value"). Now the layout says it alike."""
    import soundfile as sf
    audio, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    path = tmp_path / "dc.wav"
    sf.write(path, np.stack([audio[:, 0], np.full(len(audio), 0.3, np.float32)], axis=1), sr)
    rc, _, err = run_cli("analyze", path, "--json", tmp_path / "s.json", "--quiet")
    assert rc == 0, err
    reason = json.loads((tmp_path / "s.json").read_text())["attribution"]["layout_detection"]["reason"]
    assert reason == ("channel 2 is digital silence throughout (every sample zero, or one constant value): "
                      "separate channels with one voice speaking"), reason
