"""Moments worth reviewing: a ranked list per session.

Pure functions of a stored session document (``prosody.session/*``), its
bookmarks and supervisor notes. Each candidate gets a *salience* in 0..1 by
its kind's rule (below); its score is ``weight[kind] * salience``. The list
keeps the best-scoring candidates, at most ``max_per_kind`` of a kind and
``max_total`` in all, none starting within ``min_gap_s`` of a better one
(bookmarks are exempt: a person chose them). Supervisor notes on a time are
written after the session: they follow the ranked list, numbered in the order
they were written, so that adding one never renumbers a moment a supervisor
refers to as "#3" (a note on a moment is shown with that moment). See
docs/moments.md.

Kinds and rules::

    interruption   the therapist took the floor from the client (or tried to):
                   salience 0.5 + 0.5 * min(1, overlap_s / 2); a failed attempt x 0.8
    monologue      a therapist turn >= monologue_min_s: min(1, length / (3 * monologue_min_s))
    silence        nobody spoke for >= silence_min_s: min(1, length / (3 * silence_min_s)),
                   x 1.2 when the client broke it (capped at 1)
    quick_answers  >= quick_run therapist answers in a row, each within quick_answer_s:
                   min(1, run / (2 * quick_run))
    warmth_dip     a rolling-warmth window >= warmth_change points below the session's median
    warmth_rise    ... above it: min(1, |difference| / (2 * warmth_change))
    cue            a live cue that fired (first window of a run of the same cue): 0.6
    bookmark       set during the session: 1.0
    note           a supervisor's note: 1.0

Times on the session's timeline, seconds from the start.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from .config import check_setting, unknown_keys
from .errors import ConfigError, parse_problem
from .measures.timing import quick_answer_runs, silent_stretches
from .timebase import clock_text
from .types import SPEAKER_NAME_MAX_CHARS, UNATTRIBUTED, name_problem

KINDS = ("interruption", "monologue", "silence", "quick_answers", "warmth_dip", "warmth_rise", "cue", "bookmark",
         "note")
KIND_LABELS = {"interruption": "talked over the client", "monologue": "long monologue", "silence": "long silence",
               "quick_answers": "quick answers in a row", "warmth_dip": "warmth dipped", "warmth_rise": "warmth rose",
               "cue": "cue fired", "bookmark": "bookmark", "note": "supervisor note"}
# a note's stored label ("talked over the client at 27.6 s", ``KIND_LABELS`` + the time) once `relabel` exchanged
# the two voices: the moments of the therapist's that it named are the client's now (``swapped_label``); the
# rolling warmth and the cues are the therapist's too, on windows both voices share (kept as they were, a note on
# the one therapist's warmth dip went onto the other's in the same window; hostile sweep 25)
SWAPPED_LABELS = {"talked over the client": "the client talked over you",
                  "long monologue": "the client's long monologue",
                  "quick answers in a row": "the client's quick answers in a row",
                  "warmth dipped": "the client's warmth dipped", "warmth rose": "the client's warmth rose",
                  "cue fired": "cue fired for the client"}
_LABEL_KIND = {v: k for k, v in KIND_LABELS.items()}
KIND_SHORT = {"interruption": "talk-over", "monologue": "monol.", "silence": "silence", "quick_answers": "quick",
              "warmth_dip": "w.dip", "warmth_rise": "w.rise", "cue": "cue", "bookmark": "bkmk", "note": "note"}
# a moment's numbers (``Moment.numbers``, keyed as in ``moments --json``) in words: the views said "overlap_s
# 0.56, failed 0" (user walk-through, 2026-12-04)
_NUMBER_WORDS = {"overlap_s": ("talking at once", " s"), "length_s": ("length", " s"), "answers": ("answers", ""),
                 "median_offset_s": ("typical wait", " s"), "warmth": ("warmth", ""),
                 "median": ("the session's median", ""), "value": ("value", "")}


def numbers_text(numbers) -> str:
    """``numbers`` ((key, value) pairs) as the terminal and the report show them."""
    out = []
    for k, v in numbers:
        if k == "failed":
            out.append("a failed attempt" if v else "took the floor")
            continue
        label, unit = _NUMBER_WORDS.get(k, (str(k).replace("_", " "), ""))
        out.append(f"{label} {v:+g}{unit}" if k == "median_offset_s" else f"{label} {v:g}{unit}")
    return ", ".join(out)


DEFAULT_WEIGHTS = (("interruption", 1.0), ("monologue", 0.9), ("silence", 0.8), ("quick_answers", 0.7),
                   ("warmth_dip", 0.8), ("warmth_rise", 0.5), ("cue", 0.6), ("bookmark", 1.2), ("note", 1.3))
PERSON_KINDS = ("bookmark", "note")


@dataclass(frozen=True)
class MomentsConfig:
    """How moments are picked and ranked (``[moments]`` in the config TOML)."""

    weights: tuple[tuple[str, float], ...] = DEFAULT_WEIGHTS
    max_per_kind: int = 3
    max_total: int = 12
    min_gap_s: float = 20.0
    monologue_min_s: float = 45.0
    silence_min_s: float = 5.0
    quick_run: int = 3
    quick_answer_s: float = 0.2
    warmth_change: float = 15.0
    therapist: str = "therapist"
    client: str = "client"

    def weight(self, kind: str) -> float:
        return dict(self.weights).get(kind, 0.0)

    def validate(self) -> "MomentsConfig":
        for kind, w in self.weights:
            if kind not in KINDS:
                raise ConfigError(f"moments weight for {kind!r}: unknown kind; known: {', '.join(KINDS)}")
            if not (isinstance(w, (int, float)) and 0.0 <= w <= 10.0):
                raise ConfigError(f"moments weight {kind}={w} must be within 0..10 (0 leaves the kind out)")
        for name, lo, hi in (("max_per_kind", 1, 100), ("max_total", 1, 500), ("quick_run", 2, 50)):
            v = getattr(self, name)
            if not (isinstance(v, int) and lo <= v <= hi):
                raise ConfigError(f"moments.{name}={v} must be a whole number within {lo}..{hi}")
        for name, lo, hi in (("min_gap_s", 0.0, 3600.0), ("monologue_min_s", 1.0, 3600.0),
                             ("silence_min_s", 0.5, 600.0), ("quick_answer_s", 0.0, 2.0),
                             ("warmth_change", 1.0, 100.0)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and lo <= v <= hi):
                raise ConfigError(f"moments.{name}={v} must be within {lo}..{hi}")
        for name in ("therapist", "client"):
            problem = name_problem(getattr(self, name))
            if problem is not None:
                raise ConfigError(f"moments.{name} = {getattr(self, name)!r}: {problem}; a speaker name is plain "
                                  f"text of at most {SPEAKER_NAME_MAX_CHARS} characters")
        if self.therapist == self.client:  # one voice would be both "you" and the client
            raise ConfigError(f"moments.therapist and moments.client are both {self.client!r}: they name two "
                              "speakers; give each its own name")
        return self

    @classmethod
    def from_dict(cls, d: dict) -> "MomentsConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"unknown key(s) in [moments]: {unknown_keys(unknown)}; "
                              f"known: {', '.join(sorted(names))}")
        kw = {}
        defaults = cls()
        for k, v in d.items():
            if k == "weights":
                if not isinstance(v, dict):
                    raise ConfigError("[moments] weights must be a table, e.g. weights = { silence = 0.5 }")
                kw[k] = tuple({**dict(DEFAULT_WEIGHTS),
                               **{str(a): check_setting(b, kind=float, where=f"moments.weights.{a}")
                                  for a, b in v.items()}}.items())
            else:
                kw[k] = check_setting(v, kind=type(getattr(defaults, k)), where=f"moments.{k}")
        return replace(defaults, **kw).validate()

    @classmethod
    def from_toml(cls, text: str) -> "MomentsConfig":
        """The ``[moments]`` table of a config file (other tables are ignored here)."""
        try:
            d = tomllib.loads(text)
        except (ValueError, RecursionError) as exc:  # TOMLDecodeError, over 4300 digits, deep nesting
            raise ConfigError(f"config is not valid TOML: {parse_problem(exc)}") from None
        return cls.from_table(d)

    @classmethod
    def from_table(cls, d: dict) -> "MomentsConfig":
        """The ``[moments]`` table of a parsed config file (other tables are ignored here)."""
        m = d.get("moments")
        if m is None:
            return cls()
        if not isinstance(m, dict):
            raise ConfigError(f"moments = {m!r}: expected a table, e.g. [moments] with max_total = 12")
        return cls.from_dict(m)


@dataclass(frozen=True)
class Moment:
    """One moment to review. ``rank``: 1 = best; ``score`` = weight x salience;
    ``why``: the rule that picked it and the score's parts."""

    rank: int
    kind: str
    start_s: float
    end_s: float
    what: str
    numbers: tuple[tuple[str, float], ...]
    score: float
    why: str
    speaker: str | None = None

    def to_dict(self) -> dict:
        return {"rank": self.rank, "kind": self.kind, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3), "what": self.what, "numbers": dict(self.numbers),
                "score": round(self.score, 4), "why": self.why, "speaker": self.speaker}


@dataclass
class _Cand:
    kind: str
    start_s: float
    end_s: float
    what: str
    salience: float
    rule: str
    numbers: dict = field(default_factory=dict)
    speaker: str | None = None
    notes: list = field(default_factory=list)  # supervisor notes on this moment (``_Cand`` of kind note)
    written: int = -1                          # a note's place in the order notes were written


def _roles(doc: dict, cfg: MomentsConfig) -> tuple[str | None, str | None]:
    """(therapist, client) by name, else channel order (``measures.registry.roles``): the
    therapist is None in a recording of the client alone, and no moment says "you" of them."""
    from .measures.registry import roles
    return roles(doc.get("speaker_order") or [], therapist=cfg.therapist, client=cfg.client)


def _who(spk, th, cl) -> str:
    if spk == UNATTRIBUTED:  # who spoke when is unsure: nobody's
        return f"speech left {UNATTRIBUTED} (who spoke when is unsure)"
    return "you" if spk == th else "the client" if spk == cl else str(spk)


def swapped_label(label: str) -> str:
    """A note's moment label with the two voices exchanged (``relabel``): "talked over the client at 27.6 s"
    <-> "the client talked over you at 27.6 s"; a label naming nobody's moment (a silence, a bookmark) as it is.
    Its own inverse: relabelled twice, the label is the one written."""
    head, at, when = label.rpartition(" at ")
    if not at:
        return label
    back = {v: k for k, v in SWAPPED_LABELS.items()}
    new = SWAPPED_LABELS.get(head) or back.get(head)
    return f"{new} at {when}" if new else label


def label_kind(label: str) -> str | None:
    """The kind of moment a note's stored label names ("talked over the client at 27.6 s": "interruption"), ""
    for a moment that is the other voice's since a `relabel` (no moment of the list is it), None for a label
    of no known form (a note written by an older prosody: any moment at its time)."""
    head = label.rpartition(" at ")[0]
    if head in _LABEL_KIND:
        return _LABEL_KIND[head]
    return "" if head in SWAPPED_LABELS.values() else None


def candidates(doc: dict, *, bookmarks=(), notes=(), cfg: MomentsConfig | None = None) -> list[_Cand]:
    """Every candidate moment of a session, unranked. Silences and runs of quick
    answers are found by the session measures' own rules (``measures.timing``:
    ``silent_stretches``, ``quick_answer_runs``)."""
    cfg = cfg or MomentsConfig()
    th, cl = _roles(doc, cfg)
    segs = [s for s in doc.get("segments") or [] if isinstance(s, dict)]
    out: list[_Cand] = []
    if doc.get("turn_taking"):
        out += _talk_overs(doc, segs, th, cl) + _monologues(doc, cfg, th) + _quick_answers(doc, cfg, th)
    out += _silences(segs, cfg, th, cl)
    m = doc.get("measures") if isinstance(doc.get("measures"), dict) else {}
    wins = [w for w in (m.get("rolling") or []) if isinstance(w, dict)]
    out += _warmth_turns(wins, cfg, th) + _cues(wins, th)
    out += [_Cand("bookmark", float(b.time_s), float(b.time_s), f"Bookmark: {b.note}" if b.note else
                  "Bookmark (no text)", 1.0, "set during the session: 1.0") for b in bookmarks]
    _add_notes(out, notes)
    return out


def _talk_overs(doc: dict, segs: list[dict], th: str, cl: str) -> list[_Cand]:
    """The therapist's interruptions and failed interruptions, by the overlap with the client's speech."""
    out = []
    for e in doc.get("events") or []:
        if e.get("speaker") != th or e.get("kind") not in ("interruption", "failed_interruption"):
            continue
        a, b = float(e["start_s"]), float(e["end_s"])
        ov = max((min(b, s["end_s"]) - a for s in segs
                  if s["speaker"] == cl and s["start_s"] <= a < s["end_s"]), default=0.0)
        failed = e["kind"] == "failed_interruption"
        sal = (0.5 + 0.5 * min(1.0, ov / 2.0)) * (0.8 if failed else 1.0)
        said = round(ov, 2)  # one rounding for the headline and the numbers (walk59: "0.6 s" beside "0.56 s")
        what = (f"You started speaking while the client was talking and {'they kept the floor' if failed else 'took the floor'}"
                f" ({said:g} s of talking at once)")
        out.append(_Cand("interruption", a, b, what, sal,
                         "therapist interruption: 0.5 + 0.5 x min(1, overlap / 2 s)" + (" x 0.8 (failed)" if failed else ""),
                         {"overlap_s": said, "failed": float(failed)}, th))
    return out


def _monologues(doc: dict, cfg: MomentsConfig, th: str) -> list[_Cand]:
    """The therapist's turns of ``cfg.monologue_min_s`` or longer."""
    out = []
    for t in doc.get("turns") or []:
        dur = t["end_s"] - t["start_s"]
        if t["speaker"] == th and dur >= cfg.monologue_min_s:
            sal = min(1.0, dur / (3 * cfg.monologue_min_s))
            said = float(round(dur))
            out.append(_Cand("monologue", t["start_s"], t["end_s"],
                             f"You held the floor for {said:g} s without the client taking a turn", sal,
                             f"therapist turn >= {cfg.monologue_min_s:g} s: min(1, length / "
                             f"{3 * cfg.monologue_min_s:g} s)", {"length_s": said}, th))
    return out


def _quick_answers(doc: dict, cfg: MomentsConfig, th: str) -> list[_Cand]:
    """Runs of ``cfg.quick_run`` or more therapist answers within ``cfg.quick_answer_s`` of the client stopping."""
    out = []
    answers = [t for t in sorted(doc.get("transitions") or [], key=lambda t: t["to_start_s"])
               if t["to_speaker"] == th]
    for i, j in quick_answer_runs([t["offset_s"] for t in answers], under_s=cfg.quick_answer_s,
                                  min_run=cfg.quick_run):
        run = answers[i:j]
        sal = min(1.0, len(run) / (2 * cfg.quick_run))
        offs = [r["offset_s"] for r in run]
        out.append(_Cand("quick_answers", run[0]["from_end_s"], run[-1]["to_start_s"] + 2.0,
                         f"You answered within {cfg.quick_answer_s * 1000:.0f} ms of the client stopping, or "
                         f"in overlap, {len(run)} times in a row",
                         sal, f">= {cfg.quick_run} therapist answers in a row within "
                         f"{cfg.quick_answer_s * 1000:.0f} ms: min(1, run / {2 * cfg.quick_run})",
                         {"answers": float(len(run)), "median_offset_s": round(sorted(offs)[len(offs) // 2], 2)},
                         th))
    return out


def _silences(segs: list[dict], cfg: MomentsConfig, th: str, cl: str) -> list[_Cand]:
    """Silences of ``cfg.silence_min_s`` or longer, from the segments (all speakers), whoever broke them; from
    the start, with no end."""
    out = []
    for a, b, by in silent_stretches(((s["start_s"], s["end_s"], s["speaker"]) for s in segs), start_s=0.0,
                                     end_s=None, min_s=cfg.silence_min_s):
        gap = b - a
        sal = min(1.0, gap / (3 * cfg.silence_min_s) * (1.2 if by == cl else 1.0))
        said = float(round(gap))
        out.append(_Cand("silence", a, b,
                         f"{said:g} s of silence, broken by {_who(by, th, cl)}", sal,
                         f"nobody spoke for >= {cfg.silence_min_s:g} s: min(1, length / "
                         f"{3 * cfg.silence_min_s:g} s){' x 1.2 (the client broke it)' if by == cl else ''}",
                         {"length_s": said}, by))
    return out


def _warmth_turns(wins: list[dict], cfg: MomentsConfig, th: str) -> list[_Cand]:
    """Rolling windows whose warmth is a local low or high ``cfg.warmth_change`` points or more from the
    session's median (of 3 windows or more)."""
    out: list[_Cand] = []
    scored = [(w, (w.get("warmth") or {}).get("score")) for w in wins if isinstance(w.get("warmth"), dict)]
    scored = [(w, s) for w, s in scored if isinstance(s, (int, float)) and math.isfinite(s)]
    if len(scored) < 3:
        return out
    vals = sorted(s for _, s in scored)
    med = vals[len(vals) // 2]
    for i, (w, s) in enumerate(scored):
        prev = scored[i - 1][1] if i > 0 else None
        nxt = scored[i + 1][1] if i + 1 < len(scored) else None
        d = s - med
        if abs(d) < cfg.warmth_change:
            continue
        lowest = (prev is None or s <= prev) and (nxt is None or s < nxt)
        highest = (prev is None or s >= prev) and (nxt is None or s > nxt)
        if (d < 0 and not lowest) or (d > 0 and not highest):
            continue
        kind = "warmth_dip" if d < 0 else "warmth_rise"
        a, b = float(w.get("start_s") or 0.0), float(w.get("end_s") or 0.0)
        rs, rm = float(round(s)), float(round(med))  # warmth is said in whole points, headline and numbers alike
        out.append(_Cand(kind, a, b, f"Rolling warmth {'fell' if d < 0 else 'rose'} to {rs:g} "
                         f"({abs(rs - rm):g} points {'below' if d < 0 else 'above'} the session's median {rm:g}) "
                         f"over {clock_text(a)}–{clock_text(b)}",
                         min(1.0, abs(d) / (2 * cfg.warmth_change)),
                         f"a local {'low' if d < 0 else 'high'} of rolling warmth >= {cfg.warmth_change:g} points "
                         f"from the median: min(1, difference / {2 * cfg.warmth_change:g})",
                         {"warmth": rs, "median": rm}, th))
    return out


def _cues(wins: list[dict], th: str) -> list[_Cand]:
    """Each live cue at the first window of a run of windows that show it."""
    out = []
    active: set[str] = set()
    for w in wins:
        kinds = {c.get("kind") for c in w.get("cues") or [] if isinstance(c, dict)}
        for c in w.get("cues") or []:
            if isinstance(c, dict) and c.get("kind") not in active:
                t = float(w.get("end_s") or 0.0)
                out.append(_Cand("cue", max(0.0, t - 10.0), t, f"Cue: {c.get('message') or c.get('kind')}", 0.6,
                                 "a live cue fired (first window of a run): 0.6",
                                 {"value": float(c["value"])} if isinstance(c.get("value"), (int, float)) else {}, th))
        active = kinds
    return out


def _add_notes(out: list[_Cand], notes) -> None:
    """A supervisor's notes, in the order written: each on the moment it was written on (its kind and time; was
    any moment starting within 0.05 s of it, a bookmark's note on a talk-over at the same time; 2026-12-05),
    else a moment of its own."""
    for k, n in enumerate(sorted(notes, key=_written_order)):
        t = float(n.time_s)
        end = float(n.end_s) if n.end_s is not None else t
        cand = _Cand("note", t, end, f"{n.text} ({n.author})" if n.author else n.text, 1.0,
                     "a supervisor's note: 1.0", written=k)
        kind = label_kind(n.moment) if n.moment else ""
        host = next((c for c in out if n.moment and c.kind != "note" and kind in (None, c.kind)
                     and abs(c.start_s - t) < 0.05), None)
        if host is not None:  # a note on a moment stays with it
            host.what += f" · note{' by ' + n.author if n.author else ''}: {n.text}"
            host.notes.append(cand)  # shown on its own when the ranking leaves the moment out
            continue
        out.append(cand)


def written_at(text) -> datetime | None:
    """A note's ``created_at`` (ISO text, with or without a fraction of a second or a zone) as a local time
    without a zone; None when it cannot be read. Compared as times, not as text: a note imported with a zone
    (``...T10:00:00+05:00``) sorted by its text among notes written here."""
    try:
        t = datetime.fromisoformat(str(text))
        return t.astimezone().replace(tzinfo=None) if t.tzinfo is not None else t
    except (ValueError, OverflowError, OSError):  # OverflowError, OSError: a zone's shift past year 1 or 9999
        return None


def _written_order(note) -> tuple:
    """Notes in the order they were written (``created_at``; the same time, or none: by time on the session)."""
    return (written_at(getattr(note, "created_at", "") or "") or datetime.min, float(note.time_s))


def moments(doc: dict, *, bookmarks=(), notes=(), cfg: MomentsConfig | None = None) -> list[Moment]:
    """The moments of a session: the ranked list (best first), then the supervisor
    notes on a time in the order they were written; ``rank`` numbers them all
    1..n in that order, so a note added later takes the next number and no
    moment's number changes. ``bookmarks``: objects with ``time_s``, ``note``;
    ``notes``: ``formats.bundle.Note`` values."""
    cfg = cfg or MomentsConfig()
    cands = candidates(doc, bookmarks=bookmarks, notes=notes, cfg=cfg)
    later = [c for c in cands if c.kind == "note"]  # already in the order written
    scored = [(cfg.weight(c.kind) * c.salience, c) for c in cands if cfg.weight(c.kind) > 0 and c.kind != "note"]
    scored.sort(key=lambda x: (-x[0], x[1].start_s, KINDS.index(x[1].kind)))
    picked: list[tuple[float, _Cand]] = []
    per_kind: dict[str, int] = {}
    for score, c in scored:
        if len(picked) >= cfg.max_total:
            break
        if per_kind.get(c.kind, 0) >= cfg.max_per_kind:
            continue
        if c.kind not in PERSON_KINDS and any(p.kind not in PERSON_KINDS and abs(p.start_s - c.start_s) < cfg.min_gap_s
                                              for _, p in picked):
            continue
        picked.append((score, c))
        per_kind[c.kind] = per_kind.get(c.kind, 0) + 1
    if cfg.weight("note") > 0:  # a weight of 0 leaves notes out, as any kind
        # a note on a moment the ranking leaves out (its kind's weight 0, --max, the gap) is not lost:
        # it follows the list as a note on a time, in the order written
        kept = {id(c) for _, c in picked}
        later += [n for c in cands if c.kind != "note" and id(c) not in kept for n in c.notes]
        later.sort(key=lambda c: c.written)
        picked += [(cfg.weight("note") * c.salience, c) for c in later]
    return [Moment(rank=i + 1, kind=c.kind, start_s=float(c.start_s), end_s=float(c.end_s), what=c.what,
                   numbers=tuple((k, float(v)) for k, v in c.numbers.items()), score=score,
                   why=f"{c.rule}; score {score:.2f} = weight {cfg.weight(c.kind):g} x {c.salience:.2f}",
                   speaker=c.speaker)
            for i, (score, c) in enumerate(picked)]


def count_by_kind(ms) -> dict[str, int]:
    """Moments per kind (every kind, zeros included)."""
    out = {k: 0 for k in KINDS}
    for m in ms:
        out[m.kind] += 1
    return out


__all__ = ["KINDS", "KIND_LABELS", "Moment", "MomentsConfig", "candidates", "count_by_kind", "label_kind", "moments",
           "numbers_text", "swapped_label"]
