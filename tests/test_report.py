"""HTML reports: content, and a real browser (headless Chromium over the DevTools
protocol on a pipe) checking no console errors, no network requests, the
sections and plots rendered, and a screenshot under the test's tmp folder."""
import base64
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from prosody.report.html import SPEAKER_DEFINITIONS, compare_report, session_report
from prosody.session import analyze_blocks
from prosody.formats.bundle import Bookmark, SessionMeta
from prosody.store.db import Store

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("PROSODY_CHROMIUM", "/usr/bin/chromium")
SESSION_SECTIONS = ("at-a-glance", "moments", "speakers", "timelines", "turns", "gaps", "warmth", "attunement", "phases", "voice-quality",
                    "bookmarks", "feedback", "definitions")


@pytest.fixture(scope="module")
def store(fixture_dialogue, tmp_path_factory):
    audio, _ = fixture_dialogue
    session = analyze_blocks([audio], ("therapist", "client"), sources=["fixtures/dialogue.flac"])
    st = Store(tmp_path_factory.mktemp("store") / "st")
    sid = st.save_session(session, meta=SessionMeta(therapist="ann", client="C7", recorded_at="2024-05-01T10:00:00",
                                                     notes="first session <b>not bold</b>", tags=("intake",)),
                          bookmarks=[Bookmark(12.5, "client tears up"), Bookmark(30.0, "")])
    st.add_feedback(sid, srs=(9, 8, 9, 10))
    doc = session.to_json_dict()
    plain = {k: v for k, v in doc.items() if k != "measures"}
    for day in range(2, 6):
        st.save(doc if day % 2 else plain, session.frames,
                meta=SessionMeta(therapist="ann", client="C7", recorded_at=f"2024-05-{day:02d}T10:00:00"))
        st.add_feedback(day, rating=day - 1)
    yield st
    st.close()


def test_definitions_match_the_schema_doc():
    text = (REPO / "docs" / "session-schema.md").read_text()
    per_speaker = text[text.index("Per speaker"):]
    table_start = per_speaker.index("\n|")
    per_speaker = per_speaker[table_start:per_speaker.index("\n\n", table_start)]  # that table only
    keys = set()
    for cell in re.findall(r"^\| `([^|]+)` \|", per_speaker, flags=re.M):
        keys |= {k.strip(" `") for k in cell.split(",")}
    assert keys == set(SPEAKER_DEFINITIONS)


def test_session_report_content(store):
    html = session_report(store.get(1), store.frames(1), generated_at="2024-05-01T12:00:00")
    for sid in SESSION_SECTIONS:
        assert f'<section id="{sid}">' in html
    assert "client tears up" in html and "&lt;b&gt;not bold&lt;/b&gt;" in html  # user text escaped
    assert "36/40" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)  # nothing to fetch
    assert "default-src 'none'" in html and "<script" not in html
    plain = store.get(2)
    assert plain.doc.get("measures") is None
    html2 = session_report(plain, None)
    assert "No warmth measures" in html2 and "No phase measures" in html2 and "without per-frame features" in html2


def _cdp_render(html_path: Path, shot_path: Path, *, timeout_s: float = 30.0, extra_js: str | None = None,
                width: int = 1200, max_height: int = 6000) -> dict:
    """Load ``html_path`` in headless Chromium driven over --remote-debugging-pipe;
    return console messages, exceptions, log entries, network requests, DOM facts.
    ``extra_js``: an expression (may return a promise) whose value lands in ``facts["extra"]``."""
    user_dir = tempfile.mkdtemp(prefix="chromium-", dir=str(shot_path.parent))
    to_r, to_w = os.pipe()      # we write commands -> browser reads fd 3
    from_r, from_w = os.pipe()  # browser writes replies on fd 4 -> we read

    def child_fds():
        a, b = os.dup(to_r), os.dup(from_w)
        os.dup2(a, 3)
        os.dup2(b, 4)

    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", f"--user-data-dir={user_dir}",
         "--remote-debugging-pipe", f"--window-size={width},2000", "--autoplay-policy=no-user-gesture-required",
         "--hide-scrollbars", "about:blank"],
        preexec_fn=child_fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    os.close(to_r)
    os.close(from_w)
    buf, next_id, events = b"", 0, []
    deadline = time.monotonic() + timeout_s

    def send(method, params=None, session=None):
        nonlocal next_id
        next_id += 1
        msg = {"id": next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(to_w, json.dumps(msg).encode() + b"\0")
        return next_id

    def read_one(wait_s):
        nonlocal buf
        end = min(deadline, time.monotonic() + wait_s)
        while b"\0" not in buf:
            ready, _, _ = select.select([from_r], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(from_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            buf += chunk
        raw, buf = buf.split(b"\0", 1)
        return json.loads(raw)

    def call(method, params=None, session=None):
        mid = send(method, params, session)
        while time.monotonic() < deadline:
            msg = read_one(deadline - time.monotonic())
            if msg is None:
                break
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]
            events.append(msg)
        raise TimeoutError(method)

    try:
        target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sess = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            call(f"{domain}.enable", session=sess)
        call("Page.navigate", {"url": html_path.as_uri()}, session=sess)
        while not any(e.get("method") == "Page.loadEventFired" for e in events):
            msg = read_one(deadline - time.monotonic())
            if msg is None:
                raise TimeoutError("page load")
            events.append(msg)
        t_end = time.monotonic() + 0.5  # late console messages / requests
        while (msg := read_one(t_end - time.monotonic())) is not None:
            events.append(msg)
        facts = call("Runtime.evaluate", {"returnByValue": True, "expression": """(() => ({
            sections: [...document.querySelectorAll('section[id]')].map(s => s.id),
            svgs: Object.fromEntries([...document.querySelectorAll('section[id]')].map(
                s => [s.id, s.querySelectorAll('svg.plot').length])),
            svgWidths: [...document.querySelectorAll('svg.plot')].map(s => s.getBoundingClientRect().width),
            traces: document.querySelectorAll('svg path.trace').length,
            segments: document.querySelectorAll('svg rect.segment').length,
            bars: document.querySelectorAll('svg rect.bar').length,
            title: document.title,
            scrollWidth: document.documentElement.scrollWidth,
            clientWidth: document.documentElement.clientWidth,
            height: document.documentElement.scrollHeight }))()"""}, session=sess)["result"]["value"]
        if extra_js:
            facts["extra"] = call("Runtime.evaluate", {"returnByValue": True, "awaitPromise": True,
                                                       "expression": extra_js}, session=sess)["result"].get("value")
            t_end = time.monotonic() + 0.3
            while (msg := read_one(t_end - time.monotonic())) is not None:
                events.append(msg)
        shot = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                               "clip": {"x": 0, "y": 0, "width": width,
                                                        "height": min(facts["height"], max_height), "scale": 1}},
                    session=sess)
        shot_path.write_bytes(base64.b64decode(shot["data"]))
        try:
            send("Browser.close")
        except OSError:
            pass
    finally:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)  # our own child's process group (renderer, GPU helper)
            proc.wait(timeout=5)
        os.close(to_w)
        os.close(from_r)
        shutil.rmtree(user_dir, ignore_errors=True)
    page_url = html_path.as_uri()
    return {
        "requests": [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"
                     and e["params"]["request"]["url"] != page_url],
        "console": [e["params"] for e in events if e.get("method") == "Runtime.consoleAPICalled"],
        "exceptions": [e["params"] for e in events if e.get("method") == "Runtime.exceptionThrown"],
        "log_errors": [e["params"]["entry"] for e in events if e.get("method") == "Log.entryAdded"
                       and e["params"]["entry"]["level"] in ("error", "warning")],
        "facts": facts,
    }


@pytest.fixture
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to check "
                    "reports in a real browser")
    return CHROMIUM


def test_session_report_in_chromium(store, chromium, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(session_report(store.get(1), store.frames(1)))
    r = _cdp_render(page, tmp_path / "report.png")
    assert r["requests"] == [] and r["console"] == [] and r["exceptions"] == [] and r["log_errors"] == [], r
    f = r["facts"]
    assert f["sections"] == list(SESSION_SECTIONS)
    assert f["svgs"]["timelines"] == 4  # pitch and level per speaker
    assert f["svgs"]["turns"] == 1 and f["svgs"]["gaps"] == 2
    assert f["traces"] == 4 and f["segments"] == len(store.get(1).doc["segments"]) and f["bars"] > 5
    if store.get(1).doc.get("measures"):
        assert f["svgs"]["warmth"] >= 1 and f["svgs"]["attunement"] >= 1
    assert all(w > 900 for w in f["svgWidths"])  # plots fill the page width
    assert f["scrollWidth"] <= f["clientWidth"], f  # nothing wider than the window: no sideways scrolling
    narrow = _cdp_render(page, tmp_path / "narrow.png", width=760)["facts"]  # half a laptop's screen
    assert narrow["scrollWidth"] <= narrow["clientWidth"], narrow
    png = (tmp_path / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000


def test_trend_report_in_chromium(store, chromium, tmp_path):
    infos = store.list(therapist="ann")
    page = tmp_path / "trend.html"
    page.write_text(compare_report(infos, store.metrics([i.id for i in infos]), title="trend: ann"))
    r = _cdp_render(page, tmp_path / "trend.png")
    assert r["requests"] == [] and r["console"] == [] and r["exceptions"] == [] and r["log_errors"] == [], r
    assert r["facts"]["sections"] == ["table", "trend", "feedback", "definitions"]
    assert r["facts"]["svgs"]["trend"] >= 5
    assert r["facts"]["scrollWidth"] <= r["facts"]["clientWidth"], r["facts"]
    assert (tmp_path / "trend.png").stat().st_size > 20_000


def test_browser_check_catches_a_request(chromium, tmp_path):
    """The check itself works: a page that fetches something is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://192.0.2.1/x.png">'
                    "<script>console.error('boom')</script></body></html>")
    r = _cdp_render(page, tmp_path / "bad.png", timeout_s=20)
    assert r["requests"] == ["http://192.0.2.1/x.png"]
    assert [c["type"] for c in r["console"]] == ["error"]
