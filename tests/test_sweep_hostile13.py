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
3. ``enrol --from-session N`` without --speaker took the first speaker in channel order, the client after
   ``analyze --channels client=left,therapist=right`` ("enrolled ann: 19 s of speech from session 1 (client)"):
   the client's voice kept as the therapist's profile. Now the therapist by role; no therapist: refused.
4. ``analyze --baseline PROFILE`` of an unsure recording said the baseline was not used and the voice compared
   with its own session, but the profile was the session's baseline and the unattributed voice got no relative
   figure (None). Now as said (as ``live --record`` did already).
5. A therapist's pitch range on an unsure recording: ``--pitch-range therapist=...`` refused as "unknown speaker
   'therapist'; speakers are unattributed", the config's table said unused with "name the channels ...
   (--channels, --speaker)". Both now say who spoke when is unsure and name the ways out that work.
6. ``import S.json --frames F`` with the frames CSV prosody wrote (``analyze --frames``, ``export --format
   csv``) or an exported Parquet: "not a frames file (.npz) prosody wrote; it was replaced or damaged". Now
   what the file is and what import takes.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

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


@pytest.fixture(scope="module")
def unsure_wav(tmp_path_factory):
    """AMI dev01 s104 mono with pink noise 15 dB under it (tests/test_diarize_unsure.py: said unsure)."""
    from tests.conftest import corpus_dir
    if corpus_dir() is None:
        pytest.skip("PROSODY_CORPUS is not set: the AMI recordings are not at hand")
    import sys
    import soundfile as sf
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization import ami_cases
    from diarization_noise import with_noise
    x = next(x for nm, x, t in ami_cases("amireal", False) if nm == "AMI dev01 s104 mono")
    path = tmp_path_factory.mktemp("unsure") / "unsure.wav"
    sf.write(path, np.asarray(with_noise(x, 15.0, np.random.default_rng(1)), np.float32).reshape(-1), 16000,
             subtype="PCM_16")
    return path


def test_an_unattributed_session_round_trips_and_its_report_names_its_voice(unsure_wav, tmp_path):
    """The real unsure recording, analysed and replayed live with --record: each exported as JSON and
    Parquet is imported again (sweep 11's checks of figures against frames refuse none of them) with its
    voice still ``unattributed`` and of that role, no therapist measure; its report's phase table names the
    voice (2. above; 'None' before)."""
    store, dst = tmp_path / "src", tmp_path / "dst"
    rc, out, err = run_cli("analyze", unsure_wav, "--save", "--store", store, "--no-progress", "--quiet")
    assert rc == 0, err
    live = tmp_path / "live.json"
    rc, out, err = run_cli("live", "--input", unsure_wav, "--speed", "max", "--plain", "--record",
                           tmp_path / "live.wav", "--output", live)
    assert rc == 0, err
    assert json.loads(live.read_text())["speaker_order"] == ["unattributed"]
    rc, out, err = run_cli("import", live, "--store", store)
    assert rc == 0, err
    n = 0
    for sid in ("1", "2"):
        for fmt in ("json", "parquet"):
            path = tmp_path / f"s{sid}.{fmt}"
            assert run_cli("export", sid, "--store", store, "-o", path)[0] == 0
            rc, out, err = run_cli("import", path, "--new-id", "--store", dst)
            assert rc == 0, (sid, fmt, err)
            n += 1
    db = dst / "sessions.db"
    assert count_rows(db, "SELECT COUNT(*) FROM speakers WHERE role = 'unattributed'") == n == 4
    assert count_rows(db, "SELECT COUNT(*) FROM speakers WHERE role <> 'unattributed'") == 0
    assert count_rows(db, "SELECT COUNT(*) FROM measures WHERE key LIKE 'therapist%'") == 0
    page = tmp_path / "r.html"
    assert run_cli("report", "1", "--store", store, "-o", page)[0] == 0
    html = page.read_text()
    assert '<span class="typed">unattributed</span>: pitch compared with own baseline' in html
    assert '<span class="typed">None</span>' not in html


def test_enrol_from_a_session_takes_the_therapist_not_the_first_channel(tmp_path):
    """3. ``enrol --from-session N`` without --speaker took the session's first speaker in channel order, said
    in its help to be the therapist: after ``analyze --channels client=left,therapist=right`` that is the
    client, whose voice was enrolled as the therapist's profile ('enrolled ann: 19 s of speech from session 1
    (client)'; every later mono session would then name the client the therapist). Now the therapist by role;
    a session with no therapist (the client alone, as ``--voices 1 --profile`` can name it) is refused in one
    line asking for --speaker."""
    import re
    from tests.conftest import FIXTURES
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--channels", "client=left,therapist=right",
                           "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err
    rc, out, err = run_cli("enrol", "--from-session", "1", "--therapist", "ann", "--store", store)
    assert rc == 0, err
    assert "from session 1 (therapist)" in out + err, out + err  # before: (client)
    rc, told, err = run_cli("enrol", "--from-session", "1", "--speaker", "therapist", "--therapist", "bea",
                            "--store", store)
    assert rc == 0, err
    said = re.compile(r"enrolled \w+: (\d+ s of speech from session 1 \(\w+\), \d+ windows)")
    assert said.search(out + err).group(1) == said.search(told).group(1), (out, told)  # the same voice
    from prosody.enrol import session_voice
    try:
        session_voice({"speaker_order": ["client"], "attribution": {}}, None, session_id=7)
    except Exception as exc:  # InputError: one line at the CLI
        assert "session 7 holds no therapist (its speakers: client); give the voice to enrol with --speaker" \
            in str(exc), exc
    else:
        raise AssertionError("a session of the client alone was enrolled as the therapist's voice")


def test_a_personal_baseline_said_unused_on_an_unsure_recording_is_not_used(unsure_wav, tmp_path):
    """4. ``analyze --baseline PROFILE`` of an unsure recording warned 'the personal baseline (therapist) is not
    used: ... the speech left unattributed is compared with its own session instead', but the session's
    baseline was the profile's (``measures.baseline.kind`` 'profile', the summary 'relative to your own
    profile baseline') and the unattributed voice, which it does not hold, got no relative figure at all
    (``f0_median_rel_st`` None, as level and pace). Now as said: its own session's, as without --baseline
    (and as ``live --record`` already gave): the pitch relative to its own median is 0."""
    base = tmp_path / "b.json"
    base.write_text(json.dumps({"kind": "profile", "speakers": {"therapist": {
        "f0_median_hz": 110.0, "f0_spread_st": 2.0, "level_median_db": -30.0, "level_spread_db": 6.0,
        "hf500_median_db": 3.0, "hf500_spread_db": 6.0, "articulation_rate_syl_s": 4.5}}}))
    docs = {}
    for name, extra in (("plain", ()), ("based", ("--baseline", base))):
        rc, out, err = run_cli("analyze", unsure_wav, *extra, "--json", tmp_path / f"{name}.json", "--no-progress")
        assert rc == 0, err
        docs[name] = json.loads((tmp_path / f"{name}.json").read_text())
    based = docs["based"]
    assert any(w.startswith("the personal baseline (therapist) is not used") for w in based["warnings"])
    assert based["measures"]["baseline"]["kind"] == "session"  # before: 'profile'
    voice = based["measures"]["voice"]["unattributed"]
    assert voice["f0_median_rel_st"] == pytest.approx(0.0) and voice["level_rel_db"] == pytest.approx(0.0)
    assert voice == docs["plain"]["measures"]["voice"]["unattributed"]
    assert "relative to your own session baseline" in " ".join(out.split())


def test_a_therapist_pitch_range_on_an_unsure_recording_says_why_and_the_way_out(unsure_wav, tmp_path):
    """5. ``analyze --pitch-range therapist=...`` (a range kept for the therapist's mono recordings) of a
    recording said unsure was refused as "unknown speaker 'therapist'; speakers are unattributed", and the same
    range from a config's ``[pitch_by_speaker.therapist]`` (or in batch and live, where it is a warning) told
    to "name the channels as the configuration does (--channels, --speaker)": ``--speaker therapist`` would give
    the therapist speech that may be both people's. Both now say that who spoke when is unsure and name the
    ways out (the range of the name ``unattributed``, or --voices 2), which work."""
    rc, out, err = run_cli("analyze", unsure_wav, "--pitch-range", "therapist=200-400", "--no-progress")
    one_line_error(rc, err)
    assert "who spoke when is unsure in this recording, so no voice is named 'therapist'" in err, err
    assert "--pitch-range unattributed=FMIN-FMAX" in err and "--voices 2" in err
    conf = tmp_path / "c.toml"
    conf.write_text("[pitch_by_speaker.therapist]\nfmin_hz = 200.0\nfmax_hz = 400.0\n")
    rc, out, err = run_cli("analyze", unsure_wav, "--config", conf, "--json", tmp_path / "c.json", "--no-progress")
    assert rc == 0, err
    said = json.loads((tmp_path / "c.json").read_text())["warnings"]
    assert any("was not used" in w and "who spoke when is unsure, so no voice is named 'therapist'" in w
               and "[pitch_by_speaker.unattributed]" in w and "--speaker" not in w for w in said), said
    conf.write_text("[pitch_by_speaker.unattributed]\nfmin_hz = 200.0\nfmax_hz = 400.0\n")  # the way out: used
    rc, out, err = run_cli("analyze", unsure_wav, "--config", conf, "--json", tmp_path / "u.json", "--no-progress")
    assert rc == 0, err
    doc = json.loads((tmp_path / "u.json").read_text())
    assert doc["speakers"]["unattributed"]["f0_median_hz"] is None  # the two men (~105 Hz) lie under 200 Hz
    assert not any("was not used" in w for w in doc["warnings"])


def test_import_of_a_frames_table_says_what_it_is_and_what_import_takes(tmp_path, short_wav):
    """6. The round trip of ``analyze --json S.json --frames F`` (or ``export --format csv``) through ``import
    S.json --frames F``: the frames CSV prosody wrote was refused as "not a frames file (.npz) prosody wrote;
    it was replaced or damaged" (so was an exported session's Parquet given as --frames), though nothing was
    replaced or damaged. Now one line saying what the file is and what import takes; nothing stored."""
    js, npz = export_saved(tmp_path, short_wav)
    csv, pq = tmp_path / "f.csv", tmp_path / "s.parquet"
    assert run_cli("export", "1", "--store", tmp_path / "src", "-o", csv)[0] == 0
    assert run_cli("export", "1", "--store", tmp_path / "src", "-o", pq)[0] == 0
    named = tmp_path / "f.npz"  # analyze --frames writes CSV whatever the name
    rc, out, err = run_cli("analyze", short_wav, "--frames", named, "--quiet", "--no-progress")
    assert rc == 0 and named.read_bytes().startswith(b"time_s,"), err
    store = tmp_path / "dst"
    for frames in (csv, named):
        rc, out, err = run_cli("import", js, "--frames", frames, "--new-id", "--store", store)
        one_line_error(rc, err, code=1)  # as for any frames file it cannot read
        assert "a frames CSV (as `analyze --frames` and `export --format csv` write it), which is for reading" \
            in err and "replaced or damaged" not in err, err
    rc, out, err = run_cli("import", js, "--frames", pq, "--new-id", "--store", store)
    one_line_error(rc, err, code=1)
    assert "an exported session's Parquet holds its frames itself: import it alone" in err, err
    assert not (store / "sessions.db").exists() \
        or count_rows(store / "sessions.db", "SELECT COUNT(*) FROM sessions") == 0
    rc, out, err = run_cli("import", pq, "--store", store)  # the way out said: taken
    assert rc == 0, err
    rc, out, err = run_cli("import", js, "--frames", npz, "--new-id", "--store", store)  # the .npz: taken
    assert rc == 0, err
