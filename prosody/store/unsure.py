"""Sessions stored unsure before the forty-sixth round (docs/speakers.md), read as that round reads them.

Until then the one voice of a recording whose split in two was withheld as unsure was named the therapist (by
the no-profile rule, or a voice profile near the mix), and its stored document carries the therapist's warmth,
cues and store role computed over speech that may be both people's. Such a document is recognised by its
``attribution.diarization.unsure`` record (true) beside one speaker not named ``UNATTRIBUTED``. The stored
document is left as it was saved (the user's data, exported unchanged by an older prosody too); every read
(``Store.get``, ``Store.read``: show, report, compare, moments, export) sees it as an analysis does now: its
voice named ``UNATTRIBUTED``, no warmth and no cues (the reason said), the naming assumption gone, and a
warning saying why. The store's derived tables (speakers' roles, measures, warmth score: trend, compare,
sessions) follow the same reading (``Store.save`` and the schema's fifth migration).
"""
from __future__ import annotations

import copy

from ..types import UNATTRIBUTED


def stored_unsure_name(doc: dict) -> str | None:
    """The name an unsure session saved before the forty-sixth round gave its one voice; None for any other."""
    order = doc.get("speaker_order") if isinstance(doc, dict) else None
    att = doc.get("attribution") if isinstance(doc, dict) else None
    dz = att.get("diarization") if isinstance(att, dict) else None
    if (isinstance(order, list) and len(order) == 1 and isinstance(order[0], str) and order[0] != UNATTRIBUTED
            and isinstance(dz, dict) and dz.get("unsure") is True):
        return order[0]
    return None


def read_note(name: str) -> str:
    """The warning a session read so carries: what it is read as, and why."""
    return (f"who spoke when was said unsure when this session was analysed, and its one voice was saved as {name!r} "
            f"by an earlier prosody: it is read as {UNATTRIBUTED} (its speech may be both people's), without warmth "
            "or cues; the stored session is unchanged, and analysing the recording again gives the same reading")


# a voice's figures measured against a baseline (measures.voice): a personal baseline is one person's, so the
# speech of an unsure session (maybe both people's) is not compared with it (an analysis now compares it with its
# own session; an old document's figures against the therapist's profile are left out, as its frames are not read)
PROFILE_RELATIVE = ("f0_median_rel_st", "pitch_raised_share", "level_rel_db", "level_raised_share",
                    "articulation_rate_rel", "rushed_share", "arousal_z")
PROFILE_NOTE = ("its voice figures measured against the therapist's personal baseline (--baseline) are left out: "
                "the speech may be both people's; analysing the recording again compares it with its own session")


def _against_profile(m: dict) -> bool:
    """Whether the measures ``m`` were taken against a personal baseline (``--baseline``)."""
    base = m.get("baseline")
    return isinstance(base, dict) and base.get("kind") == "profile"


def _without_profile_figures(block: dict) -> None:
    """In one measures block (the session's, a phase's, a window's), the unattributed voice's figures measured
    against the profile set to null, and the profile (the therapist's) no longer given as that voice's."""
    voice = block.get("voice")
    v = voice.get(UNATTRIBUTED) if isinstance(voice, dict) else None
    if isinstance(v, dict):
        for k in PROFILE_RELATIVE:
            if k in v:
                v[k] = None
        if "arousal_parts" in v:
            v["arousal_parts"] = {}
    base = block.get("baseline")
    if isinstance(base, dict) and isinstance(base.get("speakers"), dict):
        base["speakers"] = {k: b for k, b in base["speakers"].items() if k != UNATTRIBUTED}


def as_unattributed(doc: dict) -> dict | None:
    """``doc`` as a session analysed now reads (``stored_unsure_name``); None where it is not such a session.
    ``doc`` itself is not changed."""
    name = stored_unsure_name(doc)
    if name is None:
        return None
    from ..measures.registry import disclaimer_for
    from ..measures.summary import no_therapist_warmth
    from ..relabel import _swap_measure_tree, exchange_names
    pair = (name, UNATTRIBUTED)
    new = copy.deepcopy(doc)
    new["speaker_order"] = [UNATTRIBUTED]
    exchange_names(doc, new, pair)  # the one voice renamed: the speakers' figures, timed lists, channels, picks
    assumed = lambda w: str(w).startswith("assumption:")  # noqa: E731 - the naming's, which no longer holds
    att = new["attribution"]
    att["speakers"] = [UNATTRIBUTED]
    if isinstance(att.get("naming"), dict):
        from ..engine.speakers import UNSURE_NOTE
        nm = att["naming"]
        names = [str(n) for n in nm.get("names") or []]
        nm["names"] = [UNATTRIBUTED] + [n for n in names if n != name][:1]
        nm["rule"] = f"{UNSURE_NOTE}: the one voice kept is left {UNATTRIBUTED}, neither the therapist nor the client"
        nm["assumption"], nm["confidence"] = False, 0.0
    if isinstance(att.get("warnings"), list):
        att["warnings"] = [w for w in att["warnings"] if not assumed(w)]
    m = doc.get("measures")
    if isinstance(m, dict):
        m2 = _swap_measure_tree(m, pair)
        speakers = [UNATTRIBUTED]
        if "disclaimer" in m2:
            m2["disclaimer"] = disclaimer_for(speakers)
        blocks = [m2] + [b for k in ("phases", "rolling") for b in (m2.get(k) or []) if isinstance(b, dict)]
        profiled = _against_profile(m2)
        for block in blocks:
            if "warmth" in block:
                block["warmth"] = no_therapist_warmth(speakers)
            if "cues" in block:
                block["cues"] = []  # addressed to the therapist (measures.summary)
            if profiled:
                _without_profile_figures(block)
        new["measures"] = m2
    else:
        profiled = False
    new["warnings"] = [w for w in doc.get("warnings") or [] if not assumed(w)] + [read_note(name)] + \
        ([PROFILE_NOTE] if profiled else [])
    return new


def frames_as_unattributed(frames: dict | None, name: str | None) -> dict | None:
    """A stored session's ``frames`` keyed as ``as_unattributed`` names its voice, saved as ``name`` (the
    frames file keeps the stored name)."""
    if frames is None or name is None or name not in frames:
        return frames
    return {(UNATTRIBUTED if k == name else k): v for k, v in frames.items()}
