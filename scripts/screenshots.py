"""Make the README's screenshots: the HTML report and the terminal summary of
the bundled example (fixtures/dialogue.flac), rendered by headless Chromium.

    .venv/bin/python scripts/screenshots.py            # writes docs/img/report.png, docs/img/terminal.png

The report is made by the real commands (analyze --save, note, report) in a
temporary store; the terminal summary is rich's SVG export of ``prosody show``,
turned into a PNG by Chromium. Needs Debian's chromium (PROSODY_CHROMIUM to
point elsewhere).
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("PROSODY_CHROMIUM", "/usr/bin/chromium")
OUT = REPO / "docs" / "img"


def _run(env, *args) -> str:
    r = subprocess.run([sys.executable, "-m", "prosody_cli.main", *args], env=env, capture_output=True, text=True,
                       cwd=env["PROSODY_STORE"], timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"prosody {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def shoot(html: Path, png: Path, *, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--no-first-run", "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--disable-extensions", f"--user-data-dir={profile}",
                        f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri()],
                       check=True, capture_output=True, timeout=120)


def main() -> int:
    if not os.access(CHROMIUM, os.X_OK):
        print(f"screenshots: {CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    from rich.console import Console

    from cli.sessions import show_view
    from prosody.store.db import Store
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prosody-shots-") as tmp:
        tmp = Path(tmp)
        rec = tmp / "session.flac"
        shutil.copy(REPO / "fixtures" / "dialogue.flac", rec)
        env = {**os.environ, "PROSODY_STORE": str(tmp / "store"), "COLUMNS": "80"}
        (tmp / "store").mkdir(mode=0o700)
        _run(env, "analyze", str(rec), "--save", "--quiet", "--therapist", "ann", "--client", "C7",
             "--date", "2024-05-01T10:00", "--tag", "example")
        _run(env, "note", "1", "--at", "0:12", "Listen to how the pace changes here.", "--author", "supervisor")
        _run(env, "report", "1", "-o", str(tmp / "report.html"))
        shoot(tmp / "report.html", OUT / "report.png", width=1100, height=2300)
        with Store(tmp / "store") as st:
            view = show_view(st.get(1))
        console = Console(file=io.StringIO(), width=80, record=True, force_terminal=True, color_system="truecolor")
        console.print(view)
        n_lines = len(console.export_text(clear=False).splitlines())
        svg = console.export_svg(title="prosody show 1")
        (tmp / "terminal.html").write_text(
            "<!DOCTYPE html><html><body style='margin:0;background:#fff'>" + svg + "</body></html>")
        shoot(tmp / "terminal.html", OUT / "terminal.png", width=1000, height=int(n_lines * 24.4 + 70))
    for p in ("report.png", "terminal.png"):
        print(f"wrote {OUT / p} ({(OUT / p).stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
