"""Reviewing a session (issue 12): moments found at planted times, plain wording
that fits 80 columns, supervisor notes round-trip, clips cut at the right
samples, playback through a PulseAudio null sink."""
from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from rich.console import Console

from prosody.clips import Audio, audio_record, clip_span, encode_clip, locate
from prosody.formats.bundle import Bookmark, SessionMeta
from prosody.formats.export import read_export, write_export
from prosody.moments import MomentsConfig, count_by_kind, moments
from prosody.session import analyze_blocks
from prosody.store.db import Store

REPO = Path(__file__).resolve().parents[1]
PROSODY = [sys.executable, "-m", "prosody_cli.main"]
TOL_S = 0.3


# -- planted dialogue -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planted():
    """Therapist monologue (4 long sentences), two interruptions of the client by
    the therapist, a 7 s silence broken by the client, then three quick answers
    (0.08 s) by the therapist in a row."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")
    from tests.dialogue import (CLIENT, CLIENT_SENTENCES, THERAPIST, THERAPIST_INTERRUPTIONS,
                                THERAPIST_LONG_SENTENCES, THERAPIST_SENTENCES, _Planner, build_dialogue)
    p = _Planner(seed=3)
    T, C = THERAPIST, CLIENT
    mono = [p.turn(T, p.pick(T, THERAPIST_LONG_SENTENCES), 0.7) for _ in range(4)]
    p.turn(C, p.pick(C, CLIENT_SENTENCES, min_s=1.7), 0.6)
    i1 = p.interruption(T, p.pick(T, THERAPIST_INTERRUPTIONS), 0.7)
    p.turn(C, p.pick(C, CLIENT_SENTENCES, min_s=1.7), 0.6)
    i2 = p.interruption(T, THERAPIST_INTERRUPTIONS[1] if i1.text == THERAPIST_INTERRUPTIONS[0]
                        else THERAPIST_INTERRUPTIONS[0], 0.8)
    silence_start = p.floor_end_s
    broke = p.turn(C, p.pick(C, CLIENT_SENTENCES), 7.0)
    p.turn(T, p.pick(T, THERAPIST_SENTENCES), 0.8)
    quick = []
    for _ in range(3):
        p.turn(C, p.pick(C, CLIENT_SENTENCES), 0.6)
        quick.append(p.turn(T, p.pick(T, THERAPIST_SENTENCES), 0.08))
    d = build_dialogue(p.utterances, seed=3)
    session = analyze_blocks([d.audio], ("therapist", "client"), sources=["planted"])
    truth = {"monologue": (mono[0].start_s, p._end(mono[-1])),
             "interruptions": [i1.start_s, i2.start_s],
             "silence": (silence_start, broke.start_s),
             "quick": quick[-1].start_s}
    return d, session, truth


CFG = MomentsConfig(monologue_min_s=10.0, silence_min_s=4.0, min_gap_s=0.0, max_per_kind=5, max_total=30)


def test_moments_found_at_planted_times(planted):
    d, session, truth = planted
    ms = moments(session.to_json_dict(), cfg=CFG)
    by = {}
    for m in ms:
        by.setdefault(m.kind, []).append(m)
    mono = by["monologue"]
    assert len(mono) == 1
    assert abs(mono[0].start_s - truth["monologue"][0]) < TOL_S and abs(mono[0].end_s - truth["monologue"][1]) < TOL_S
    starts = sorted(m.start_s for m in by["interruption"])
    assert len(starts) == 2 and all(abs(a - b) < TOL_S for a, b in zip(starts, truth["interruptions"]))
    sil = by["silence"]
    assert len(sil) == 1 and abs(sil[0].start_s - truth["silence"][0]) < TOL_S
    assert abs(sil[0].end_s - truth["silence"][1]) < TOL_S and "broken by the client" in sil[0].what
    assert len(by["quick_answers"]) == 1 and by["quick_answers"][0].numbers[0] == ("answers", 3.0)
    # ranked: scores descending, ranks 1..n, every moment says why
    assert [m.rank for m in ms] == list(range(1, len(ms) + 1))
    assert all(a.score >= b.score for a, b in zip(ms, ms[1:])) and all("score" in m.why for m in ms)


def test_ranking_is_configurable(planted):
    _, session, truth = planted
    doc = session.to_json_dict()
    only = moments(doc, cfg=MomentsConfig(monologue_min_s=10.0, silence_min_s=4.0, min_gap_s=0.0,
                                          weights=(("silence", 5.0), ("interruption", 0.0))))
    assert only[0].kind == "silence" and not any(m.kind == "interruption" for m in only)
    capped = moments(doc, cfg=MomentsConfig(monologue_min_s=10.0, silence_min_s=4.0, max_per_kind=1, min_gap_s=0.0))
    assert max(count_by_kind(capped).values()) == 1
    spaced = moments(doc, cfg=MomentsConfig(monologue_min_s=10.0, silence_min_s=4.0, min_gap_s=15.0, max_total=3))
    assert len(spaced) <= 3 and all(abs(a.start_s - b.start_s) >= 15.0 for a in spaced for b in spaced if a is not b)
    toml = '[moments]\nmax_total = 2\nweights = { silence = 3.0 }\n[vad]\naggressiveness = 2\n'
    cfg = MomentsConfig.from_toml(toml)
    assert cfg.max_total == 2 and cfg.weight("silence") == 3.0 and cfg.weight("monologue") == 0.9
    from prosody.errors import ConfigError
    with pytest.raises(ConfigError, match="unknown kind"):
        MomentsConfig.from_dict({"weights": {"laughter": 1.0}})


def test_bookmarks_and_notes_are_moments():
    doc = {"schema": "prosody.session/2", "duration_s": 100.0, "speaker_order": ["therapist", "client"],
           "speakers": {}, "segments": [], "turn_taking": False}
    from prosody.formats.bundle import Note
    ms = moments(doc, bookmarks=[Bookmark(12.5, "tears")], notes=[Note(40.0, "<i>listen</i>", author="sup")])
    # a note follows the ranked list (adding one renumbers no moment: tests/test_leftovers.py)
    assert [(m.rank, m.kind, m.start_s) for m in ms] == [(1, "bookmark", 12.5), (2, "note", 40.0)]
    assert "<i>listen</i>" in ms[1].what  # data; escaped where shown


# -- wording fits 80 columns -------------------------------------------------------------------------------------
def _render(renderable, width=80) -> list[str]:
    c = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    c.print(renderable)
    return c.export_text().splitlines()


def test_terminal_views_fit_80_columns(fixture_dialogue, tmp_path):
    from cli.sessions import compare_view, show_view, trend_view
    from cli.view import summary_view
    audio, _ = fixture_dialogue
    s = analyze_blocks([audio], ("therapist", "client"), sources=["fixtures/dialogue.flac"])
    doc = s.to_json_dict()
    lines = _render(summary_view(doc))
    assert max(map(len, lines)) <= 80
    text = "\n".join(lines)
    assert "Pitch raised above your baseline:" in text and "of your speech" in text
    assert "You talked over the client" in text and "times per 10 min" in text and "semitones" in text
    # each measure row is one line holding its label and both values; its direction follows on the next line
    for label in ("Share of the talking", "Wait before answering", "Talked over the other", "Pitch range"):
        row = next(i for i, x in enumerate(lines) if x.startswith(label))
        assert len(lines[row].split()) >= len(label.split()) + 2 and lines[row + 1].lstrip().startswith("↳")
    with Store(tmp_path / "st") as st:
        for day in (1, 2, 3):
            st.save(doc, None, meta=SessionMeta(therapist="ann", client="C7", recorded_at=f"2024-05-0{day}T10:00"))
        st.add_note(1, "a [red]note[/red]", time_s=3.0)
        infos = st.list()
        metrics = st.metrics([i.id for i in infos])
        for i in infos:
            metrics[i.id]["moments.interruption"] = 2.0
        for view in (show_view(st.get(1)), compare_view(infos, metrics, notes={1: st.notes(1)}),
                     trend_view(infos, metrics, title="trend: ann")):
            out = _render(view)
            assert max(map(len, out)) <= 80, "\n".join(out)
        # table rows of compare and trend do not wrap: one line per row (and per table: sessions that do
        # not fit beside the measure column with their values whole go into a further table)
        cmp_view = compare_view(infos, metrics, notes={1: st.notes(1)})
        cmp_lines = _render(cmp_view)
        assert sum(1 for x in cmp_lines if x.startswith("Therapist: share of the talking")) == \
            len(cmp_view.chunks(80))
        assert len(_render(cmp_view, width=120)) < len(cmp_lines) and len(cmp_view.chunks(120)) == 1
        assert any(x.startswith("Moments: talked over the client") for x in cmp_lines)
        tr = _render(trend_view(infos, metrics, title="trend: ann"))
        assert sum(1 for x in tr if x.strip().startswith(("1 ", "2 ", "3 "))) == 9  # 3 rows + 3 voice-quality rows + 3 moment rows
        assert "a [red]note[/red]" in "\n".join(_render(show_view(st.get(1))))  # typed text, no markup


def test_compare_of_many_sessions_keeps_the_measure_column(fixture_dialogue, tmp_path):
    """`prosody compare 1 2 3 4 5 6 7`: the measure names stay, at 80 columns and at 250; sessions that
    do not fit beside them go into a further table with the measure column again, none is lost."""
    from cli.sessions import compare_view
    audio, _ = fixture_dialogue
    doc = analyze_blocks([audio[: 30 * 16000]], ("therapist", "client"), sources=["d.flac"]).to_json_dict()
    with Store(tmp_path / "st") as st:
        for day in range(1, 8):
            st.save(doc, None, meta=SessionMeta(therapist="ann", client="C7", recorded_at=f"2024-05-0{day}T10:00"))
        infos = st.list()
        metrics = st.metrics([i.id for i in infos])
    view = compare_view(infos, metrics, title="compare: sessions 1-7")
    labels = [label for label, _ in view.rows]
    assert "Therapist: share of the talking" in labels and len(labels) > 10
    for width in (80, 120, 250):
        lines = _render(view, width=width)
        assert max(map(len, lines)) <= width, "\n".join(lines)
        n_tables = sum(1 for x in lines if x.startswith("measure "))
        assert n_tables == len(view.chunks(width)) >= 1
        firsts = [x.split("│")[0].rstrip() for x in lines if "│" in x]
        for label in labels:  # every row of every table starts with its measure's name (or its start, then …)
            assert sum(1 for f in firsts if f == label or f.endswith("…") and label.startswith(f[:-1])) \
                == n_tables, (width, label)
        assert len(firsts) == n_tables * len(labels)
        assert not any("…" in x.split("│", 1)[1] for x in lines if "│" in x)  # no value is cut
        text = "\n".join(lines)
        for i in infos:  # each session is shown exactly once
            assert text.count(f"#{i.id} 2024-05-0") == 1, (width, i.id)
        assert not any(x.lstrip().startswith("│") or x.startswith(" ") and "│" in x for x in lines)
    assert len(view.chunks(250)) == 1 and len(view.chunks(80)) > 1


# -- notes in the store ------------------------------------------------------------------------------------------
def test_notes_round_trip_export_import_delete(fixture_dialogue, tmp_path):
    audio, _ = fixture_dialogue
    s = analyze_blocks([audio[: 16000 * 12]], ("therapist", "client"))
    text = 'client <b>cries</b> & "[bold]x[/bold]"\n\tthen laughs'
    with Store(tmp_path / "a") as st:
        sid = st.save_session(s, meta=SessionMeta(therapist="ann", client="C7", notes="meta notes"))
        st.add_note(sid, text, time_s=5.0, end_s=7.5, author="sup <x>")
        st.add_note(sid, "second", time_s=1.0)
        from prosody.errors import InputError
        with pytest.raises(InputError, match="outside session"):
            st.add_note(sid, "late", time_s=999.0)
        # the rules of the session's own notes and of names: no control characters (tabs and line
        # feeds are text), UTF-8 only (a command line's undecodable byte arrives as a lone surrogate)
        for bad, author, why in (("x\x1b[31m", "", "control characters"), ("bell\x07", "", "control characters"),
                                 ("ok", "sup\x1b[2J", "control characters"), ("bad\udcffbyte", "", "not UTF-8"),
                                 ("ok", "x" * 201, "longer than")):
            with pytest.raises(InputError, match=why):
                st.add_note(sid, bad, time_s=2.0, author=author)
        notes = st.get(sid).notes
        assert [n.text for n in notes] == ["second", text] and notes[1].end_s == 7.5
        for fmt in ("json", "parquet"):
            write_export(st.bundle(sid), fmt, tmp_path / f"s.{fmt}")
        from prosody.report.html import session_report
        html = session_report(st.get(sid), None)
        assert "client &lt;b&gt;cries&lt;/b&gt; &amp; &quot;[bold]x[/bold]&quot;" in html and "<b>cries" not in html
        assert "sup &lt;x&gt;" in html
        st.delete(sid)
        n_left = sqlite3.connect(tmp_path / "a" / "sessions.db").execute("SELECT COUNT(*) FROM notes").fetchone()[0]
        assert n_left == 0
    for fmt in ("json", "parquet"):
        with Store(tmp_path / f"b-{fmt}") as st2:
            b = read_export(tmp_path / f"s.{fmt}")
            sid2 = st2.import_bundle(b)
            got = st2.get(sid2)
            assert [(n.time_s, n.end_s, n.text, n.author) for n in got.notes] == \
                   [(n.time_s, n.end_s, n.text, n.author) for n in notes], fmt
            assert got.info.meta.notes == "meta notes"


def test_note_and_moments_commands(tmp_path):
    store = tmp_path / "st"
    wav = tmp_path / "rec.flac"
    shutil.copy(REPO / "fixtures" / "dialogue.flac", wav)
    env = {**os.environ, "PROSODY_STORE": str(store)}

    def run(*a):
        return subprocess.run(PROSODY + list(a), capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    r = run("analyze", str(wav), "--save", "--quiet")
    assert r.returncode == 0, r.stderr
    r = run("note", "1", "--at", "0:12", "listen here")
    assert r.returncode == 0 and "note at 0:12" in r.stdout
    r = run("note", "1", "--at", "0:99", "bad")
    assert r.returncode == 2 and r.stderr.startswith("prosody: error: time '0:99'")
    r = run("moments", "1", "--json")
    ms = json.loads(r.stdout)
    assert any(m["kind"] == "note" and m["start_s"] == 12.0 for m in ms)
    assert any(m["kind"] == "interruption" for m in ms)
    k = next(m["rank"] for m in ms if m["kind"] == "interruption")
    r = run("note", "1", "--moment", str(k), "on the moment", "--author", "sup")
    assert r.returncode == 0 and "talked over the client" in r.stdout
    ms2 = json.loads(run("moments", "1", "--json").stdout)
    assert any("note by sup: on the moment" in m["what"] for m in ms2 if m["kind"] == "interruption")
    r = run("show", "1")
    assert "listen here" in r.stdout and "on the moment" in r.stdout
    r = run("compare", "1")
    assert "Supervisor notes" in r.stdout and "Moments: talked over the client" in r.stdout
    r = run("moments", "1", "--weight", "laughter=2")
    assert r.returncode == 2 and "unknown kind" in r.stderr
    # the recording moved: play says so in one line instead of failing
    wav.rename(tmp_path / "moved.flac")
    r = run("play", "1", "1")
    assert r.returncode == 1 and r.stderr.startswith("prosody: error: ") and r.stderr.count("\n") == 1 and "is not there any more" in r.stderr


# -- clips -------------------------------------------------------------------------------------------------------
def _planted_recording(path: Path, rate: int = 22050, seconds: float = 20.0):
    """Stereo noise floor with a click on the left channel at 3.000 s and a
    440 Hz tone burst on the right at 8.0-8.5 s (samples known exactly)."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((int(seconds * rate), 2)) * 1e-3).astype(np.float32)
    click = int(3.0 * rate)
    x[click, 0] = 0.9
    a, b = int(8.0 * rate), int(8.5 * rate)
    x[a:b, 1] += 0.5 * np.sin(2 * np.pi * 440 * np.arange(b - a) / rate)
    sf.write(path, x, rate, subtype="FLOAT")
    return sf.read(path, dtype="float32")[0], click, (a, b)


def test_clips_cut_at_the_right_samples(tmp_path):
    rate = 22050
    x, click, (ta, tb) = _planted_recording(tmp_path / "rec.wav", rate)
    doc = {"duration_s": 20.0, "speaker_order": ["therapist", "client"],
           "audio": audio_record([tmp_path / "rec.wav"], ("therapist", "client"), ((0, 0), (0, 1)))}
    audio, why = locate(doc)
    assert audio is not None and why == "" and audio.sample_rate == rate
    a, b = clip_span(3.0, 3.0, duration_s=20.0)
    assert (a, b) == (0.0, 6.0)
    clip = audio.cut(2.5, 4.0)
    assert clip.shape == (int(1.5 * rate), 2)
    assert int(np.argmax(np.abs(clip[:, 0]))) == click - int(round(2.5 * rate))
    np.testing.assert_array_equal(clip, x[int(round(2.5 * rate)):int(round(4.0 * rate))])
    # two files with an offset: the second file's sample k is at timeline k + offset
    sf.write(tmp_path / "c.wav", x[:, 1], rate, subtype="FLOAT")
    sf.write(tmp_path / "t.wav", x[:, 0], rate, subtype="FLOAT")
    two = Audio((str(tmp_path / "t.wav"), str(tmp_path / "c.wav")), ("therapist", "client"), ((0, 0), (1, 0)),
                1.0, rate)
    c2 = two.cut(8.0, 10.0)
    np.testing.assert_array_equal(c2[:, 1], x[int(7.0 * rate):int(9.0 * rate), 1])  # tone at 1.0-1.5 s of it
    np.testing.assert_array_equal(c2[:, 0], x[int(8.0 * rate):int(10.0 * rate), 0])
    # encoded clips decode to the same samples (FLAC: within 16-bit steps; Opus: aligned by cross-correlation)
    seg = x[ta - rate: tb + rate]
    flac, _ = sf.read(io.BytesIO(encode_clip(seg, rate, "flac")), dtype="float32")
    assert flac.shape == seg.shape and np.max(np.abs(flac - seg)) < 2 / 32768
    opus, orate = sf.read(io.BytesIO(encode_clip(seg, rate, "opus")), dtype="float32")
    import soxr
    ref = soxr.resample(seg[:, 1], rate, orate)
    n = min(len(ref), len(opus))
    lag = _xcorr_lag(opus[:n, 1], ref[:n])
    assert abs(lag) <= 2, lag
    # changed or moved audio is refused with a reason
    with open(tmp_path / "rec.wav", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x00\x80\x3f")
    assert locate(doc)[0] is None and "has changed" in locate(doc)[1]
    (tmp_path / "rec.wav").unlink()
    assert locate(doc)[0] is None and "not there any more" in locate(doc)[1]


def _xcorr_lag(y: np.ndarray, ref: np.ndarray) -> int:
    """Lag (samples) at which ``y`` best matches ``ref`` (positive: y late)."""
    from scipy.signal import correlate
    c = correlate(y, ref, mode="full", method="fft")
    return int(np.argmax(c)) - (len(ref) - 1)


def noise_session(store: Path, wav: Path, *, seconds: int, bookmark_s: float, seed: int) -> np.ndarray:
    """Session 1 of a new store: ``seconds`` of two channels of independent white noise at 16 kHz (broadband:
    a sharp correlation peak) saved as float WAV ``wav``, a bookmark at ``bookmark_s``; returns the samples."""
    rate = 16000
    x = (np.random.default_rng(seed).standard_normal((rate * seconds, 2)) * 0.05).astype(np.float32)
    sf.write(wav, x, rate, subtype="FLOAT")
    doc = {"schema": "prosody.session/2", "duration_s": float(seconds), "speaker_order": ["therapist", "client"],
           "speakers": {"therapist": {}, "client": {}}, "segments": [], "turn_taking": False,
           "audio": audio_record([wav], ("therapist", "client"), ((0, 0), (0, 1)))}
    with Store(store) as st:
        st.save(doc, None, bookmarks=[Bookmark(bookmark_s, "here")])
    return x


def test_play_through_a_null_sink(tmp_path):
    from tests.pulse import started_or_skip, unavailable_reason
    why = unavailable_reason()
    if why:
        pytest.skip(why)
    rate = 16000
    x = noise_session(tmp_path / "st", tmp_path / "rec.wav", seconds=12, bookmark_s=6.0, seed=1)
    server = started_or_skip()
    try:
        mon = server.null_sink("review_out", rate_hz=rate, channels=2)
        raw = tmp_path / "heard.raw"
        rec = subprocess.Popen(["parec", "-d", mon, "--raw", "--format=float32le", f"--rate={rate}", "--channels=2",
                                "--latency-msec=20"], env=server.env, stdout=open(raw, "wb"), stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        r = subprocess.run(PROSODY + ["play", "1", "1", "--store", str(tmp_path / "st"), "--device", "review_out",
                                      "--context-s", "1"], env=server.env, capture_output=True, text=True,
                           timeout=60)
        time.sleep(0.8)
        rec.terminate()
        rec.wait(timeout=10)
    finally:
        server.stop()
    assert r.returncode == 0, r.stderr
    heard = np.frombuffer(raw.read_bytes()[: (raw.stat().st_size // 8) * 8], dtype="<f4").reshape(-1, 2)
    want = x[int(5.0 * rate):int(7.0 * rate)]                  # the bookmark at 6 s, 1 s around it
    assert len(heard) > len(want)
    for ch in (0, 1):
        lag = _xcorr_lag(heard[:, ch], want[:, ch])
        # the null sink's monitor may start delivering a few tens of ms into the stream: compare what overlaps
        i0, j0 = max(lag, 0), max(-lag, 0)
        n = min(len(heard) - i0, len(want) - j0)
        assert n >= 0.9 * len(want), (lag, n)
        got, ref = heard[i0:i0 + n, ch], want[j0:j0 + n, ch]
        # the very samples of the cut, in order: each 0.2 s piece of the cut is found where it should be
        # (a loaded machine may make the player underrun, which shifts later pieces by the gap)
        step, slack = int(0.2 * rate), int(0.05 * rate)
        good = 0
        pieces = range(0, n - step, step)
        for k in pieces:
            r = ref[k:k + step]
            seg = got[max(k - slack, 0):k + step + slack]
            c = np.correlate(seg, r, mode="valid") / (np.linalg.norm(r) * np.sqrt(np.convolve(seg ** 2, np.ones(step), "valid")) + 1e-12)
            good += float(np.max(c)) > 0.9
        assert good >= 0.8 * len(pieces), (ch, lag, good, len(pieces))
        other = x[int(2.0 * rate) + j0:int(2.0 * rate) + j0 + n, ch]   # not a neighbouring stretch
        assert abs(float(np.dot(got, other) / (np.linalg.norm(got) * np.linalg.norm(other) + 1e-12))) < 0.2


AUDIO_JS = """(async () => {
  const els = [...document.querySelectorAll('audio')];
  await Promise.all(els.map(a => a.readyState >= 2 ? null : new Promise(r => {
    a.addEventListener('canplay', r, {once: true}); a.addEventListener('error', r, {once: true});
    setTimeout(r, 8000); })));
  const out = [];
  for (const a of els) {
    let played = false;
    try { a.muted = true; await a.play(); played = !a.paused; a.pause(); } catch (e) { played = String(e); }
    out.push({ready: a.readyState, duration: a.duration, error: a.error && a.error.code, played,
              start: +a.dataset.start, end: +a.dataset.end});
  }
  return out;
})()"""


def test_report_with_clips_in_chromium(tmp_path):
    from tests.test_report import CHROMIUM, _cdp_render
    wav = tmp_path / "rec.flac"
    shutil.copy(REPO / "fixtures" / "dialogue.flac", wav)
    env = {**os.environ, "PROSODY_STORE": str(tmp_path / "st")}

    def run(*a):
        return subprocess.run(PROSODY + list(a), capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run("analyze", str(wav), "--save", "--quiet").returncode == 0
    run("note", "1", "--at", "0:20", "<script>alert(1)</script>")
    r = run("report", "1", "--clips", "-o", "page.html")
    assert r.returncode == 0, r.stderr
    assert "holds" in r.stderr and "client audio" in r.stderr
    page = tmp_path / "page.html"
    assert (page.stat().st_mode & 0o777) == 0o600
    html = page.read_text()
    n_moments = len(json.loads(run("moments", "1", "--json").stdout))
    assert html.count("<audio ") == n_moments >= 2 and "This page holds audio clips" in html
    assert "media-src data:" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found: the page is not checked in a browser")
    res = _cdp_render(page, tmp_path / "page.png", extra_js=AUDIO_JS, timeout_s=60)
    # data: URIs are the page's own clips and Chromium's media-control icons; nothing else may be fetched
    assert [u for u in res["requests"] if not u.startswith("data:")] == [], res["requests"]
    assert res["exceptions"] == [] and res["log_errors"] == [], res
    clips = res["facts"]["extra"]
    assert len(clips) == n_moments
    for c in clips:
        assert c["error"] is None and c["ready"] >= 2 and c["played"] is True, c
        assert abs(c["duration"] - (c["end"] - c["start"])) < 0.1, c
    # without the recording: one line, and a report without clips
    wav.rename(tmp_path / "elsewhere.flac")
    r = run("report", "1", "--clips", "-o", "page2.html")
    assert r.returncode == 0 and "no clips in the report: the recording" in r.stderr
    assert "<audio " not in (tmp_path / "page2.html").read_text()


def test_wording_covers_the_registry_and_the_session_keys():
    """One place for the wording, derived from the registry: every measure and
    per-speaker key has a plain label, a unit a person reads, a direction and a source."""
    from prosody.measures import MEASURES, WARMTH_COMPONENTS
    from prosody.report.html import SPEAKER_DEFINITIONS
    from prosody.report.wording import fmt_value, measure_plain, speaker_plain, warmth_plain
    for d in MEASURES:
        p = measure_plain(d.name)
        assert p.label and p.label != d.name.split(".")[-1] and p.direction and p.source, d.name
    for key in SPEAKER_DEFINITIONS:
        p = speaker_plain(key)
        assert p.label and p.direction and p.definition == SPEAKER_DEFINITIONS[key][2], key
    for c in WARMTH_COMPONENTS:
        p = warmth_plain(c[0])
        assert p.sentence and "warmth" in p.direction and p.source, c[0]
    assert warmth_plain("pitch_raised_share").say(0.08) == "Pitch raised above your baseline: 8 % of your speech"
    assert warmth_plain("talk_over_per_10min").say(1.5) == "You talked over the client, or tried to, 1.5 times per 10 min"
    assert fmt_value(3, "count", duration_s=1200.0) == "3 (1.5/10 min)"
    assert fmt_value(2.04, "st") == "2.0 semitones" and fmt_value(None, "share") == "–"


def test_report_explains_each_measure_in_one_click(fixture_dialogue, tmp_path):
    from prosody.report.html import SPEAKER_DEFINITIONS, session_report
    from prosody.report.wording import timing_keys
    audio, _ = fixture_dialogue
    s = analyze_blocks([audio], ("therapist", "client"))
    with Store(tmp_path / "st") as st:
        sid = st.save_session(s)
        html = session_report(st.get(sid), None)
    speakers = html[html.index('<section id="speakers">'):html.index('<section id="timelines">')]
    # each per-speaker measure and each timing row of the terminal summary (walk58: the report had none of those)
    assert speakers.count('<details class="why">') == len(SPEAKER_DEFINITIONS) + len(timing_keys(None))
    assert "<summary>Wait before answering</summary>" in speakers and "Heldner &amp; Edlund 2010" in speakers
    warmth = html[html.index('<section id="warmth">'):html.index('<section id="attunement">')]
    assert "<summary>Pitch raised above your baseline:" in warmth and "Xiao et al. 2014" in warmth
    assert 'data-kind="interruption"' in html and 'class="plot moments-timeline"' in html


def test_live_recording_is_the_audio_of_an_imported_session(tmp_path):
    """A live session recorded with --record: import hashes the recording, and
    its moments are cut from it."""
    out, rec = tmp_path / "s.json", tmp_path / "rec.wav"
    env = {**os.environ, "PROSODY_STORE": str(tmp_path / "st")}
    r = subprocess.run(PROSODY + ["live", "--input", str(REPO / "fixtures" / "dialogue.flac"), "--speed", "max",
                                  "--output", str(out), "--record", str(rec), "--interval-s", "0.5"],
                       capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(PROSODY + ["import", str(out)], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                       env=env)
    assert r.returncode == 0, r.stderr
    with Store(tmp_path / "st") as st:
        doc = st.get(1).doc
    assert doc["audio"]["files"][0]["path"] == str(rec.resolve())
    audio, why = locate(doc)
    assert audio is not None, why
    x, rate = sf.read(rec, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(audio.cut(10.0, 12.5), x[int(10.0 * rate):int(12.5 * rate)])


# -- recordings FFmpeg decodes (M4A): the analysis's reader cuts, plays and enrols from them ----------------------
def test_m4a_clips_are_the_samples_the_analysis_read(tmp_path):
    """An M4A recording is located and cut through ``sources.AudioFile``: a cut
    holds the very samples a whole decode gives at those numbers (exactly
    before the seek pre-roll is needed; later within the AAC decoder's own
    noise after a seek), and the planted click stays on its sample."""
    pytest.importorskip("av")
    from prosody.engine.sources import AudioFile
    from tests.test_sources import write_m4a
    rate = 16000
    x, click, _ = _planted_recording(tmp_path / "ref.wav", rate, seconds=20.0)
    late = int(14.0 * rate)
    x[late, 0] = 0.9                                        # a second click, well past the first second
    path = tmp_path / "rec.m4a"
    write_m4a(path, x, rate)
    whole = np.concatenate(list(AudioFile(path).blocks(rate)))
    doc = {"duration_s": 20.0, "speaker_order": ["therapist", "client"],
           "audio": audio_record([path], ("therapist", "client"), ((0, 0), (0, 1)))}
    audio, why = locate(doc)
    assert audio is not None and why == "" and audio.sample_rate == rate
    early = audio.cut(0.25, 0.75)                           # no seek: the decode from the start, sample for sample
    np.testing.assert_array_equal(early, whole[int(0.25 * rate):int(0.75 * rate)])
    c = audio.cut(2.5, 4.0)
    assert c.shape == (int(1.5 * rate), 2)
    assert int(np.argmax(np.abs(c[:, 0]))) == click - int(2.5 * rate)
    assert np.max(np.abs(c - whole[int(2.5 * rate):int(4.0 * rate)])) < 0.05
    c = audio.cut(13.5, 15.0)
    assert int(np.argmax(np.abs(c[:, 0]))) == late - int(13.5 * rate)
    assert np.max(np.abs(c - whole[int(13.5 * rate):int(15.0 * rate)])) < 0.05
    tail = audio.cut(19.5, 21.0)                            # past the end: zeros, the file's exact length kept
    n_end = len(whole) - int(19.5 * rate)
    assert tail.shape == (int(1.5 * rate), 2) and not tail[n_end:].any()
    # the fingerprint still guards it
    with open(path, "r+b") as f:
        f.seek(-3, 2)
        f.write(b"\x01\x02\x03")
    assert locate(doc)[0] is None and "has changed" in locate(doc)[1]


def test_m4a_session_plays_clips_and_enrols(tmp_path):
    """The tester's case: a stereo M4A analysed with --save is played, clipped
    into the report and enrolled from like a FLAC; a refused output device is
    one line, with nothing said about playing before it."""
    pytest.importorskip("av")
    from tests.test_sources import write_m4a
    y, rate = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="float32", always_2d=True)
    m4a = tmp_path / "table.m4a"
    write_m4a(m4a, np.stack([0.9 * y[:, 0] + 0.6 * y[:, 1], 0.6 * y[:, 0] + 0.9 * y[:, 1]], axis=1) * 0.6, rate)
    env = {**os.environ, "PROSODY_STORE": str(tmp_path / "st"),   # this checkout's code, whatever is installed
           "PYTHONPATH": os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}

    def run(*a):
        return subprocess.run(PROSODY + list(a), capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    r = run("analyze", str(m4a), "--save", "--therapist", "ann", "--quiet")
    assert r.returncode == 0, r.stderr
    r = run("report", "1", "--clips", "-o", "page.html")
    assert r.returncode == 0 and "no clips" not in r.stderr, r.stderr
    n_moments = len(json.loads(run("moments", "1", "--json").stdout))
    assert n_moments >= 1 and (tmp_path / "page.html").read_text().count("<audio ") == n_moments
    assert f"holds {n_moments} clip{'s' if n_moments != 1 else ''} of" in r.stderr
    r = run("enrol", "--from-session", "1", "--therapist", "ann2")
    assert r.returncode == 0 and r.stdout.startswith("enrolled ann2: ") and "session 1" in r.stdout, r.stderr
    r = run("play", "1", "1", "--device", "99")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "cannot play" in r.stderr and "playing moment" not in r.stderr and "cannot be read" not in r.stderr
    r = run("play", "1", str(n_moments + 1))
    word = "moment" if n_moments == 1 else "moments"
    assert r.returncode == 2 and f"session 1 has {n_moments} {word}; choose 1..{n_moments}" in r.stderr, r.stderr


def test_the_warmth_talk_over_item_counts_what_its_sentence_says(tmp_path):
    """The warmth item "You talked over the client, or tried to, N times per 10 min" counts the therapist's
    interruptions and failed interruptions (the per-speaker table's "Talked over the other" and "Tried to talk
    over" rows), per 10 minutes; its sentence said "talked over" alone while the table's row of that name counted
    the interruptions only (a 50 min session: 13.8 there, 17.4 in the warmth item)."""
    import json as _json
    from prosody.report.wording import warmth_plain
    from prosody_cli.main import main
    out = tmp_path / "s.json"
    assert main(["analyze", str(REPO / "fixtures" / "dialogue.flac"), "--quiet", "--json", str(out)]) == 0
    doc = _json.loads(out.read_text())
    th = doc["speakers"]["therapist"]
    (item,) = [c for c in doc["measures"]["warmth"]["components"] if c["name"] == "talk_over_per_10min"]
    planted = (th["interruptions"] + th["failed_interruptions"]) * 600.0 / doc["duration_s"]
    assert abs(item["value"] - planted) < 1e-3
    assert warmth_plain("talk_over_per_10min").say(item["value"]).startswith("You talked over the client, or tried to,")
