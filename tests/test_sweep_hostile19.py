"""Hostile sweep 19 (2026-12-05): the supervisor's weeks -- `compare`, `trend`, `moments`, `play`, `note`,
`feedback`, `report` over a trainee's sessions (docs/store.md, "Hostile sweep 19"). The probes ran outside the
suite; here each defect found is planted once, and each test fails on the code before the sweep's fix."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta

import numpy as np
import soundfile as sf

from tests.conftest import FIXTURES, REPO, one_line_error, run_cli

DIALOGUE = FIXTURES / "dialogue.flac"


def _saved(store, *extra) -> None:
    rc, _, err = run_cli("analyze", DIALOGUE, "--save", "--store", store, "--quiet", "--no-progress", *extra)
    assert rc == 0, err


def _cells(out: str, label: str) -> list[str]:
    """The cells of the terminal compare table's row ``label``."""
    line = next(ln for ln in out.splitlines() if ln.startswith(label + " "))
    return [c.strip() for c in line.split("│")[1:]]


def test_compare_says_whose_sessions_it_sets_side_by_side(tmp_path):
    """Planted: the fixture dialogue saved for therapist ann and for therapist bob, same client, same day. The
    terminal `compare` had rows for the client and the speakers only: the two columns read as one therapist's two
    sessions (the page has a therapist row). It now names each session's therapist and number."""
    store = tmp_path / "st"
    _saved(store, "--therapist", "ann", "--client", "c1", "--date", "2026-10-01T10:00")
    _saved(store, "--therapist", "bob", "--client", "c1", "--date", "2026-10-01T11:00", "--session-number", "7")
    rc, out, err = run_cli("compare", "1", "2", "--store", store)
    assert rc == 0, err
    assert _cells(out, "therapist") == ["ann", "bob"], out
    assert _cells(out, "session no.") == ["1", "7"], out
    assert _cells(out, "client") == ["c1", "c1"], out


def test_notes_are_numbered_in_the_order_they_were_stored_when_the_clock_goes_back(tmp_path, monkeypatch):
    """Notes follow the ranked moments "in the order they were written", read from the time each `note` took from
    the clock, before its write. A note written after the clock was set back an hour (or after notes imported from
    a machine whose clock ran ahead) took a place before the older notes: every note after it was renumbered (the
    supervisor's "#2" became "#3"); two `note` at once were numbered by when each read the clock, not the order they
    were stored (8 at once: 7 of 8 out of place). A new note now always follows the session's notes."""
    import prosody.store.db as db
    from prosody.moments import moments
    from prosody.store.db import Store
    store = tmp_path / "st"
    _saved(store)
    with Store(store) as st:
        st.add_note(1, "first", time_s=20.0)
        real = datetime

        class SetBack(datetime):
            @classmethod
            def now(cls, tz=None):
                return real.now(tz) - timedelta(hours=1)

        monkeypatch.setattr(db, "datetime", SetBack)
        st.add_note(1, "after the clock was set back", time_s=5.0)
        monkeypatch.setattr(db, "datetime", real)
        st.add_note(1, "imported", time_s=30.0)
        ahead = (real.now() + timedelta(days=2)).astimezone().isoformat(timespec="seconds")  # with its zone
        with st.db:
            st.db.execute("UPDATE notes SET created_at = ? WHERE text = 'imported'", (ahead,))  # a clock ahead
        st.add_note(1, "written here next", time_s=10.0)
        stored = st.get(1)
        texts = [m.what for m in moments(stored.doc, notes=stored.notes) if m.kind == "note"]
    assert texts == ["first", "after the clock was set back", "imported", "written here next"], texts


def test_trend_charts_say_the_year_when_the_sessions_span_years(tmp_path):
    """Planted: sessions dated 1969-12-31, 2026-10-01, 2026-10-08 and 2027-06-01. The trend page's charts labelled
    each point by month and day alone: "12-31" stood before "10-01" and "06-01" closed the line as if it came
    next; ten years of sessions repeated "01-01". Where the sessions lie in more than one year the labels now carry
    it, and the last one is not cut at the chart's edge ("2027-06-0")."""
    import re
    store = tmp_path / "st"
    for day in ("1969-12-31", "2026-10-01", "2026-10-08", "2027-06-01"):
        _saved(store, "--therapist", "ann", "--date", day + "T10:00")
    page = tmp_path / "t.html"
    rc, _, err = run_cli("trend", "--therapist", "ann", "--store", store, "-o", page)
    assert rc == 0, err
    html = page.read_text()
    chart = html[html.index("<h3>Warmth"):]
    chart = chart[:chart.index("</svg>")]
    labels = re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)">(\d{4}-\d\d-\d\d|\d\d-\d\d)</text>', chart)
    assert [t for _, _, t in labels] == ["1969-12-31", "2026-10-01", "2026-10-08", "2027-06-01"], labels
    x, anchor, _ = labels[-1]
    assert anchor == "end", labels  # ends at its tick, inside the chart
    one_year = tmp_path / "one"
    for day in ("2026-10-01", "2026-10-08"):
        _saved(one_year, "--therapist", "ann", "--date", day)
    rc, _, err = run_cli("trend", "--therapist", "ann", "--store", one_year, "-o", tmp_path / "o.html")
    assert rc == 0, err
    assert ">10-01</text>" in (tmp_path / "o.html").read_text()  # within a year: month and day, as before


def test_a_page_is_never_written_over_a_saved_session(tmp_path):
    """`report 9 -o s1.json` (and `compare`, `trend`) replaced the exported session the store's session 9 was
    imported from, and its frames file, with an HTML page: the export (notes, feedback) was lost. A live session's
    file was refused already; any saved session (analysed with --json, exported) is now, in one line."""
    store = tmp_path / "st"
    _saved(store, "--therapist", "ann")
    js, npz = tmp_path / "s1.json", tmp_path / "s1.frames.npz"
    assert run_cli("export", "1", "--store", store, "-o", js)[0] == 0
    before = js.read_bytes(), npz.read_bytes()
    for argv in (("report", "1", "-o", js), ("report", "1", "-o", npz), ("compare", "1", "-o", js),
                 ("trend", "--therapist", "ann", "-o", js)):
        rc, out, err = run_cli(*argv, "--store", store)
        one_line_error(rc, err)
        assert "saved session" in err and "HTML page" in err, err
    assert (js.read_bytes(), npz.read_bytes()) == before
    rc, _, err = run_cli("export", "1", "--store", store, "-o", js)  # an export again over it: as before
    assert rc == 0, err
    rc, _, err = run_cli("report", "1", "--store", store, "-o", tmp_path / "r.html")
    assert rc == 0, err
    rc, _, err = run_cli("report", "1", "--store", store, "-o", tmp_path / "r.html")  # a page over a page: as before
    assert rc == 0, err


def test_play_plays_every_sample_of_the_stretch(tmp_path, pulse):
    """`play 1 1` into a PulseAudio null sink, its monitor recorded (a stream of zeros keeps the sink running).
    Planted: the fixture dialogue's talk-over at 27.6 s, played 24.63-31.32 s (107,040 samples). Before, the first
    1,478 samples (92 ms) and the last ~27 ms never came out (3 of 3 plays; what came out was bit-identical); the
    stretch now goes out between 0.1 s of silence, and every sample comes out, in place."""
    store = tmp_path / "st"
    rec = tmp_path / "in.wav"
    x, sr = sf.read(DIALOGUE, dtype="float32")
    sf.write(rec, x, sr, subtype="FLOAT")  # played back as stored: compared sample for sample
    rc, _, err = run_cli("analyze", rec, "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err
    rc, out, err = run_cli("moments", "1", "--json", "--store", store)
    m = json.loads(out)[0]
    assert m["kind"] == "interruption" and abs(m["start_s"] - 27.638) < 0.05, m  # the planted talk-over
    a, b = int(round((m["start_s"] - 3.0) * sr)), int(round((max(m["end_s"], m["start_s"]) + 3.0) * sr))
    pulse.null_sink("out", rate_hz=sr, channels=2)
    raw = tmp_path / "out.raw"
    zeros = subprocess.Popen(["pacat", "--playback", "-d", "out", "--format=float32le", f"--rate={sr}",
                              "--channels=2"], stdin=open("/dev/zero", "rb"), env=pulse.env)
    try:
        time.sleep(0.5)
        cap = subprocess.Popen(["parec", "-d", "out.monitor", f"--rate={sr}", "--channels=2", "--format=float32le",
                                str(raw)], env=pulse.env)
        time.sleep(0.5)
        env = dict(pulse.env, PYTHONPATH=str(REPO))
        res = subprocess.run([sys.executable, "-c", "import sys; from prosody_cli.main import main; sys.exit(main())",
                              "play", "1", "1", "--store", str(store), "--device", "out"],
                             env=env, capture_output=True, text=True, timeout=60)
        time.sleep(0.7)
        cap.terminate()
        cap.wait(timeout=10)
    finally:
        zeros.terminate()
        zeros.wait(timeout=10)
    assert res.returncode == 0, res.stderr
    y = np.fromfile(raw, np.float32).reshape(-1, 2)
    want = x[a:b]
    sound = np.flatnonzero(np.abs(y).max(axis=1) > 0)
    assert len(sound) and sound[-1] + 1 - sound[0] <= len(want), "more came out than the stretch"
    whole = [k for k in np.flatnonzero((y == want[0]).all(axis=1)) if np.array_equal(y[k:k + len(want)], want)]
    assert whole, f"the stretch did not come out whole: {sound[-1] + 1 - sound[0]} of {len(want)} samples sounded"


def test_trend_says_why_a_session_of_one_voice_or_of_no_speech_has_no_turn_figures(tmp_path):
    """Planted: the fixture dialogue mixed to mono and saved with `--voices 1` (one voice, as told), and 30 s of
    digital silence in stereo, beside the dialogue as recorded. `trend` showed the first with dashes for talk, waits
    and talk-overs and the second with dashes and a talk-over rate of 0.0, and said why of neither (it says why of
    an unsure session's dashes). The caption now names each."""
    store = tmp_path / "st"
    x, sr = sf.read(DIALOGUE, dtype="float32")
    mono, silent = tmp_path / "mono.wav", tmp_path / "silent.wav"
    sf.write(mono, x.mean(axis=1), sr)
    sf.write(silent, np.zeros((30 * sr, 2), np.float32), sr)
    _saved(store, "--therapist", "ann", "--date", "2026-10-01")
    for path, extra, day in ((mono, ("--voices", "1"), "2026-10-08"), (silent, (), "2026-10-15")):
        rc, _, err = run_cli("analyze", path, "--save", "--store", store, "--quiet", "--no-progress",
                             "--therapist", "ann", "--date", day, *extra)
        assert rc == 0, err
    rc, out, err = run_cli("trend", "--therapist", "ann", "--store", store)
    assert rc == 0, err
    said = " ".join(out.split())
    assert "session 2: one voice, so no talk share, waits or talking over" in said, out
    assert "session 3: no speech found" in said, out
    assert "session 1:" not in said, out


def test_compare_shows_the_sessions_by_date_and_says_so_when_given_otherwise(tmp_path):
    """Planted: three sessions dated 2027-06-01 (saved first), 1969-12-31 and 2026-10-01. `compare 1 2 3` showed
    them in the order given, so the table and the page's charts ran 2027, 1969, 2026 (the walk-through's "found,
    not fixed"); `trend` sorts by date. They are shown by date now, the earliest first, with a note when the
    order given was another."""
    store = tmp_path / "st"
    for day in ("2027-06-01", "1969-12-31", "2026-10-01"):
        _saved(store, "--therapist", "ann", "--date", day + "T10:00")
    page = tmp_path / "c.html"
    rc, out, err = run_cli("compare", "1", "2", "3", "--store", store, "-o", page)
    assert rc == 0, err
    head = next(ln for ln in out.splitlines() if ln.startswith("measure"))
    assert [c.strip() for c in head.split("┃")[1:]] == ["#2 1969-12-31", "#3 2026-10-01", "#1 2027-06-01"], out
    assert out.startswith("compare: sessions 2, 3, 1"), out
    assert "sessions shown by date, the earliest first (2, 3, 1), not in the order given" in err, err
    html = page.read_text()
    assert html.index("#2 1969-12-31") < html.index("#3 2026-10-01") < html.index("#1 2027-06-01")
    rc, out, err = run_cli("compare", "2", "3", "1", "--store", store)
    assert rc == 0 and "order given" not in err, err


def test_warmth_relative_to_a_baseline_profile_is_marked_apart_from_a_sessions_own(tmp_path):
    """Planted: the fixture dialogue saved twice, once scored against its own baseline and once with `--baseline`
    (a profile written from its mono mix). The same voice scored 68 and 62, and `compare` set both in one row
    "Warmth (own baseline)", `trend` in one column, the page's chart on one line. The profile-relative score is
    now marked (†) and said in the caption, and drawn as its own series."""
    store, base = tmp_path / "st", tmp_path / "base.json"
    x, sr = sf.read(DIALOGUE, dtype="float32")
    mono = tmp_path / "mono.wav"
    sf.write(mono, x.mean(axis=1), sr)
    rc, _, err = run_cli("analyze", mono, "--quiet", "--no-progress", "--save-baseline", base)
    assert rc == 0, err
    _saved(store, "--therapist", "ann", "--date", "2026-10-01")
    _saved(store, "--therapist", "ann", "--date", "2026-10-08", "--baseline", base)
    rc, out, err = run_cli("compare", "1", "2", "--store", store, "-o", tmp_path / "c.html")
    assert rc == 0, err
    own, prof = _cells(out, "Warmth (own baseline)")
    assert own.endswith("/ 100") and prof.endswith("/ 100 †") and own != prof.removesuffix(" †"), out
    assert "† warmth relative to a personal baseline profile (--baseline)" in " ".join(out.split()), out
    rc, out, err = run_cli("trend", "--therapist", "ann", "--store", store, "-o", tmp_path / "t.html")
    assert rc == 0, err
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln[:3].strip() in ("1", "2") and "%" in ln}
    assert rows["2"][-3].endswith("†") and not rows["1"][-3].endswith("†"), out  # warmth, SRS, rate
    page = (tmp_path / "t.html").read_text()
    assert "Warmth relative to a personal baseline profile" in page and "warmth († baseline profile)" in page


def test_feedback_says_the_rating_it_replaces(tmp_path):
    """A second `feedback --rating` (or `--srs`) of a session replaces the first, as documented, but said only
    the new one: a rating typed on the wrong session, then again, lost the first without a word. The line now
    names the one replaced; the first of a kind says nothing more."""
    store = tmp_path / "st"
    _saved(store)
    rc, out, err = run_cli("feedback", "1", "--rating", "4", "--store", store)
    assert rc == 0 and out == "session 1: client rating 4/5\n", (out, err)
    rc, out, err = run_cli("feedback", "1", "--srs", "9,8,9,10", "--store", store)
    assert rc == 0 and out == "session 1: client SRS 9/8/9/10 (total 36/40)\n", (out, err)
    rc, out, err = run_cli("feedback", "1", "--rating", "2", "--store", store)
    assert rc == 0 and out.startswith("session 1: client rating 2/5 (replacing the rating 4/5 given "), (out, err)
    from prosody.store.db import Store
    with Store(store) as st:
        assert sorted((f.kind, f.total) for f in st.get(1).feedback) == [("rating", 2), ("srs", 36)]


def test_trend_cuts_a_long_pseudonym_not_the_session_number(tmp_path):
    """The trend's client column is 10 characters wide: a pseudonym of 8 or more ("client-abcdef") pushed
    the session number out of it ("client-a…", no "#3"), so two sessions of the client read alike. The pseudonym
    is cut."""
    store = tmp_path / "st"
    for n, day in ((3, "2026-10-01"), (4, "2026-10-08")):
        _saved(store, "--therapist", "ann", "--client", "client-abcdef", "--session-number", str(n), "--date", day)
    rc, out, err = run_cli("trend", "--therapist", "ann", "--store", store)
    assert rc == 0, err
    cells = [ln[16:28].strip() for ln in out.splitlines() if ln[:3].strip() in ("1", "2") and "%" in ln]
    assert cells == ["client… #3", "client… #4"], out
