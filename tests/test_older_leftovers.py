"""Older product leftovers (docs/store.md "Older leftovers (2026-12-05)"), each against planted truth.

1. ``timing.longest_monologue_s`` counted a silence inside a floor hold (the live monologue cue ends a
   monologue at a silence of ``cues.monologue_silence_s``, 3 s): a therapist's 8 s silence between two stretches
   of talk made one "longest monologue" of both; the cue's windows did not see a silence older than their
   120 s look-back.
2. A full disk said "cannot access PATH: No space left on device" (open's words) for `export`, `report`, and
   "could not write PATH" for `live`: now that the disk is full, the space left, and what was and was not
   written. Checked on a real full file system: a 256 kB tmpfs filled, mounted in a mount namespace of its own
   (``unshare``), so neither root nor a mount outside the test is needed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from prosody.measures import CueConfig, MeasuresConfig
from prosody.session import analyze_blocks
from tests.conftest import FIXTURES, REPO
from tests.test_measures import CLI, THER, THER_LONG, build, needs

SPK = ("therapist", "client")
T, C = SPK


# -- 1. the session's longest monologue and a silence inside a floor hold --------------------------------------

@pytest.fixture(scope="module")
def silence_in_a_hold():
    """The therapist talks (two long sentences), is silent 8 s (nobody speaks), talks again (three sentences),
    then the client answers once: one floor hold of the therapist with an 8 s silence in it."""
    needs("espeak-ng")
    plan = [(C, CLI[0], 0.0, "turn", {}), (T, THER_LONG[0], 0.6, "turn", {}), (T, THER_LONG[1], 0.4, "turn", {}),
            (T, THER[0], 8.0, "turn", {}), (T, THER_LONG[0], 0.4, "turn", {}), (T, THER_LONG[1], 0.4, "turn", {}),
            (C, CLI[1], 0.6, "turn", {})]
    d = build(plan, seed=5)
    s = analyze_blocks([d.audio], SPK, measures=MeasuresConfig())
    return d, s


def test_a_silence_of_3s_ends_the_sessions_monologue(silence_in_a_hold):
    d, s = silence_in_a_hold
    segs = d.truth.segments(T)
    gaps = [b[0] - a[1] for a, b in zip(segs, segs[1:])]
    k = max(range(len(gaps)), key=gaps.__getitem__)
    assert 7.9 <= gaps[k] <= 8.1 and sorted(gaps)[-2] < 1.0  # planted: one 8 s silence, pauses under 1 s
    before, after = segs[k][1] - segs[0][0], segs[-1][1] - segs[k + 1][0]
    want = max(before, after)  # the longer stretch of talk, not the whole hold (old code: the hold, ~8 s more)
    got = s.measures.timing[T]["longest_monologue_s"]
    assert abs(got - want) <= 0.3, (got, want, segs[-1][1] - segs[0][0])
    # with the bar above the 8 s silence (cues.monologue_silence_s = 9 s) the whole hold is one monologue again
    s2 = analyze_blocks([d.audio], SPK, measures=MeasuresConfig(cues=CueConfig(monologue_silence_s=9.0)))
    assert abs(s2.measures.timing[T]["longest_monologue_s"] - (segs[-1][1] - segs[0][0])) <= 0.3


def test_the_monologue_cue_sees_a_silence_older_than_its_lookback():
    """The cue's rolling windows keep segments for 120 s (``lookback_s``); a floor hold begun before that with
    an 8 s silence in it read "monologue N s" from the hold's start (the silence not seen), not from the speech
    after the silence. Planted: the therapist 5 s, 8 s of nobody, then ~150 s of the therapist's sentences."""
    needs("espeak-ng")
    plan = [(C, CLI[0], 0.0, "turn", {}), (T, THER_LONG[0], 0.6, "turn", {}), (T, THER[1], 8.0, "turn", {})]
    plan += [(T, THER_LONG[i % 2], 0.4, "turn", {}) for i in range(30)] + [(C, CLI[1], 0.6, "turn", {})]
    d = build(plan, seed=6)
    segs = d.truth.segments(T)
    gaps = [b[0] - a[1] for a, b in zip(segs, segs[1:])]
    k = max(range(len(gaps)), key=gaps.__getitem__)
    assert 7.9 <= gaps[k] <= 8.1 and sorted(gaps)[-2] < 1.0
    since = segs[k + 1][0]  # the monologue begins after the silence
    assert segs[-1][1] - since > 130.0 and since < 20.0
    s = analyze_blocks([d.audio], SPK, measures=MeasuresConfig())
    said = [(w.end_s, c["value"]) for w in s.rolling for c in w.cues if c["kind"] == "monologue"]
    late = [(e, v) for e, v in said if e - since > 125.0]  # windows whose look-back begins after the silence
    assert late, said
    for e, v in late:  # before: e - segs[0][0], ~8 s too long in every one of them
        assert abs(v - (e - since)) <= 0.3, (e, v, e - since, e - segs[0][0])
    # `relabel` recomputes the cues from the saved document: exchanged twice, the analysis's own again (with the
    # windows' look-back alone it read the old, longer figures)
    import copy

    from prosody.relabel import relabel
    doc = s.to_json_dict()
    twice, _ = relabel(*relabel(copy.deepcopy(doc), None))
    assert [w["cues"] for w in twice["measures"]["rolling"]] == [w["cues"] for w in doc["measures"]["rolling"]]


# -- 2. a full disk ---------------------------------------------------------------------------------------------

_FULL_SCRIPT = r"""
set -u
mount -t tmpfs -o size=256k tmpfs "$FULL" || exit 97
dd if=/dev/zero of="$FULL/filler" bs=1k count=512 2>/dev/null
p() { "$PY" -c 'import sys; from prosody_cli.main import main; sys.argv[0] = "prosody"; sys.exit(main())' "$@"; }
p analyze "$DLG" --quiet --no-progress --json "$FULL/s.json" --rttm "$FULL/s.rttm" --save --store "$STORE" \
  --therapist ann --client C1 >"$OUT/analyze.out" 2>"$OUT/analyze.err"; echo $? >"$OUT/analyze.rc"
p export 1 --store "$STORE" -o "$FULL/e.json" >"$OUT/export.out" 2>"$OUT/export.err"; echo $? >"$OUT/export.rc"
p report 1 --store "$STORE" -o "$FULL/r.html" >"$OUT/report.out" 2>"$OUT/report.err"; echo $? >"$OUT/report.rc"
p live --input "$DLG" --speed max --plain --output "$FULL/l.json" >"$OUT/live.out" 2>"$OUT/live.err"
echo $? >"$OUT/live.rc"
ls -A "$FULL" >"$OUT/full.ls"
"""


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory):
    """The CLI writing onto a full 256 kB tmpfs: (folder, outputs by name)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare is not installed")
    base = tmp_path_factory.mktemp("fulldisk")
    for d in ("full", "out", "xdg"):
        (base / d).mkdir()
    env = {**os.environ, "FULL": str(base / "full"), "OUT": str(base / "out"), "STORE": str(base / "store"),
           "DLG": str(FIXTURES / "dialogue.flac"), "PY": sys.executable, "XDG_DATA_HOME": str(base / "xdg"),
           "PYTHONPATH": os.pathsep.join([str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                        if p])}
    env.pop("PROSODY_STORE", None)
    flags = ["-m"] if os.geteuid() == 0 else ["-r", "-m"]
    r = subprocess.run([unshare, *flags, "sh", "-c", _FULL_SCRIPT], env=env, capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        pytest.skip(f"no tmpfs could be mounted here (unshare {' '.join(flags)}: {r.stderr.strip()[:200]})")
    return base, {f.name: f.read_text() for f in (base / "out").iterdir()}


def test_a_full_disk_is_said_with_what_was_saved(full_disk):
    base, o = full_disk
    full = base / "full"
    assert o["full.ls"].split() == ["filler"]  # nothing half-written on the full disk
    # analyze: the session saved in the store (another disk), the two outputs said unwritten, each in words
    assert o["analyze.rc"].strip() == "1"
    assert o["analyze.err"].splitlines() == [f"prosody: saved as session 1 in {base / 'store'}"] + [
        f"prosody: error: cannot write {full / name}: the disk holding it is full, 0 bytes free; it was not written"
        for name in ("s.json", "s.rttm")]
    # export and report: the file asked for is named (export: was its frames file) and said not written
    for cmd, name in (("export", "e.json"), ("report", "r.html")):  # before: cannot access ...: No space left ...
        assert o[f"{cmd}.rc"].strip() == "1"
        assert o[f"{cmd}.err"] == (f"prosody: error: cannot write {full / name}: the disk holding it is full, "
                                   "0 bytes free; it was not written\n"), cmd
    # live --input: saved in the rescue folder, and why not where asked; the saved file is the session
    rescue = base / "xdg" / "prosody-rescue" / "l.json"
    assert o["live.rc"].strip() == "1"
    assert o["live.err"].splitlines()[0] == (
        f"prosody: error: could not write {full / 'l.json'}: the disk holding it is full, 0 bytes free; the session "
        f"is saved in {rescue} instead")  # before: "could not write PATH; the session is saved in ..."
    assert f"saved {rescue} (40.2 s analysed" in o["live.out"]
    doc = json.loads(rescue.read_text())
    assert abs(doc["duration_s"] - 40.2) < 0.1 and len(doc["segments"]) >= 10


# -- 3. a note on a moment: its kind and time; its label after a relabel ------------------------------------

def _moments(store) -> list[dict]:
    from tests.conftest import run_cli
    rc, out, err = run_cli("moments", "1", "--store", store, "--json")
    assert rc == 0, err
    return json.loads(out)


def test_a_note_stays_on_its_moment_and_its_label_follows_a_relabel(tmp_path):
    """The fixture dialogue (planted therapist talk-over at 27.64 s) saved, a bookmark set at the talk-over's
    start: a note on the bookmark went to the talk-over (the first moment within 0.05 s, whatever its kind); a
    note on the talk-over kept "talked over the client" after `relabel` made it the client's."""
    from prosody.store.db import Store
    from tests.conftest import run_cli
    store = tmp_path / "store"
    assert run_cli("analyze", FIXTURES / "dialogue.flac", "--save", "--store", store, "--quiet",
                   "--no-progress")[0] == 0
    (over,) = [m for m in _moments(store) if m["kind"] == "interruption"]
    assert abs(over["start_s"] - 27.64) < 0.1  # planted
    with Store(store) as st:
        st.add_bookmark(1, over["start_s"], "")
    ms = _moments(store)
    (bk,) = [m for m in ms if m["kind"] == "bookmark"]
    (over,) = [m for m in ms if m["kind"] == "interruption"]  # ranked after the bookmark now
    assert run_cli("note", "1", "on the bookmark", "--moment", bk["rank"], "--store", store)[0] == 0
    assert run_cli("note", "1", "on the talk-over", "--moment", over["rank"], "--store", store)[0] == 0
    by_kind = {m["kind"]: m["what"] for m in _moments(store)}
    # before: both notes on the talk-over ("... · note: on the bookmark · note: on the talk-over")
    assert by_kind["bookmark"].endswith("· note: on the bookmark"), by_kind
    ov = over["numbers"]["overlap_s"]  # the headline says the moment's own figure (walk59: "0.7 s" beside 0.69)
    assert by_kind["interruption"].endswith(
        f"took the floor ({ov:g} s of talking at once) · note: on the talk-over"), by_kind
    # relabel: the talk-over is the client's now; the note's label says so and it is no therapist moment's
    assert run_cli("relabel", "1", "--store", store)[0] == 0
    rc, out, _ = run_cli("show", "1", "--store", store)
    assert rc == 0 and "(the client talked over you at 27.6 s)" in out and "(talked over the client" not in out
    assert "(bookmark at 27.6 s)" in out
    ms = _moments(store)
    assert not any(m["kind"] == "interruption" and abs(m["start_s"] - 27.64) < 0.1 for m in ms)
    assert [m["what"] for m in ms if m["kind"] == "note"] == ["on the talk-over"]  # on its own, not on another
    # relabelled back: the label as written, the note on the talk-over again
    assert run_cli("relabel", "1", "--store", store)[0] == 0
    rc, out, _ = run_cli("show", "1", "--store", store)
    assert "(talked over the client at 27.6 s)" in out and "talked over you" not in out
    by_kind = {m["kind"]: m["what"] for m in _moments(store)}
    assert by_kind["interruption"].endswith("· note: on the talk-over") and "note" not in by_kind


# -- 4. --voices 1 on a recording of two voices ---------------------------------------------------------------

def test_voices_1_on_two_voices_says_the_count_may_be_wrong(tmp_path):
    """The fixture dialogue (planted: a therapist and a client) as a mono mix, told --voices 1: one voice, as told,
    and (before: nothing more) that the audio alone gives two voices, in the warning and in trend's and compare's
    captions. Its therapist channel alone, told --voices 1: no such word (one voice there)."""
    import soundfile as sf
    from tests.conftest import run_cli
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    sf.write(tmp_path / "mono.wav", x.mean(axis=1), sr, subtype="PCM_16")
    sf.write(tmp_path / "left.wav", x[:, 0], sr, subtype="PCM_16")
    store = tmp_path / "store"
    said = {}
    for name in ("mono", "left"):
        rc, out, err = run_cli("analyze", tmp_path / f"{name}.wav", "--voices", "1", "--save", "--store", store,
                               "--therapist", "ann", "--client", "C1", "--quiet", "--no-progress")
        assert rc == 0, err
        said[name] = [ln for ln in err.splitlines() if "--voices 1" in ln]
    (w,) = said["mono"]
    assert w.startswith("prosody: warning: one voice, as told by --voices 1: turn-taking measures need two voices; "
                        "but the audio sounds like two people: analysed without --voices 1 it splits into two voices ")
    assert "the count told may be wrong" in w
    share = float(w.split("the second holding ")[1].split(" %")[0])
    assert 30 <= share <= 50  # planted: the client holds 37 % of the talk (talk share 0.626 the therapist's)
    assert said["left"] == ["prosody: warning: one voice, as told by --voices 1: turn-taking measures need two voices"]
    for cmd in (("trend", "--therapist", "ann"), ("compare", "1", "2")):
        rc, out, err = run_cli(*cmd, "--store", store)
        assert rc == 0, err
        flat = " ".join(out.split())
        assert "session 1: told one voice (--voices 1), but the audio sounds like two people: the count told may be " \
               "wrong" in flat, flat
        assert "session 2: told one voice" not in flat and "sessions 1, 2: told" not in flat


# -- 5. bidi overrides in the CSVs ------------------------------------------------------------------------------

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_bidi_overrides_in_the_batch_table_are_escapes_and_read_back(tmp_path, short_wav):
    """A batch of the fixture's first 8 s under a file name with U+202E, a therapist ``ann<U+202E>evil``, tags
    with an isolate and a formula: the table's CSV held the overrides raw (a spreadsheet showed the cells'
    text reordered); now as the terminal's and JSON's escapes (``\\u202e``), the formula still guarded, and
    ``read_table_csv`` gives back what was typed."""
    from prosody.batch.runner import read_table_csv
    from tests.conftest import run_cli
    rec = tmp_path / "rec\u202ewav.8s.wav"
    shutil.copy(short_wav, rec)
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,therapist,client,tags\n"
                        f'"{rec}",ann\u202eevil,C\u20661,"in\u2067take;=cmd\u2069"\n', encoding="utf-8")
    rc, out, err = run_cli("batch", manifest, "--store", tmp_path / "st", "--table", tmp_path / "t",
                           "-j", "1", "--no-progress", "--no-parquet")
    assert rc == 0, err
    text = (tmp_path / "t.csv").read_bytes().decode("utf-8")
    assert not any(c in text for c in BIDI)  # before: every one raw
    assert ",ann\\u202eevil,C\\u20661," in text and ",'=cmd\\u2069;in\\u2067take," in text  # tags sorted
    assert "rec\\u202ewav.8s.wav" in text
    (row,) = read_table_csv(tmp_path / "t.csv")
    assert (row["therapist"], row["client"], row["tags"]) == ("ann\u202eevil", "C\u20661", "=cmd\u2069;in\u2067take")
    assert row["file"] == str(rec)


def test_the_bidi_escape_is_undone_exactly():
    import random
    from prosody.typed_text import from_spreadsheet_cell, spreadsheet_cell
    rnd = random.Random(5)
    alphabet = "\\u202e6=;,'ab" + BIDI
    for _ in range(20000):
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
        cell = spreadsheet_cell(s)
        assert from_spreadsheet_cell(cell) == s and not any(c in cell for c in BIDI), (s, cell)
    # typed escapes' text and backslashes before an override keep their meaning
    assert spreadsheet_cell("\\u202e") == "\\\\u202e" and spreadsheet_cell("a\\\u202e") == "a\\\\\\u202e"
    assert spreadsheet_cell("C:\\u202Ex\\y") == "C:\\u202Ex\\y"  # no escape of ours: left as typed


# -- 6. one voice alone on separate channels, a profile that cannot name it ---------------------------------------

def test_a_lone_channel_the_profile_cannot_name_is_nobodys(tmp_path):
    """AMI FEE078 alone on channel 1 of a stereo file (channel 2 digital silence), FEE083 enrolled as the
    therapist (0.28 from FEE078's voice: neither near nor clearly another's). A lone diarized voice is then left
    ``unattributed`` (hostile sweep 21); the separate channels kept the default order, channel 1 the therapist's,
    said uncertain, and every figure was the therapist's. Now the channel is read alone and its voice is
    nobody's; with FEE078's own profile (from her other half) she is the therapist as before."""
    import soundfile as sf
    from prosody.store.db import Store
    from prosody.types import UNATTRIBUTED
    from tests.conftest import ami_lone_voices, run_cli
    ami = ami_lone_voices(("FEE078", "FEE083"))
    x = ami["FEE078"][1]
    sf.write(tmp_path / "st.wav", np.stack([x, np.zeros_like(x)], axis=1), 16000, subtype="PCM_16")
    store = tmp_path / "store"
    for who in ("FEE083", "FEE078"):
        with Store(store) as st:
            st.save_profile("ann", ami[who][0].to_dict(), source=f"{who}, first half")
        rc, out, err = run_cli("analyze", tmp_path / "st.wav", "--profile", "ann", "--store", store, "--quiet",
                               "--no-progress", "--json", tmp_path / f"{who}.json")
        assert rc == 0, err
        doc = json.loads((tmp_path / f"{who}.json").read_text())
        if who == "FEE083":  # before: ["therapist", "client"], "which channel is the therapist is uncertain"
            assert doc["speaker_order"] == [UNATTRIBUTED], doc["speaker_order"]
            assert "whose voice this is is unsure" in err and "uncertain" not in err, err
            assert doc["attribution"]["layout_detection"]["evidence"]["live_channel"] == 1
        else:
            assert doc["speaker_order"] == ["therapist", "client"] and "unsure" not in err, err
