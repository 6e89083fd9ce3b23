"""The full check of a session document and of an export's store metadata
against docs/session-schema.md, before anything is written.

An imported file is untrusted: every value is checked for type, range,
finiteness (NaN and Infinity are not numbers a session can hold), size and
nesting depth; schema versions must be ones this prosody knows; a uid is a
plain token (it names a file in the store). The first problem found raises
``InvalidSessionError`` naming the field, e.g.
``session document: segments[3].end_s = nan: not a finite number``."""
from __future__ import annotations

import math
import numbers
import re
from datetime import datetime

from ..errors import InvalidSessionError
from ..types import NOTHING_SHOWN, SPEAKER_NAME_MAX_CHARS, name_problem, shows_nothing, text_problem

SESSION_SCHEMAS = ("prosody.session/1", "prosody.session/2")
EXPORT_FORMATS_KNOWN = ("prosody.store-export/1",)
MAX_DEPTH = 32                 # the documents prosody writes nest 7 deep
MAX_DURATION_S = 7 * 86400.0   # a week: far beyond any session
MAX_SPEAKERS = 8
MAX_NAME_CHARS = 200           # therapist, client, speaker names, tags
MAX_TEXT_CHARS = 100_000       # notes, any other string
MAX_LIST_ITEMS = 5_000_000
MAX_TAGS = 100
MAX_SESSION_NUMBER = 1_000_000
MAX_WHOLE = 2 ** 63 - 1         # a whole number in a document: what SQLite's INTEGER holds
TIME_SLACK_S = 1.0             # a time may pass duration_s by this much (a live segment closed at the end)
UID_RE = re.compile(r"[0-9a-f]{8}|[0-9a-f]{16}")
SPEAKER_NUMBERS = ("speech_s", "talk_share", "n_segments", "n_turns", "f0_median_hz", "f0_sd_st", "f0_range_st",
                   "rms_db_median", "n_syllables", "speech_rate_syl_s", "articulation_rate_syl_s", "gap_median_s",
                   "overlaps", "interruptions", "failed_interruptions", "backchannels")
# a speaker's numbers that cannot be otherwise: a session of 0 s with 23.4 s of speech and 62 % of the
# talking was imported and shown as such ("duration": the session's duration_s + TIME_SLACK_S)
_SPEAKER_NUMBER_RANGE = {"speech_s": (0.0, "duration"), "talk_share": (0.0, 1.0), "n_segments": (0.0, None),
                         "n_turns": (0.0, None), "f0_median_hz": (0.0, None), "f0_sd_st": (0.0, None),
                         "f0_range_st": (0.0, None), "n_syllables": (0.0, None), "speech_rate_syl_s": (0.0, None),
                         "articulation_rate_syl_s": (0.0, None), "overlaps": (0.0, None),
                         "interruptions": (0.0, None), "failed_interruptions": (0.0, None),
                         "backchannels": (0.0, None)}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # notes may hold tabs and line feeds


def _fail(where: str, value, problem: str):
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise InvalidSessionError(f"{where} = {shown}: {problem}")


def _walk(node, where: str, depth: int, *, sep: str = ".") -> None:
    """Depth, sizes, finiteness and JSON types of every value. ``sep`` joins ``where`` and a key of this level
    (a session document's own keys are said as its other checks say them, "session document: duration_s")."""
    if depth > MAX_DEPTH:
        raise InvalidSessionError(f"{where}: nested deeper than {MAX_DEPTH} levels; not a prosody document")
    if isinstance(node, dict):
        if len(node) > MAX_LIST_ITEMS:
            _fail(where, f"<{len(node)} keys>", "too many keys")
        for k, v in node.items():
            if not isinstance(k, str):
                _fail(where, k, "keys must be strings")
            _walk(v, f"{where}{sep}{k}", depth + 1)
    elif isinstance(node, (list, tuple)):  # a document not yet serialised may hold tuples
        if len(node) > MAX_LIST_ITEMS:
            _fail(where, f"<{len(node)} items>", f"more than {MAX_LIST_ITEMS} items")
        for i, v in enumerate(node):
            _walk(v, f"{where}[{i}]", depth + 1)
    elif isinstance(node, (float, numbers.Real)) and not isinstance(node, (bool, int)):
        if not math.isfinite(node):
            _fail(where, node, "not a finite number")
    elif isinstance(node, str):
        if len(node) > MAX_TEXT_CHARS:
            _fail(where, node[:20] + "...", f"longer than {MAX_TEXT_CHARS} characters")
        problem = text_problem(node)
        if problem is not None:  # SQLite and every file prosody writes hold UTF-8 text
            _fail(where, node, problem)
    elif isinstance(node, numbers.Integral) and not isinstance(node, bool):
        if not -MAX_WHOLE <= node <= MAX_WHOLE:  # JSON has no limit; SQLite and float() have
            _fail(where, node, "a whole number beyond 64 bits")
    elif node is not None and not isinstance(node, bool):
        _fail(where, node, f"{type(node).__name__} is not a JSON value")


def _number(v, where: str, *, lo: float | None = None, hi: float | None = None, null: bool = False,
            integer: bool = False):
    if v is None and null:
        return
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or (integer and not isinstance(v, numbers.Integral)):
        _fail(where, v, f"expected {'a whole number' if integer else 'a number'}{' or null' if null else ''}")
    if isinstance(v, numbers.Integral) and not -MAX_WHOLE <= v <= MAX_WHOLE:  # float(v) would overflow
        _fail(where, v, "a whole number beyond 64 bits")
    if not math.isfinite(v):
        _fail(where, v, "not a finite number")
    if lo is not None and v < lo or hi is not None and v > hi:
        _fail(where, v, f"outside {_bound(lo)}..{_bound(hi)}" if lo is not None and hi is not None
              else f"below {_bound(lo)}" if lo is not None else f"above {_bound(hi)}")


def _bound(x: float) -> str:
    """A limit as a person writes it: a whole one in its digits ("1000000", was "1e+06": hostile sweep 63)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _name(v, where: str, *, null: bool = False, limit: int = MAX_NAME_CHARS) -> None:
    if v is None and null:
        return
    problem = name_problem(v, limit=limit)
    if problem is not None:
        _fail(where, v, problem + (" or null" if null and problem == "expected text" else ""))


def _text_list(v, where: str) -> None:
    if v is None:
        return
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
        _fail(where, v, "expected a list of text")


def _intervals(items, where: str, speakers: set, duration_s: float, *, keys=("start_s", "end_s"),
               speaker_keys=("speaker",), null: bool = False, ordered: bool = True) -> None:
    if items is None and null:
        return
    if not isinstance(items, (list, tuple)):
        _fail(where, items, "expected a list" + (" or null" if null else ""))
    top = duration_s + TIME_SLACK_S
    for i, x in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(x, dict):
            _fail(w, x, "expected an object")
        for sk in speaker_keys:  # an object or list there was `unhashable type` (an internal error; sweep 36)
            if not isinstance(x.get(sk), str) or x.get(sk) not in speakers:
                _fail(f"{w}.{sk}", x.get(sk), "not one of speaker_order")
        for k in keys:
            _number(x.get(k), f"{w}.{k}", lo=0.0, hi=top)
        if ordered and x[keys[1]] < x[keys[0]]:
            _fail(f"{w}.{keys[1]}", x[keys[1]], f"ends before it starts ({keys[0]} {x[keys[0]]})")


def check_session_doc(doc, *, where: str = "session document", every_value: bool = True) -> None:
    """Raise InvalidSessionError unless ``doc`` is a ``prosody.session/1|2``
    document as documented; ``doc`` may carry a top-level ``bookmarks`` list
    (live capture) and ``live`` object.

    ``every_value=False`` leaves out the walk over every value (depth, sizes,
    finiteness, JSON types: 40 % of the time) for a document just parsed from
    JSON text with NaN and Infinity refused (``Store.get``): its values are JSON's
    and finite by construction, and sizes matter only to what is written."""
    if not isinstance(doc, dict):
        raise InvalidSessionError(f"{where}: expected a JSON object, not {type(doc).__name__}")
    if every_value:
        _walk(doc, where, 0, sep=": ")
    _check_schema_name(doc.get("schema"), where)
    order = _check_speaker_order(doc.get("speaker_order"), where)
    speakers = set(order)
    _number(doc.get("duration_s"), f"{where}: duration_s", lo=0.0, hi=MAX_DURATION_S)
    duration_s = float(doc["duration_s"])
    if "frame_hop_s" in doc:
        _number(doc["frame_hop_s"], f"{where}: frame_hop_s", lo=0.001, hi=1.0)
    if "turn_taking" in doc and not isinstance(doc["turn_taking"], bool):
        _fail(f"{where}: turn_taking", doc["turn_taking"], "expected true or false")
    for key in ("sources", "notes", "warnings"):
        _text_list(doc.get(key), f"{where}: {key}")
    _check_attribution(doc, speakers, where)
    for key in ("config", "measures", "live"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            _fail(f"{where}: {key}", doc[key], "expected an object")
    check_measures(doc.get("measures"), speakers=order, turn_taking=bool(doc.get("turn_taking")),
                   where=f"{where}: measures")
    _check_speaker_figures(doc.get("speakers"), speakers, duration_s, where, every_value=every_value)
    _check_timeline(doc, speakers, duration_s, where)
    check_bookmarks(doc.get("bookmarks"), duration_s, where=f"{where}: bookmarks")


def _check_schema_name(schema, where: str) -> None:
    if not isinstance(schema, str) or not schema.startswith("prosody.session/"):
        raise InvalidSessionError(f"not a prosody session ({where}: schema = {schema!r}; expected "
                                  f"{' or '.join(SESSION_SCHEMAS)})")
    if schema not in SESSION_SCHEMAS:
        raise InvalidSessionError(f"{where}: schema = {schema!r} is newer than this prosody understands "
                                  f"({', '.join(SESSION_SCHEMAS)}); upgrade prosody to import it")


def _check_speaker_order(order, where: str):
    """``speaker_order``: 1 to ``MAX_SPEAKERS`` distinct names; returns it."""
    if not isinstance(order, (list, tuple)) or not 1 <= len(order) <= MAX_SPEAKERS:
        _fail(f"{where}: speaker_order", order, f"expected a list of 1-{MAX_SPEAKERS} speaker names")
    for i, s in enumerate(order):
        _name(s, f"{where}: speaker_order[{i}]", limit=SPEAKER_NAME_MAX_CHARS)
    if len(set(order)) != len(order):
        _fail(f"{where}: speaker_order", order, "names a speaker twice")
    return order


def _check_attribution(doc: dict, speakers: set, where: str) -> None:
    """``attribution`` (issue 9: the layout found and how speakers were attributed, docs/speakers.md) and
    ``heard_raised_db`` (per speaker, the gain a quiet recording's speech detection heard it with, dB)."""
    att = doc.get("attribution")
    if att is not None:
        if not isinstance(att, dict):
            _fail(f"{where}: attribution", att, "expected an object")
        if att.get("layout") not in ("separate", "shared", "mono"):
            _fail(f"{where}: attribution.layout", att.get("layout"), "expected separate, shared or mono")
        if "attribution" in att and not isinstance(att["attribution"], str):
            _fail(f"{where}: attribution.attribution", att["attribution"], "expected text")
    raised = doc.get("heard_raised_db")
    if raised is not None:
        if not isinstance(raised, dict):
            _fail(f"{where}: heard_raised_db", raised, "expected an object keyed by speaker name")
        for name, g in raised.items():
            if name not in speakers:
                _fail(f"{where}: heard_raised_db", name, "a speaker not in speaker_order")
            _number(g, f"{where}: heard_raised_db.{name}", lo=0.0, hi=80.0)


def _check_speaker_figures(per, speakers: set, duration_s: float, where: str, *, every_value: bool) -> None:
    """``speakers``: an object per speaker of ``speaker_order`` whose figures are numbers or null, within the bounds
    no analysis passes (a time spoken beyond the session, a share beyond all) on import only (``every_value``: a
    session stored before these bounds stays readable)."""
    if not isinstance(per, dict):
        _fail(f"{where}: speakers", per, "expected an object keyed by speaker name")
    for name, v in per.items():
        if name not in speakers:
            _fail(f"{where}: speakers", name, "a speaker not in speaker_order")
        if not isinstance(v, dict):
            _fail(f"{where}: speakers.{name}", v, "expected an object")
        for k in SPEAKER_NUMBERS:
            if k in v:
                lo, hi = _SPEAKER_NUMBER_RANGE.get(k, (None, None)) if every_value else (None, None)
                _number(v[k], f"{where}: speakers.{name}.{k}", null=True, lo=lo,
                        hi=None if hi == "duration" else hi)
                if hi == "duration" and v[k] is not None and v[k] > duration_s + TIME_SLACK_S:
                    _fail(f"{where}: speakers.{name}.{k}", v[k], f"more than the session lasts (duration_s "
                          f"{duration_s:g})")


def _check_timeline(doc: dict, speakers: set, duration_s: float, where: str) -> None:
    """Segments, turns, pauses, events and transitions: intervals of known speakers inside the session."""
    _intervals(doc.get("segments") or [], f"{where}: segments", speakers, duration_s)
    for key in ("turns", "pauses"):
        _intervals(doc.get(key), f"{where}: {key}", speakers, duration_s, null=True)
    _intervals(doc.get("events"), f"{where}: events", speakers, duration_s, null=True)
    for i, e in enumerate(doc.get("events") or []):
        _name(e.get("kind"), f"{where}: events[{i}].kind", limit=64)
    trans = doc.get("transitions")
    _intervals(trans, f"{where}: transitions", speakers, duration_s, keys=("from_end_s", "to_start_s"),
               speaker_keys=("from_speaker", "to_speaker"), null=True, ordered=False)
    for i, t in enumerate(trans or []):
        _number(t.get("offset_s"), f"{where}: transitions[{i}].offset_s", lo=-duration_s - TIME_SLACK_S,
                hi=duration_s + TIME_SLACK_S)
        _name(t.get("kind"), f"{where}: transitions[{i}].kind", limit=64)


# -- measures: the shapes the views and the report read (docs/session-schema.md, "measures") --------------------
# A spec is NUM (a number or null), TEXT (text or null), a dict {key: spec} ("*": any other key; the keys
# _REQUIRED names for it must be there), a list [spec] (of objects), a tuple (NUM, spec) (a number or that
# object), or None (anything: settings kept as written). Null is accepted for any spec not required.
NUM, TEXT = "number", "text"
_N_OBJ = {"*": NUM}
_CELL = {"value": NUM, "chance_low": NUM, "chance_high": NUM, "reading": TEXT, "n": NUM}
_ATT_KIND = {"pitch": _CELL, "intensity": _CELL, "rate": _CELL}
_ATTUNEMENT = {"n_exchanges": NUM, "note": TEXT, "proximity": _ATT_KIND, "synchrony": _ATT_KIND,
               "convergence": _ATT_KIND, "arousal_coregulation": _CELL,
               "by_direction": {"*": {"proximity": _ATT_KIND, "synchrony": _ATT_KIND, "convergence": _ATT_KIND}}}
_WARMTH = {"score": NUM, "n_components": NUM, "note": TEXT, "not_enough": TEXT,
           "components": [{"name": TEXT, "value": NUM, "unit": TEXT, "score": NUM, "warm_anchor": NUM,
                           "cool_anchor": NUM, "direction": TEXT, "source": TEXT, "weight": NUM,
                           "contribution": NUM}]}
_VOICE = {"*": {"*": NUM, "arousal_parts": _N_OBJ}}
_TIMING = {"*": {"*": NUM, "gap_quantiles_s": _N_OBJ}}
_VOICE_QUALITY = {"*": _N_OBJ}
_WINDOW = {"name": TEXT, "phase": TEXT, "start_s": NUM, "end_s": NUM, "baseline": TEXT, "voice": _VOICE,
           "timing": _TIMING, "warmth": (NUM, _WARMTH), "attunement": _ATTUNEMENT, "voice_quality": _VOICE_QUALITY,
           "cues": [{"kind": TEXT, "message": TEXT, "value": NUM}]}
_MEASURES = {"disclaimer": TEXT, "network_delay_ms": NUM, "network_delay_note": TEXT, "config": None,
             "baseline": {"kind": TEXT, "speakers": {"*": _N_OBJ}}, "voice": _VOICE, "timing": _TIMING,
             "warmth": _WARMTH, "attunement": _ATTUNEMENT, "voice_quality": _VOICE_QUALITY,
             "silences": [{"start_s": NUM, "end_s": NUM, "duration_s": NUM, "broken_by": TEXT}],
             "rolling": [_WINDOW], "phases": None}  # phases: a list of windows or name -> window
# keys that must be there when their object is (the views read the rest with defaults: a document of an
# older version, or one made by another tool, may hold only some measures)
_REQUIRED = {id(_MEASURES["baseline"]): ("kind", "speakers")}


def _shape(v, spec, where: str) -> None:
    if spec is None:
        return
    if spec == NUM:
        _number(v, where, null=True)
    elif spec == TEXT:
        if v is not None and not isinstance(v, str):
            _fail(where, v, "expected text or null")
    elif isinstance(spec, tuple):  # a number or an object (a window's warmth in older documents: its score)
        if v is None or isinstance(v, numbers.Real) and not isinstance(v, bool):
            _number(v, where, null=True)
        else:
            _shape(v, spec[1], where)
    elif isinstance(spec, list):
        if v is None:
            return
        if not isinstance(v, list):
            _fail(where, v, "expected a list or null")
        for i, x in enumerate(v):
            if not isinstance(x, dict):
                _fail(f"{where}[{i}]", x, "expected an object")
            _shape(x, spec[0], f"{where}[{i}]")
    else:
        if v is None and id(spec) not in _REQUIRED:
            return
        if not isinstance(v, dict):
            _fail(where, v, "expected an object")
        for key in _REQUIRED.get(id(spec), ()):
            if v.get(key) is None:
                _fail(f"{where}.{key}", v.get(key), "missing: prosody writes it in every session")
        for key, x in v.items():
            sub = spec.get(key, spec.get("*", None))
            _shape(x, sub, f"{where}.{key}")


def check_measures(m, *, speakers, turn_taking: bool, where: str = "measures") -> None:
    """The ``measures`` object: every value prosody reads back has the type it
    wrote (docs/session-schema.md), so that a stored session can always be shown
    and reported. Unknown keys are kept as they are."""
    if m is None:
        return
    _shape(m, _MEASURES, where)
    phases = m.get("phases")
    if isinstance(phases, dict):  # also written as a mapping name -> window
        for name, w in phases.items():
            if not isinstance(w, dict):
                _fail(f"{where}.phases.{name}", w, "expected an object")
            _shape(w, _WINDOW, f"{where}.phases.{name}")
    else:
        _shape(phases, [_WINDOW], f"{where}.phases")
    att = m.get("attunement")
    if att is not None:  # the session's attunement is read cell by cell
        for key in ("n_exchanges", "note"):
            if att.get(key) is None:
                _fail(f"{where}.attunement.{key}", None, "missing: prosody writes it with every attunement")
        for kind in ("proximity", "synchrony", "convergence"):
            for feat in ("pitch", "intensity", "rate"):
                w = f"{where}.attunement.{kind}.{feat}"
                c = (att.get(kind) or {}).get(feat)
                if not isinstance(c, dict) or "value" not in c:
                    _fail(w, c, "expected an object {value, chance_low, chance_high, reading, n}")
                if c["value"] is not None and (c.get("chance_low") is None or c.get("chance_high") is None):
                    _fail(f"{w}.chance_high", c.get("chance_high"), "a value needs its chance interval")
    for i, c in enumerate((m.get("warmth") or {}).get("components") or []):
        if c.get("contribution") is not None and c.get("weight") is None:
            _fail(f"{where}.warmth.components[{i}].weight", None, "a contribution needs its weight")
    timing = m.get("timing")
    if turn_taking and isinstance(timing, dict) and timing:
        for s in speakers:
            if not isinstance(timing.get(s), dict):
                _fail(f"{where}.timing.{s}", timing.get(s), "expected an object for each speaker")


def check_bookmarks(marks, duration_s: float, *, where: str = "bookmarks") -> None:
    if marks is None:
        return
    if not isinstance(marks, (list, tuple)):
        _fail(where, marks, "expected a list of {time_s, note}")
    for i, b in enumerate(marks):
        if not isinstance(b, dict):
            _fail(f"{where}[{i}]", b, "expected an object {time_s, note}")
        # a live bookmark may be set on audio captured but not yet analysed when the session stopped
        _number(b.get("time_s"), f"{where}[{i}].time_s", lo=0.0, hi=MAX_DURATION_S)
        note = b.get("note")
        if note is not None and not isinstance(note, str):
            _fail(f"{where}[{i}].note", note, "expected text")
        if note:
            check_note_text(note, where=f"{where}[{i}].note")
            _shows_something(note, f"{where}[{i}].note")


def check_note_text(text, *, where: str = "note") -> None:
    """A note (a bookmark's, a supervisor's, a session's): text of at most ``MAX_TEXT_CHARS``
    characters, tabs and line feeds allowed, no other control character, UTF-8 text."""
    if not isinstance(text, str):
        _fail(where, text, "expected text")
    if len(text) > MAX_TEXT_CHARS:
        _fail(where, text[:20], f"longer than {MAX_TEXT_CHARS} characters")
    if _CONTROL_TEXT.search(text):
        _fail(where, text, "holds control characters")
    problem = text_problem(text)
    if problem is not None:
        _fail(where, text, problem)


def _shows_something(text: str, where: str) -> None:
    """A session's notes or a bookmark's note, which may be empty (none), refused where it is not empty but holds
    only characters no listing shows: a zero-width space alone cleared a session's notes (`edit --notes`), ZWJ or
    a right-to-left override alone was kept, shown as nothing (hostile sweep 42; names and supervisors' notes:
    sweep 41). White space alone is no note, as before."""
    if text.strip() and shows_nothing(text):
        _fail(where, text, NOTHING_SHOWN)


def check_note(text, *, author: str = "", where: str = "note") -> None:
    """A supervisor's note and its author (a name, or empty)."""
    check_note_text(text, where=where)
    if author:
        _name(author, f"{where}: author")


_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def check_recording_names(doc, *, where: str = "session document") -> None:
    """The file names a session document gives as text (``sources``, a live capture's
    ``recording_file`` and ``output_file``) hold no NUL byte: no file name can, and the outputs' guard, which
    keeps them from being overwritten, raised ValueError on one."""
    live = doc.get("live") if isinstance(doc.get("live"), dict) else {}
    named = [(f"sources[{i}]", s) for i, s in enumerate(doc.get("sources") or [])]
    named += [("live.recording_file", live.get("recording_file")), ("live.output_file", live.get("output_file"))]
    for key, name in named:
        if isinstance(name, str) and "\0" in name:
            _fail(f"{where}: {key}", name, "holds a NUL byte, which no file name can")


def check_audio_record(audio, speakers, *, where: str = "audio") -> None:
    """The ``audio`` object of an imported session (``prosody.clips``: the recordings it was
    analysed from, to play and cut clips from): one or two files, each a path (no NUL byte:
    no file name holds one), its SHA-256 and size; for each speaker the (file, channel) it is
    read from, a file of the list. A path, pick or offset that no analysis wrote made report,
    export and play fail with an internal error."""
    if audio is None:
        return
    if not isinstance(audio, dict):
        _fail(where, audio, "expected an object {files, picks, offset_s}")
    files = audio.get("files")
    if not isinstance(files, list) or not 1 <= len(files) <= 2:
        _fail(f"{where}.files", files, "expected a list of one or two recordings")
    for i, f in enumerate(files):
        w = f"{where}.files[{i}]"
        if not isinstance(f, dict):
            _fail(w, f, "expected an object {path, sha256, bytes}")
        path = f.get("path")
        if not isinstance(path, str) or not path or len(path) > 4096 or "\0" in path:
            _fail(f"{w}.path", path, "expected a file's path")
        if f.get("sha256") is not None and not (isinstance(f["sha256"], str) and _SHA256_RE.fullmatch(f["sha256"])):
            _fail(f"{w}.sha256", f["sha256"], "expected 64 lowercase hex digits or null")
        _number(f.get("bytes"), f"{w}.bytes", lo=0, hi=2 ** 63, null=True, integer=True)
    picks = audio.get("picks")
    if not isinstance(picks, dict):
        _fail(f"{where}.picks", picks, "expected an object speaker -> [file, channel]")
    for name, pick in picks.items():
        if name not in speakers:
            _fail(f"{where}.picks", name, "a speaker not in speaker_order")
        if not isinstance(pick, list) or len(pick) != 2:
            _fail(f"{where}.picks.{name}", pick, "expected [file, channel]")
        _number(pick[0], f"{where}.picks.{name}[0]", lo=0, hi=len(files) - 1, integer=True)
        _number(pick[1], f"{where}.picks.{name}[1]", lo=0, hi=1023, integer=True)
    _number(audio.get("offset_s"), f"{where}.offset_s", lo=-MAX_DURATION_S, hi=MAX_DURATION_S, null=True)


def check_supervisor_notes(notes, duration_s: float, *, where: str = "prosody_store.supervisor_notes") -> None:
    """The supervisor notes of an export, by the rules ``prosody note`` applies (``Store.add_note``):
    a time within the session (up to 1 s past its end), an end (or null) between that time and the
    session's end, some text, an author's name (or empty); what was written when and on what, text."""
    if notes is None:
        return
    if not isinstance(notes, list):
        _fail(where, notes, "expected a list of {time_s, end_s, text, author}")
    for i, n in enumerate(notes):
        w = f"{where}[{i}]"
        if not isinstance(n, dict):
            _fail(w, n, "expected an object {time_s, end_s, text, author}")
        _number(n.get("time_s"), f"{w}.time_s", lo=0.0, hi=duration_s + 1.0)
        _number(n.get("end_s"), f"{w}.end_s", lo=n["time_s"], hi=duration_s + 1.0, null=True)
        text, author = n.get("text"), n.get("author")
        if not isinstance(text, str) or not text.strip():
            _fail(f"{w}.text", text, "expected the note's text")
        if shows_nothing(text):  # imported where `prosody note` refuses it: shown as nothing
            _fail(f"{w}.text", text, NOTHING_SHOWN)
        if author is not None and not isinstance(author, str):
            _fail(f"{w}.author", author, "expected a name or empty text")
        check_note(text, author=author or "", where=w)
        for key in ("created_at", "moment"):
            v = n.get(key)
            if v is not None and not isinstance(v, str):
                _fail(f"{w}.{key}", v, "expected text")
        if n.get("moment"):
            check_note_text(n["moment"], where=f"{w}.moment")


def check_uid(uid, *, where: str = "uid") -> None:
    """A session uid names a file in the store: 8 or 16 lowercase hex digits, nothing else."""
    if uid is None:
        return
    if not isinstance(uid, str) or not UID_RE.fullmatch(uid):
        _fail(where, uid, "a session uid is 8 or 16 lowercase hex digits")


def check_meta_fields(*, therapist=None, client=None, recorded_at=None, session_number=None, notes="", tags=(),
                      where: str = "metadata") -> None:
    """The metadata of a session, from a file or the command line."""
    _name(therapist, f"{where}: therapist", null=True)
    _name(client, f"{where}: client", null=True)
    if recorded_at is not None:
        if not isinstance(recorded_at, str) or len(recorded_at) > 40:
            _fail(f"{where}: recorded_at", recorded_at, "expected an ISO 8601 date-time")
        try:
            datetime.fromisoformat(recorded_at)
        except ValueError:
            _fail(f"{where}: recorded_at", recorded_at, "expected an ISO 8601 date-time")
    _number(session_number, f"{where}: session_number", lo=0, hi=MAX_SESSION_NUMBER, null=True, integer=True)
    if notes is not None:
        if not isinstance(notes, str):
            _fail(f"{where}: notes", notes, "expected text")
        check_note_text(notes, where=f"{where}: notes")
        _shows_something(notes, f"{where}: notes")
    if not isinstance(tags, (list, tuple)):
        _fail(f"{where}: tags", tags, f"expected a list of at most {MAX_TAGS} tags")
    if len(tags) > MAX_TAGS:  # counted, not shown in Python's words (hostile sweep 63)
        raise InvalidSessionError(f"{where}: {len(tags)} tags, more than the {MAX_TAGS} a session may hold")
    for i, t in enumerate(tags):
        _name(t, f"{where}: tags[{i}]")


def check_store_meta(st, *, where: str = "prosody_store") -> None:
    """The ``prosody_store`` object of an exported JSON (see ``formats.export``)."""
    if st is None:
        return
    if not isinstance(st, dict):
        _fail(where, st, "expected an object")
    _walk(st, where, 0)
    fmt = st.get("format")
    if fmt is not None and fmt not in EXPORT_FORMATS_KNOWN:
        _fail(f"{where}.format", fmt, f"an export format this prosody does not know "
              f"({', '.join(EXPORT_FORMATS_KNOWN)}); upgrade prosody to import it")
    check_uid(st.get("uid"), where=f"{where}.uid")
    check_meta_fields(therapist=st.get("therapist"), client=st.get("client"), recorded_at=st.get("recorded_at"),
                      session_number=st.get("session_number"), notes=st.get("notes") or "",
                      tags=st.get("tags") if st.get("tags") is not None else [], where=where)
    fb = st.get("feedback")
    if fb is not None:
        if not isinstance(fb, list) or len(fb) > 10:
            _fail(f"{where}.feedback", fb, "expected a list of at most 10 ratings")
        for i, f in enumerate(fb):
            w = f"{where}.feedback[{i}]"
            if not isinstance(f, dict):
                _fail(w, f, "expected an object {kind, items, given_at}")
            kind, items = f.get("kind"), f.get("items")
            if kind not in ("srs", "rating"):
                _fail(f"{w}.kind", kind, "expected 'srs' or 'rating'")
            n, lo, hi = (4, 0, 10) if kind == "srs" else (1, 1, 5)
            if not isinstance(items, list) or len(items) != n:
                _fail(f"{w}.items", items, f"expected {n} whole number(s) {lo}-{hi}")
            for j, v in enumerate(items):
                _number(v, f"{w}.items[{j}]", lo=lo, hi=hi, integer=True)
            given = f.get("given_at")
            if not isinstance(given, str) or len(given) > 40:
                _fail(f"{w}.given_at", given, "expected an ISO 8601 date-time")
    ff = st.get("frames_file")
    if ff is not None and (not isinstance(ff, str) or not ff or len(ff) > 255 or "/" in ff or "\\" in ff
                           or ff in (".", "..") or _CONTROL.search(ff)):
        _fail(f"{where}.frames_file", ff, "expected a plain file name beside the JSON")
