"""Hostile sweep 61 (docs/store.md "Hostile sweep 61").

1. The live ``SameSoundWatch`` looked for the delay between its two inputs again at every check (some 132 level
   spreads over the first minute), though past that minute the delay is found on the same frames: it is now kept
   once found there (``session.same_sound_read(..., lag=)``), the decisions as before.
2. `live` said a speaker's silent channel "the channel" where `analyze` of the same says "channel 2": a stereo
   replay or device now names the channel read (``--channels`` as given), two replayed files "channel 1" / "2".
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import soundfile as sf

from prosody.live.layout_watch import SameSoundWatch
from prosody.session import same_sound_db, same_sound_lag_span, same_sound_read
from tests.conftest import FIXTURES, run_cli
from tests.test_sweep_hostile58_delay import _lapels, _levels, _one_mix_late

RATE_HZ = 16000


# -- 1. the delay between two inputs kept once found -------------------------------------------------------------

def test_a_kept_delay_reads_as_the_delay_looked_for():
    """Planted: one mix, the second input 3 ms (0.3 frame) later and 2 dB quieter; two lapel microphones (-6 dB
    leak, 3 ms). The delay found is the planted one, and a read given it decides as the read that looks for it."""
    a, b = _levels(_one_mix_late(3, 2.0, seed=5))
    diff, lag = same_sound_read(a, b)
    assert abs(lag - 0.3) < 0.15 and abs(diff - 2.0) < 0.5, (diff, lag)
    assert same_sound_read(a, b, lag=lag) == (diff, lag)
    a, b = _levels(_lapels(-6, 3))
    diff, lag = same_sound_read(a, b)
    assert diff is None and same_sound_read(a, b, lag=lag) == (None, lag)


def test_the_watch_keeps_the_delay_found_on_the_first_minute():
    """Two lapel microphones (-6 dB leak, 3 ms), 80 s of them (the dialogue twice), the client's channel showing no
    speech (the watch goes on: not settled). No delay kept before the first minute's frames are all in
    (``same_sound_lag_span``: 60.06 s); at the check of 65 s the delay that read found is kept, and every check
    decides as ``same_sound_db`` of the frames so far (nothing to say)."""
    a, b = (np.tile(x, 2) for x in _levels(_lapels(-6, 3)))
    w = SameSoundWatch(("therapist", "client"))
    seen = []
    for at in range(0, len(a), 500):  # 5 s blocks, a check after each
        for spk, lv in (("therapist", a), ("client", b)):
            w.add(SimpleNamespace(speaker=spk, rms_db=lv[at:at + 500], is_speech=np.full(500, spk == "therapist")))
        seen.append((min(w._n.values()), w.lag, w.check()))
    assert not w.done and same_sound_lag_span(0.01) == 6006
    assert all(lag is None for n, lag, _ in seen if n < 6500) and all(line == "" for *_, line in seen)
    speech = [np.ones(6500, bool), np.zeros(6500, bool)]
    found = same_sound_read(a[:6500], b[:6500], min_s=10.0, speech=speech)[1]
    assert found is not None and all(lag == found for n, lag, _ in seen if n > 6500), (found, seen[-3:])
    assert same_sound_db(a, b, min_s=10.0, speech=[np.ones(len(a), bool), np.zeros(len(a), bool)]) is None


# -- 2. live names a silent channel by its number ------------------------------------------------------------------

def _silent(where: str, spk: str = "client") -> str:
    return (f"{spk} never speaks: {where} is digital silence throughout (every sample zero, or one constant value), "
            f"so the {spk}'s figures describe no behaviour, and figures toward the {spk} (answering, talking over) "
            "have no data")


def _live(tmp_path, *argv) -> list[str]:
    rc, _, err = run_cli("live", "--input", *argv, "--plain", "--speed", "max", "--output", tmp_path / "s.json")
    assert rc == 0, err
    return json.loads((tmp_path / "s.json").read_text())["warnings"]


def test_live_names_a_silent_channel_by_its_number(tmp_path):
    """Planted: the fixture dialogue with channel 2 all zeros, then one constant value (0.3); the same with
    `--channels therapist=right,client=left`; the therapist's channel and a file of zeros as two files. Before: "the
    channel is digital silence" each time, where `analyze` says "channel 2". Now the channel read is named."""
    audio, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    for k, value in enumerate((0.0, 0.3)):
        x = audio.copy()
        x[:, 1] = value
        sf.write(tmp_path / f"in{k}.wav", x, sr)
        warned = _live(tmp_path, tmp_path / f"in{k}.wav")
        assert _silent("channel 2") in warned, warned
        for p in tmp_path.glob("s.*"):
            p.unlink()
    warned = _live(tmp_path, tmp_path / "in0.wav", "--channels", "therapist=right,client=left")
    assert _silent("channel 2", "therapist") in warned, warned
    for p in tmp_path.glob("s.*"):
        p.unlink()
    sf.write(tmp_path / "th.wav", audio[:, 0], sr)
    sf.write(tmp_path / "zero.wav", audio[:, 0] * 0, sr)
    warned = _live(tmp_path, tmp_path / "th.wav", tmp_path / "zero.wav")
    assert _silent("channel 2") in warned and not [w for w in warned if "the channel" in w], warned


def test_live_names_a_quiet_channel_by_its_number(tmp_path):
    """Planted: the fixture dialogue, the client's channel 45 dB down (its speech typically -69 dBFS; a live
    session hears it as it is). Before: "the client's channel is very quiet ..."; `analyze` names "channel 2
    (client)" wherever it says a quiet channel. Now live alike, and "raise that channel's level" names no other."""
    audio, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    audio[:, 1] *= 10 ** (-45 / 20)
    sf.write(tmp_path / "quiet.wav", audio, sr)
    warned = _live(tmp_path, tmp_path / "quiet.wav")
    quiet = [w for w in warned if "very quiet" in w]
    assert len(quiet) == 1 and quiet[0].startswith(
        "channel 2 (client) is very quiet (its speech typically -69 dBFS): under about -65 dBFS the voice activity "
        "detection misses"), warned


def test_live_names_the_one_channel_read_of_a_stereo_file(tmp_path):
    """Planted: the dialogue with channel 2 all zeros, read `--channels client=right` (that speaker alone). Before:
    "client never speaks: the recording is digital silence throughout", untrue of a file whose channel 1 holds 40
    s of speech (`analyze` of the same: "channel 2"). Now "channel 2"; a mono file of zeros is still "the
    recording"."""
    audio, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    audio[:, 1] = 0.0
    sf.write(tmp_path / "in.wav", audio, sr)
    one = ("client never speaks: channel 2 is digital silence throughout (every sample zero, or one constant "
           "value), so the client's figures describe no behaviour")
    assert one in _live(tmp_path, tmp_path / "in.wav", "--channels", "client=right")
    for p in tmp_path.glob("s.*"):
        p.unlink()
    sf.write(tmp_path / "zero.wav", audio[:, 1], sr)
    assert one.replace("client", "therapist").replace("channel 2", "the recording") in _live(
        tmp_path, tmp_path / "zero.wav")
