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
