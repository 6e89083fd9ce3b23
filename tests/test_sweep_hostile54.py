"""Hostile sweep 54 (docs/store.md "Hostile sweep 54").

1. `live` with two devices (two replayed files) carrying one mix said "therapist never speaks: no speech was found
   on the channel" (and the client alike) after the warning that the channels carry the same sound; `analyze` of
   two channels named over a mix says the speech was taken for the other's leak (sweep 53). Now live says it too,
   the same-sound warning first; `Recording.channels_alike` is set by the same-mix finding alone (it was any plan
   warning), and `--layout separate` over a mix sets it too.
2. A write past this process's file-size limit (`ulimit -f`) was said "File too large", the limit unnamed, by
   `live --record`, `export`, `report`, the store's frames file and the rescue of an unsaved session (each rescue
   folder tried, each said the same); now the limit is said once, as the store says it.
3. `enrol` of a stereo dialogue recorded a channel each at 8 kHz: enrolled as one voice (the diarizer finds one in
   the narrow-band 12 s mix); now the channels' own voices are two people.
4. Two files, one of them a dialogue of a channel each: read from its channel 1 alone, the other voice dropped
   unsaid (by `analyze`, `batch` and `live --input`); now said.
"""
from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from tests.conftest import FIXTURES, run_cli
from tests.test_sweep_hostile53 import _limit_said, _limited

RATE_HZ = 16000
HEAD_S = 12


def _dialogue(seconds: int = HEAD_S) -> np.ndarray:
    """The fixture dialogue's first ``seconds``: (n, 2), the therapist on channel 1, the client on channel 2."""
    audio, _ = sf.read(FIXTURES / "dialogue.flac", dtype="float32", frames=seconds * RATE_HZ)
    return audio


def _taken_for_leak(where: str) -> list[str]:
    return [f"{spk} never speaks: the speech on {where(spk)} was all taken for the {other}'s leak (the two channels "
            f"named carry both voices, as said above), so the {spk}'s figures describe no behaviour, and figures "
            f"toward the {spk} (answering, talking over) have no data"
            for spk, other in (("therapist", "client"), ("client", "therapist"))]


# -- 1. two devices of one sound, said as analyze says channels named over a mix -----------------------------------

def test_two_live_devices_of_one_mix_say_the_speech_was_taken_for_leak(tmp_path, monkeypatch):
    """The dialogue's mix replayed as two devices (the second 2 dB quieter). Before: the same-sound warning after
    "therapist never speaks: no speech was found on the channel" and the client alike."""
    monkeypatch.chdir(tmp_path)
    mix = _dialogue().mean(axis=1)
    sf.write("a.wav", mix, RATE_HZ, subtype="PCM_16")
    sf.write("b.wav", mix * 10 ** (-2 / 20), RATE_HZ, subtype="PCM_16")
    rc, out, err = run_cli("live", "--input", "a.wav", "b.wav", "--plain", "--speed", "max", "--output", "s.json")
    assert rc == 0, err
    assert out.endswith("saved s.json (12.0 s analysed, 0 speech segments, 0 bookmarks; stopped: end of input)\n")
    same = ("the therapist's and the client's channels carry the same sound throughout (the client's 2 dB quieter): "
            "both voices on each channel, as on a table device, are each taken for the other channel's leak; "
            "`--mono` reads such a device as one shared device (docs/live.md), `prosody analyze` attributes a "
            "recording of it")
    chans = {"therapist": "channel 1", "client": "channel 2"}  # "the channel" until hostile sweep 61
    said = [same, *_taken_for_leak(chans.get)]
    assert err == "".join(f"prosody: warning: {w}\n" for w in said), err
    assert json.loads((tmp_path / "s.json").read_text())["warnings"] == said


def test_layout_separate_over_one_mix_says_the_speech_was_taken_for_leak(tmp_path):
    """Two files of one mix, `--layout separate` insisting: "no speech was found on channel 1" (and 2) before."""
    mix = _dialogue().mean(axis=1)
    sf.write(tmp_path / "a.wav", mix, RATE_HZ, subtype="PCM_16")
    sf.write(tmp_path / "b.wav", mix * 10 ** (-2 / 20), RATE_HZ, subtype="PCM_16")
    rc, _, err = run_cli("analyze", tmp_path / "a.wav", tmp_path / "b.wav", "--layout", "separate", "--json",
                         tmp_path / "s.json", "--quiet")
    assert rc == 0, err
    warned = json.loads((tmp_path / "s.json").read_text())["warnings"]
    chans = {"therapist": "channel 1", "client": "channel 2"}
    assert [w for w in warned if " never speaks: " in w] == _taken_for_leak(chans.get), warned
    assert warned[0].startswith("--layout separate overrides the detected layout (shared: "), warned


def test_channels_alike_is_the_same_mix_alone(tmp_path):
    """`Recording.channels_alike` was `bool(warnings)`: any warning of the plan's. Now a field the same-mix finding
    sets: a plan of channels named over one mix has it, one of two own-voice channels (no warning) not, and a
    Recording given some other warning not."""
    from prosody.engine.sources import Layout
    from prosody.speaker_channels import Recording, recording_plan
    d = _dialogue()
    mix = d.mean(axis=1)
    sf.write(tmp_path / "same.wav", np.stack([mix, mix, mix], axis=1), RATE_HZ, subtype="PCM_16")
    sf.write(tmp_path / "own.wav", np.stack([d[:, 0], np.zeros_like(mix), d[:, 1]], axis=1), RATE_HZ,
             subtype="PCM_16")
    layout = Layout(("therapist", "client"), ((0, 0), (0, 2)))
    same = recording_plan([str(tmp_path / "same.wav")], layout, voices=None)
    own = recording_plan([str(tmp_path / "own.wav")], layout, voices=None)
    assert same.channels_alike and len(same.warnings) == 1 and "both carry both voices" in same.warnings[0]
    assert not own.channels_alike and own.warnings == ()
    other = Recording(own.source, own.speakers, own.picks, cross_talk=True, warnings=("some other finding",))
    assert not other.channels_alike
    rc, _, err = run_cli("analyze", tmp_path / "own.wav", "--channels", "therapist=1,client=3", "--json",
                         tmp_path / "s.json", "--quiet")
    assert rc == 0 and not any("never speaks" in w for w in json.loads((tmp_path / "s.json").read_text())["warnings"])


# -- 2. a file-size limit said as one -------------------------------------------------------------------------------

def test_outputs_past_the_file_size_limit_name_it(tmp_path):
    """`export` and `report` past a 40 KiB limit: "cannot access e.csv: File too large" before."""
    rc, _, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--save", "--store", tmp_path / "st", "--quiet")
    assert rc == 0, err
    for argv, out in ((("export", "1", "--format", "csv", "-o", "e.csv"), "e.csv"),
                      (("report", "1", "-o", "r.html"), "r.html")):
        r = _limited(40 * 1024, *argv, "--store", "st", cwd=tmp_path)
        assert r.returncode == 1 and r.stderr == (f"prosody: error: cannot write {out}: {_limit_said(40 * 1024)}; "
                                                  "it was not written\n"), r.stderr
        assert not (tmp_path / out).exists()


def test_a_save_past_the_file_size_limit_says_it_once_and_no_other_disk(tmp_path):
    """The store's frames file past a 40 KiB limit: "(cannot write st/frames/X.npz: File too large) nor kept
    anywhere (.: File too large; ~/.local/share/prosody-rescue: File too large; ~: ...; /tmp: ...); run again with
    --json PATH on another disk" before: every folder tried for a limit that holds for every file."""
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", tmp_path / "st", "--quiet")
    assert rc == 0, err
    r = _limited(40 * 1024, "analyze", FIXTURES / "dialogue.flac", "--save", "--store", "st", "--quiet",
                 cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    line = r.stderr.splitlines()[-1]
    assert line.startswith("prosody: error: the session could not be saved (cannot write st/frames/"), r.stderr
    assert line.endswith(f".npz: {_limit_said(40 * 1024)}) nor kept anywhere (.: the same limit; no other folder "
                         "was tried)"), r.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("prosody-unsaved-")]


def test_a_live_save_past_the_file_size_limit_tries_no_fallback_folder(tmp_path):
    """Before: the limit unnamed, and each fallback folder (the user's data folder, home, /tmp) tried and said."""
    r = _limited(40 * 1024, "live", "--input", FIXTURES / "dialogue.flac", "--speed", "max", "--plain", "--output",
                 "s.json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert r.stderr.splitlines()[-1] == (f"prosody: error: end of input: SAVE FAILED: cannot write s.json: "
                                         f"{_limit_said(40 * 1024)}; no fallback folder was tried (the limit holds "
                                         "for every file)"), r.stderr


# -- 3. enrol of a dialogue recorded a channel each -----------------------------------------------------------------

def test_enrol_of_a_narrow_band_dialogue_a_channel_each_is_two_voices(tmp_path):
    """The dialogue's first 12 s at 8 kHz (a channel each): "enrolled ann: 9 s of speech" before. A stereo file of
    one voice (the therapist on both channels) is still enrolled."""
    import soxr
    d = _dialogue()
    sf.write(tmp_path / "d8.wav", soxr.resample(d, RATE_HZ, 8000), 8000, subtype="PCM_16")
    rc, out, err = run_cli("enrol", tmp_path / "d8.wav", "--therapist", "ann", "--store", tmp_path / "st")
    assert rc == 2 and out == "", (out, err)
    assert err == (f"prosody: error: two voices found in {tmp_path / 'd8.wav'}, one on each channel (each channel "
                   "carries its own voice: speech alternates between channel levels more than 60 dB apart): a "
                   "voice profile is built from the therapist alone; give a recording of the therapist alone, or "
                   "enrol from a saved session's therapist (--from-session N); if it is the therapist alone, say so "
                   "with --voices 1\n"), err
    one, _ = sf.read(FIXTURES / "mono_therapist.wav", dtype="float32")
    sf.write(tmp_path / "one.wav", np.stack([one, 0.5 * one], axis=1), RATE_HZ, subtype="PCM_16")
    rc, out, err = run_cli("enrol", tmp_path / "one.wav", "--therapist", "ann", "--store", tmp_path / "st")
    assert rc == 0 and out.startswith("enrolled ann: 5 s of speech from recording "), (out, err)


# -- 4. two files, one of them a dialogue of a channel each ---------------------------------------------------------

def test_a_per_speaker_file_of_two_voices_is_said(tmp_path):
    """The therapist's own file beside the whole dialogue given as the client's: read from the dialogue's channel
    1 (the therapist again), "therapist never speaks: no speech was found on channel 1" alone before. The
    dialogue given as the therapist's file beside the client's own: the same warning, its channel 1 named."""
    d = _dialogue()
    sf.write(tmp_path / "dlg.wav", d, RATE_HZ, subtype="PCM_16")
    sf.write(tmp_path / "cl.wav", d[:, 1], RATE_HZ, subtype="PCM_16")
    sf.write(tmp_path / "th.wav", d[: 8 * RATE_HZ, 0], RATE_HZ, subtype="PCM_16")  # not identical to channel 1
    for files, who in ((("th.wav", "dlg.wav"), "client"), (("dlg.wav", "cl.wav"), "therapist")):
        rc, _, err = run_cli("analyze", *(tmp_path / f for f in files), "--json", tmp_path / "s.json", "--overwrite",
                             "--quiet")
        assert rc == 0, err
        path = tmp_path / "dlg.wav"
        said = (f"{path} (the {who}'s file) carries a voice on each of its first two channels (each channel carries "
                "its own voice: speech alternates between channel levels more than 60 dB apart): one speaker's file "
                f"is read from one channel, so its channel 1 alone is taken for the {who} and the other voice on it "
                f"is not analysed; if it holds the whole session, analyse it alone (`prosody analyze {path}`)")
        assert said in json.loads((tmp_path / "s.json").read_text())["warnings"], err
    rc, _, err = run_cli("analyze", tmp_path / "th.wav", tmp_path / "cl.wav", "--json", tmp_path / "s.json",
                         "--overwrite", "--quiet")
    assert rc == 0 and "carries a voice on each" not in err, err
    rc, _, err = run_cli("live", "--input", tmp_path / "dlg.wav", tmp_path / "cl.wav", "--plain", "--speed", "max",
                         "--output", tmp_path / "l.json")  # live replays two files as two devices: said alike
    assert rc == 0 and err.splitlines()[0] == f"prosody: warning: {said}", err
    assert said in json.loads((tmp_path / "l.json").read_text())["warnings"]
