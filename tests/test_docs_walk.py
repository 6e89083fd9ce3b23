"""What the README and docs/ say, checked against the command line (a new user's walk through them)."""
from __future__ import annotations

import pytest

from prosody_cli.main import build_parser


def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return " ".join(sub.format_help().split())


@pytest.mark.parametrize("command", ["sessions", "show", "export", "import", "moments", "enrol", "batch", "analyze"])
def test_store_help_names_the_default_folder_that_is_used(monkeypatch, command):
    """README and docs/store.md: the store is ``$XDG_DATA_HOME/prosody`` where that is set. The
    --store help said ``~/.local/share/prosody`` whatever $XDG_DATA_HOME held, while every command
    used ``$XDG_DATA_HOME/prosody``."""
    from pathlib import Path

    from prosody.store.db import default_store_path
    monkeypatch.delenv("PROSODY_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/xdgdata")  # no hyphen: argparse may wrap a line there
    assert default_store_path() == Path("/srv/xdgdata/prosody")  # the folder the commands use
    text = _help(command)
    assert "--store PATH session store folder (default $PROSODY_STORE, else /srv/xdgdata/prosody)" in text
    monkeypatch.setenv("PROSODY_STORE", "/srv/elsewhere")  # named as $PROSODY_STORE, not as its value
    assert "(default $PROSODY_STORE, else /srv/xdgdata/prosody)" in _help(command)


def _keys_of(doc: dict) -> dict[str, set]:
    """The JSON keys docs/session-schema.md lists, by where they sit in an analysed session."""
    m = doc["measures"]
    out = {"top level": set(doc), "attribution": set(doc.get("attribution") or {}),
           "diarization": set((doc.get("attribution") or {}).get("diarization") or {}),
           "naming": set((doc.get("attribution") or {}).get("naming") or {}),
           "speakers.NAME": set().union(*(set(v) for v in doc["speakers"].values())),
           "measures": set(m), "baseline": set(m["baseline"]),
           "voice.NAME": set().union(*(set(v) for v in m["voice"].values()))}
    if m.get("timing"):
        out["timing.NAME"] = set().union(*(set(v) for v in m["timing"].values()))
    out["warmth"] = set(m["warmth"]) - {"components"} | set(m["warmth"]["components"][0])
    if m.get("attunement"):
        att = m["attunement"]
        out["attunement"] = set(att) | set(att["proximity"]["pitch"]) | set(att["synchrony"]["pitch"])
    if m.get("voice_quality"):
        out["voice_quality.NAME"] = set().union(*(set(v) for v in m["voice_quality"].values() if v))
    return out


@pytest.mark.parametrize("argv", [["dialogue.flac", "--network-delay-ms", "120"], ["mono_therapist.wav"]],
                         ids=["separate channels, call delay", "mono, diarized"])
def test_every_key_of_the_session_json_is_in_the_schema_page(argv, tmp_path):
    """docs/session-schema.md lists the keys `prosody analyze --json` writes: every key of an analysed
    session (the bundled fixtures) is named on the page (in backticks or braces), so none goes unexplained."""
    import json
    import re
    from pathlib import Path

    from tests.conftest import FIXTURES, REPO, run_cli
    out = tmp_path / "s.json"
    rc, _, err = run_cli("analyze", FIXTURES / argv[0], *argv[1:], "--json", out, "--quiet")
    assert rc == 0, err
    page = (REPO / "docs" / "session-schema.md").read_text()
    spans = [a or b for a, b in re.findall(r"`([^`]*)`|\{([^}]*)\}", page)]  # `key`, {key, key}
    named = {w for span in spans for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?:->[a-z]+)?", span)}
    missing = {where: sorted(keys - named) for where, keys in _keys_of(json.loads(Path(out).read_text())).items()}
    assert not {k: v for k, v in missing.items() if v}, missing


# -- the command lines that need an audio device (session 39): a private PulseAudio server, skipped without one --

def _doc_lines(*pages: str) -> list[tuple[str, str]]:
    from tests.conftest import REPO
    return [(page, line) for page in pages for line in (REPO / page).read_text().splitlines()]


def test_the_table_device_live_lines_take_mono():
    """README: `prosody live --device 2 --record rec.flac  # one table device`. Without --mono a table device
    is read as two speakers' channels; each voice is on both, so the live view (a private PulseAudio null sink
    playing the fixture dialogue mixed to both channels, session 39) said both "quiet" through 41 s of speech at
    -23 to -48 dB and never showed a talk share. docs/live.md's layout table says `--mono` for a shared device."""
    lines = [(p, x) for p, x in _doc_lines("README.md", "docs/live.md")
             if x.startswith("prosody live") and "table device" in x]
    assert lines
    assert all(" --mono" in x for _, x in lines), lines


def test_the_live_output_folder_line_makes_its_folder_first(tmp_path):
    """docs/live.md's `prosody live --output ~/sessions/today.json --record ~/sessions/today.flac` was refused as
    written on a machine without ~/sessions (one line, exit 2): the page makes the folder first."""
    from tests.conftest import FIXTURES, run_cli
    folder = tmp_path / "sessions"
    rc, _, err = run_cli("live", "--input", FIXTURES / "dialogue.flac", "--speed", "max", "--plain",
                         "--output", folder / "today.json", "--record", folder / "today.flac")
    assert rc == 2 and err.count("\n") == 1 and "does not exist" in err, err
    assert not (tmp_path / "sessions").exists()
    lines = [x for _, x in _doc_lines("docs/live.md")]
    at = next(i for i, x in enumerate(lines) if x.startswith("prosody live --output ~/sessions/"))
    assert any(x.startswith("mkdir -p ~/sessions") for x in lines[at - 3:at]), lines[at - 3:at + 1]


def test_a_name_part_matching_two_monitors_is_one_line_naming_them(pulse, tmp_path):
    """README: `prosody live --therapist-device mic --client-device "Monitor of"`: where the machine has two
    outputs (two monitors) the name part matches both: one line naming each, exit 2, nothing written."""
    import subprocess
    import sys
    pulse.null_sink("speakers")
    pulse.null_sink("hdmi")
    res = subprocess.run([sys.executable, "-m", "prosody_cli.main", "live", "--therapist-device", "speakers.monitor",
                          "--client-device", "Monitor of"], env=pulse.env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "'Monitor of' matches 2 input devices" in res.stderr
    assert "speakers.monitor = Monitor of speakers" in res.stderr and "hdmi.monitor = Monitor of hdmi" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_table_device_with_mono_and_record_shows_speech_and_is_attributed_on_save(pulse, tmp_path):
    """README's table-device line as written (a source for `2`): the fixture dialogue's 5.6-29.5 s (both ends in
    silence) mixed to both channels of a null sink. Live, the view shows the mix speaking; on save the recording
    is attributed again (mono: two voices), the therapist's talk share near the planted one."""
    import json
    import subprocess
    import sys
    import time

    import numpy as np
    import soundfile as sf

    from tests.conftest import FIXTURES
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    t0, t1 = 5.6, 29.5
    mix = x[int(t0 * sr):int(t1 * sr)].mean(axis=1)
    wav = tmp_path / "table.wav"
    sf.write(wav, np.stack([mix, 0.8 * mix], axis=1), sr, subtype="PCM_16")
    truth = json.loads((FIXTURES / "dialogue.truth.json").read_text())["segments"]
    planted = {s: sum(min(b, t1) - max(a, t0) for a, b in v if b > t0 and a < t1) for s, v in truth.items()}
    share = planted["therapist"] / sum(planted.values())
    source = pulse.null_sink("table")
    out = tmp_path / "s.json"
    p = subprocess.Popen([sys.executable, "-m", "prosody_cli.main", "live", "--device", source, "--mono",
                          "--record", "rec.flac", "--output", str(out), "--plain", "--interval-s", "0.5"],
                         env=pulse.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(2.0)
    player = pulse.play(wav, "table")
    assert player.wait(timeout=60) == 0
    time.sleep(1.5)
    p.terminate()
    o, e = p.communicate(timeout=120)
    assert p.returncode == 0, e
    assert "now: mix speaking" in o, o  # one shared channel, nobody named: the mix (hostile sweep 20)
    doc = json.loads(out.read_text())
    assert doc["live"].get("reattributed") is True and doc["attribution"]["layout"] == "mono", doc["attribution"]
    assert list(doc["speakers"]) == ["therapist", "client"]
    timing = doc["measures"]["timing"]  # planted 13.1 s / 9.9 s (share 0.569); one run read 0.47 (diarized, 24 s)
    assert abs(sum(timing[s]["speech_s"] for s in timing) - sum(planted.values())) < 2.5, (planted, timing)
    assert abs(timing["therapist"]["talk_share"] - share) < 0.15, (share, timing)


@pytest.mark.parametrize("table", [True, False], ids=["both voices on both channels", "a channel each"])
def test_a_stereo_replay_of_a_table_recording_says_why_nobody_speaks(table, tmp_path):
    """`prosody live --input session.wav --speed max --plain` (docs/live.md) of the fixture dialogue mixed to both
    channels (channel 2 2 dB quieter) saved 0 speech segments and said only "therapist never speaks: no speech
    was found on the channel" and the same of the client, though each channel held all 40 s of speech: each
    voice was taken for the other channel's leak (session 39 then said the channels carry the same sound and
    named `--mono`). Now the layout is found live (prosody.live.layout_watch): from 20 s of audio the replay is
    one shared device, read as `--mono` reads it (analysed again from the start), and said; the dialogue as
    recorded (a channel each) is found separate and stays two speakers, 19 segments, no such warning."""
    import json

    import numpy as np
    import soundfile as sf

    from tests.conftest import FIXTURES, run_cli
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    if table:
        m = x.mean(axis=1)
        x = np.stack([m, 10 ** (-2 / 20) * m], axis=1)
    wav = tmp_path / "session.wav"
    sf.write(wav, x, sr, subtype="PCM_16")
    out = tmp_path / "s.json"
    rc, _, err = run_cli("live", "--input", wav, "--speed", "max", "--plain", "--output", out)
    assert rc == 0, err
    doc = json.loads(out.read_text())
    same = [w for w in doc["warnings"] if "carry the same sound" in w or "never speaks" in w]
    found = [w for w in doc["warnings"] if w.startswith("layout found live at")]
    lay = doc["live"]["layout"]
    if table:
        assert lay["switched"] and lay["found_at_s"] == 20.0 and doc["speaker_order"] == ["therapist"], lay
        assert len(doc["segments"]) >= 4 and not same and found and "as --mono reads it" in found[0]
    else:
        assert lay["found"] == "separate" and not lay["switched"]
        assert len(doc["segments"]) == 19 and not same and not found, doc["warnings"]


def test_a_table_recording_attributed_again_on_save_drops_the_same_sound_warning(tmp_path):
    """With --record the saved session is attributed again from the recording (shared: two voices): the warning
    about the channels read as given is no longer true of it and is not kept (nor are the "never speaks")."""
    import json

    import numpy as np
    import soundfile as sf

    from tests.conftest import FIXTURES, run_cli
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    m = x.mean(axis=1)
    wav = tmp_path / "session.wav"
    sf.write(wav, np.stack([m, 10 ** (-2 / 20) * m], axis=1), sr, subtype="PCM_16")
    out = tmp_path / "s.json"
    rc, _, err = run_cli("live", "--input", wav, "--speed", "max", "--plain", "--output", out,
                         "--record", tmp_path / "rec.flac")
    assert rc == 0, err
    doc = json.loads(out.read_text())
    assert doc["live"].get("reattributed") is True and len(doc["segments"]) > 10, doc["warnings"]
    assert not [w for w in doc["warnings"] if "carry the same sound" in w or "never speaks" in w], doc["warnings"]


def test_a_session_is_named_by_the_uid_show_prints_of_8_or_16_hex_digits(short_wav, tmp_path):
    """docs/store.md: commands accept a session's uid or a unique prefix of 4+ characters. The page said the uid
    has 8 characters; a session `prosody batch` saved has 16 (from its content and options hashes). Both kinds, as
    `show` prints them, name their session whole and by a 6-character prefix."""
    import re
    import shutil

    from tests.conftest import REPO, run_cli
    store = tmp_path / "store"
    rc, _, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(short_wav, folder / "b.wav")
    rc, _, err = run_cli("batch", folder, "--store", store, "--table", tmp_path / "t", "--no-progress",
                         "--jobs", "1", "--no-parquet")
    assert rc == 0, err
    uids = {}
    for sid in ("1", "2"):
        rc, out, err = run_cli("show", sid, "--store", store)
        assert rc == 0, err
        uids[sid] = re.match(rf"session {sid} \(([0-9a-f]+)\)", out).group(1)
    assert [len(uids["1"]), len(uids["2"])] == [8, 16], uids  # analyze --save, batch
    for sid, uid in uids.items():
        for name in (uid, uid[:6]):
            rc, out, err = run_cli("show", name, "--store", store)
            assert rc == 0 and out.startswith(f"session {sid} ({uid})"), (name, err)
    page = " ".join((REPO / "docs" / "store.md").read_text().split())
    assert "8 hex digits, 16 for a session `prosody batch` saved" in page and "8-character uid" not in page


def test_the_one_microphone_mono_line_shows_the_mix_and_saves_the_therapist(pulse, tmp_path):
    """docs/live.md: `prosody live --device 3 --mono  # one microphone: ...` said "therapist only"; as written (a
    null sink's source for `3`, the mono fixture of one voice played into it) the view names nobody live, it
    shows the mix speaking, and the saved session's one speaker is the therapist, with no turn-taking: the line's
    comment says so, and names --speaker."""
    import json
    import subprocess
    import sys
    import time

    from tests.conftest import FIXTURES, REPO
    lines = (REPO / "docs" / "live.md").read_text().splitlines()
    at = next(i for i, x in enumerate(lines) if x.startswith("prosody live --device 3 --mono "))
    said = " ".join(x.split("#", 1)[1].strip() for x in lines[at:at + 2])
    assert "no turn-taking" in said and "the mix" in said and "saved as the therapist" in said, said
    assert "--speaker NAME" in said and "therapist only" not in said, said
    source = pulse.null_sink("mic")
    out = tmp_path / "s.json"
    p = subprocess.Popen([sys.executable, "-m", "prosody_cli.main", "live", "--device", source, "--mono",
                          "--output", str(out), "--plain", "--interval-s", "0.5"],
                         env=pulse.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(2.0)
    assert pulse.play(FIXTURES / "mono_therapist.wav", "mic").wait(timeout=60) == 0
    time.sleep(1.5)
    p.terminate()
    o, e = p.communicate(timeout=120)
    assert p.returncode == 0, e
    assert "| mono |" in o and "now: mix speaking" in o and "one channel: no turn-taking" in o, o
    doc = json.loads(out.read_text())
    assert doc["speaker_order"] == ["therapist"] and not doc["turns"], (doc["speaker_order"], doc["turns"])
    assert doc["measures"]["timing"] in ({}, None) or "client" not in doc["measures"]["timing"]


def test_the_batch_pages_first_lines_run_in_one_folder_keep_the_first_table(short_wav, tmp_path):
    """docs/batch.md's first lines as written, in one folder: `prosody batch archive/` then `prosody batch
    'archive/2024/**/*.wav' more/intake.flac` both write `prosody-batch`. The second's table lists recordings the
    first's does not: the first is kept, the second written beside it as prosody-batch.kept-1.csv, one error line,
    exit 1 though every file was analysed. The page said exit 1 only "when any failed"; it now says this case."""
    import os

    from prosody.batch.runner import read_table_csv
    from tests.conftest import REPO, run_cli
    lines = [x.split("#")[0].split() for x in (REPO / "docs" / "batch.md").read_text().splitlines()[3:5]]
    assert lines == [["prosody", "batch", "archive/"],
                     ["prosody", "batch", "'archive/2024/**/*.wav'", "more/intake.flac"]], lines
    (tmp_path / "archive" / "2024" / "a").mkdir(parents=True)
    (tmp_path / "more").mkdir()
    data = short_wav.read_bytes()
    for k, name in enumerate(["archive/s1.wav", "archive/2024/a/s2.wav", "more/intake.flac"]):
        other = bytearray(data)  # three recordings: the audio with its last sample's low bit changed or not
        other[-2] ^= k  # (a WAV named .flac: a file named on the command line is decoded whatever its suffix)
        (tmp_path / name).write_bytes(bytes(other))
    store = ("--store", tmp_path / "store", "--no-progress", "--jobs", "1", "--no-parquet")
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert run_cli("batch", "archive/", *store)[0] == 0
        first = (tmp_path / "prosody-batch.csv").read_bytes()
        rc, out, err = run_cli("batch", "archive/2024/**/*.wav", "more/intake.flac", *store)
    finally:
        os.chdir(here)
    assert rc == 1 and "0 failed" in out, (out, err)
    assert err.count("prosody: error: cannot write --table prosody-batch.csv") == 1, err
    assert "written beside it, as prosody-batch.kept-1.csv" in err, err
    assert (tmp_path / "prosody-batch.csv").read_bytes() == first
    assert sorted(r["file"] for r in read_table_csv(tmp_path / "prosody-batch.csv")) == [
        "archive/2024/a/s2.wav", "archive/s1.wav"]
    assert [r["file"] for r in read_table_csv(tmp_path / "prosody-batch.kept-1.csv")] == [
        "archive/2024/a/s2.wav", "more/intake.flac"]
    page = " ".join((REPO / "docs" / "batch.md").read_text().split())
    assert "1 when any failed (or the table was written beside another, above)" in page
    assert "written beside it as `PATH.kept-1.csv`" in page and "the exit status is 1 though every file" in page
    readme = " ".join((REPO / "README.md").read_text().split())
    assert "the exit status is 1 if any failed (and where the table was written beside another batch's" in readme


def test_the_readme_replay_line_run_in_the_repository_leaves_no_untracked_file(tmp_path, monkeypatch):
    """README: `prosody live --input fixtures/dialogue.flac --speed 1`, run where the README is (the repository),
    saved ./prosody-live-<time>.json and its frames there, which `git status` then showed as new files (walked
    in a fresh clone). The names it writes (here at --speed max) are ignored by the repository's .gitignore, as
    `prosody batch`'s default table is."""
    import fnmatch

    from tests.conftest import FIXTURES, REPO, run_cli
    monkeypatch.chdir(tmp_path)
    rc, _, err = run_cli("live", "--input", FIXTURES / "dialogue.flac", "--speed", "max", "--plain")
    assert rc == 0, err
    written = sorted(p.name for p in tmp_path.iterdir())
    assert len(written) == 2 and written[0].startswith("prosody-live-"), written
    rules = [x[1:] for x in (REPO / ".gitignore").read_text().splitlines() if x.startswith("/")]
    assert all(any(fnmatch.fnmatchcase(name, r) for r in rules) for name in written), (written, rules)
    assert any(x.startswith("prosody live --input fixtures/dialogue.flac") for x in (REPO / "README.md").read_text()
               .splitlines())


# the system tools the tests look for (shutil.which) and the Debian package that installs each; util-linux is
# Essential (on every Debian system), and `prosody` is this project's own console script
_TOOL_PACKAGES = {"espeak-ng": "espeak-ng", "ffmpeg": "ffmpeg", "faketime": "faketime", "tmux": "tmux",
                  "fusefat": "fusefat", "mkfs.vfat": "dosfstools", "mkfs.ext4": "e2fsprogs", "openssl": "openssl",
                  "unshare": None, "setpriv": None, "runuser": None, "prosody": None}


def test_the_readme_test_line_installs_every_tool_a_test_looks_for():
    """README's second line, `bash scripts/test.sh`, "installs what the tests need" (Debian packages, then the
    suite). Walked in a fresh clone: the FAT-stick tests (conftest.py's fat_mount: fusefat, mkfs.vfat) skipped
    on a Debian without fusefat and dosfstools, which the script did not install. Every tool a test looks for
    is now a package of its list (or of Essential util-linux)."""
    import re

    from tests.conftest import REPO
    tools = {m for f in (REPO / "tests").glob("*.py") for m in re.findall(r'which\("([^"]+)"\)', f.read_text())}
    assert {"fusefat", "mkfs.vfat", "espeak-ng"} <= tools
    assert not tools - set(_TOOL_PACKAGES), tools - set(_TOOL_PACKAGES)  # a new tool: name its package above
    script = re.sub(r"#[^\n]*", "", (REPO / "scripts" / "test.sh").read_text())  # its comments hold ( )
    packages = set(re.search(r"APT_PACKAGES=\(([^)]*)\)", script).group(1).split())
    assert {"espeak-ng", "python3-dev"} <= packages, packages  # the whole list, first to last
    assert {_TOOL_PACKAGES[t] for t in tools} - {None} <= packages, packages
