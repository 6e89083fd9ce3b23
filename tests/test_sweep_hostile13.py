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
2. The report page's phase table of a session without a therapist (its one voice ``unattributed``, or the
   client alone) was headed ``None: share of the talking``, ``None: pitch compared with own baseline``, ... and
   held only '–', though each phase holds that voice's figures (AMI dev01 in noise: +0.5 / -0.1 / -0.4 st,
   3.2 / 3.2 / 3.3 syll./s). Now its columns name the one voice and show them.
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


def test_the_report_phases_of_a_session_without_a_therapist_name_its_voice():
    """2. The report's phase table of a session with no therapist (its one voice left ``unattributed``, or the
    client alone) headed every column ``None: share of the talking``, ``None: pitch compared with own
    baseline`` (the speaker looked up by the therapist's role) and showed '–' under them, though the phase
    holds that voice's figures. Now the columns name the one voice and show its figures."""
    from prosody.report.html import _phases
    from prosody.store.db import speaker_roles
    voice = {"f0_median_rel_st": 0.5298, "articulation_rate_syl_s": 3.1614}
    for name in ("unattributed", "client"):
        measures = {"phases": [{"name": "opening", "start_s": 0.0, "end_s": 6.91, "voice": {name: voice},
                                "timing": None, "warmth": {"score": None}}]}
        html = _phases(measures, [name], speaker_roles([name]))
        assert "None" not in html, html
        assert f'<span class="typed">{name}</span>: pitch compared with own baseline' in html, html
        assert "+0.5 st" in html and ">3.2<" in html, html
