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
