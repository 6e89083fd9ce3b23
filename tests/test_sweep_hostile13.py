"""Hostile sweep 13 (docs/store.md, "Hostile sweep 13"): what changed on 2026-12-04 attacked (the
``unattributed`` voice of an unsure split, the walk-through's wording, hostile sweep 11's import checks).
Through the real CLI; every file under tmp_path. Each defect with what happened before and what happens now:

1. ``import`` took a session whose speaker_order holds ``unattributed`` beside another speaker
   (``['therapist', 'unattributed']``, an export with its client renamed): prosody gives that name only to the
   one voice of a recording whose speakers are unsure (``--channels unattributed=left`` and ``--speaker
   unattributed`` are refused), so no analysis makes it; imported, it was stored with the role
   ``unattributed`` beside the therapist's, and ``relabel`` then exchanged the two (it refuses only a session
   whose one voice is ``unattributed``), giving the unattributed name the therapist's figures. Refused in one
   line now; the genuine unattributed session (one voice, analysed or live with --record) is still taken.
"""
from __future__ import annotations

import json

import numpy as np

from tests.conftest import count_rows, export_saved, one_line_error, run_cli


def _renamed(js, npz, old: str, new: str, out) -> None:
    """The export ``js`` (frames ``npz``) with speaker ``old`` named ``new`` everywhere (keys and values),
    written as ``out`` with its frames beside it."""
    def walk(o):
        if isinstance(o, dict):
            return {(new if k == old else k): walk(v) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v) for v in o]
        return new if o == old else o
    doc = walk(json.loads(js.read_text()))
    doc["prosody_store"]["frames_file"] = out.with_suffix(".frames.npz").name
    out.write_text(json.dumps(doc))
    arrays = dict(np.load(npz))
    arrays["speakers"] = np.array([new if str(s) == old else str(s) for s in arrays["speakers"]])
    np.savez_compressed(out.with_suffix(".frames.npz"), **arrays)


def test_import_refuses_unattributed_beside_another_speaker(tmp_path, short_wav):
    js, npz = export_saved(tmp_path, short_wav)
    store = tmp_path / "dst"
    for old, order in (("client", "['therapist', 'unattributed']"), ("therapist", "['unattributed', 'client']")):
        bad = tmp_path / f"no-{old}.json"
        _renamed(js, npz, old, "unattributed", bad)
        rc, out, err = run_cli("import", bad, "--store", store)  # before: imported; relabel then swapped the names
        one_line_error(rc, err)
        assert f"speaker_order {order} names 'unattributed' beside another speaker" in err, err
    assert not (store / "sessions.db").exists() \
        or count_rows(store / "sessions.db", "SELECT COUNT(*) FROM sessions") == 0
    rc, out, err = run_cli("import", js, "--store", store)  # as exported: taken
    assert rc == 0, err
    assert count_rows(store / "sessions.db", "SELECT COUNT(*) FROM sessions") == 1
