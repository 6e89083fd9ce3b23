"""ELAN annotation document (EAF 3.0) writer of a session's tiers
(``formats.tiers.session_tiers``).

Times are integer milliseconds in one TIME_ORDER; one tier per speaker for
speech and for turns (PARTICIPANT = the speaker), one per event kind, one for
bookmarks and one per extra point tier. ELAN annotations are intervals, so a
point item becomes an annotation from its time to ``POINT_S`` later (or to
the next point on its tier, or the session end, whichever is first). Labels,
tier names and participants are made one line of printable text
(``tiers.clean_label``: XML 1.0 forbids most control characters, which
``xml.etree`` would write raw), then XML-escaped by the serialiser (``xml.etree``)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Iterable, Mapping, Sequence

from ..fileio import EAF_AUDIO_PROPERTY, EAF_UID_PROPERTY
from .tiers import Tier, clean_label, session_tiers

POINT_S = 0.1
LINGUISTIC_TYPE = "prosody"
EAF_XSD = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"


def _ms(t_s: float) -> int:
    return int(round(t_s * 1000.0))


def tiers_to_eaf(tiers: list[Tier], duration_s: float, *, date: str = "1970-01-01T00:00:00Z",
                 properties: Sequence[tuple[str, str]] = ()) -> str:
    """``properties``: (name, value) pairs of the header's ``PROPERTY`` elements (EAF 3.0 keeps any there, as
    ELAN keeps its own ``URN``; pympi reads them into ``Eaf.properties``)."""
    root = ET.Element("ANNOTATION_DOCUMENT", {
        "AUTHOR": "prosody", "DATE": date, "FORMAT": "3.0", "VERSION": "3.0",
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "xsi:noNamespaceSchemaLocation": EAF_XSD})
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    for name, value in properties:
        ET.SubElement(header, "PROPERTY", {"NAME": name}).text = value
    order = ET.SubElement(root, "TIME_ORDER")
    slots: list[int] = []

    def slot(t_s: float) -> str:
        slots.append(_ms(t_s))
        ET.SubElement(order, "TIME_SLOT", {"TIME_SLOT_ID": f"ts{len(slots)}", "TIME_VALUE": str(slots[-1])})
        return f"ts{len(slots)}"

    n_ann = 0
    for tier in tiers:
        attrs = {"LINGUISTIC_TYPE_REF": LINGUISTIC_TYPE, "TIER_ID": clean_label(tier.name)}
        if tier.participant:
            attrs["PARTICIPANT"] = clean_label(tier.participant)
        el = ET.SubElement(root, "TIER", attrs)
        if tier.kind == "interval":
            spans = [(it.start_s, it.end_s, it.label) for it in tier.items]
        else:
            nxt = [it.time_s for it in tier.items[1:]] + [duration_s]
            spans = [(it.time_s, min(it.time_s + POINT_S, n, duration_s), it.label)
                     for it, n in zip(tier.items, nxt)]
        for a, b, label in spans:
            if _ms(b) <= _ms(a):
                b = a + 0.001
            n_ann += 1
            ann = ET.SubElement(ET.SubElement(el, "ANNOTATION"), "ALIGNABLE_ANNOTATION", {
                "ANNOTATION_ID": f"a{n_ann}", "TIME_SLOT_REF1": slot(a), "TIME_SLOT_REF2": slot(b)})
            ET.SubElement(ann, "ANNOTATION_VALUE").text = clean_label(label)
    ET.SubElement(root, "LINGUISTIC_TYPE", {"GRAPHIC_REFERENCES": "false", "LINGUISTIC_TYPE_ID": LINGUISTIC_TYPE,
                                            "TIME_ALIGNABLE": "true"})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def session_eaf(doc: dict, *, bookmarks: Sequence = (),
                extra_points: Mapping[str, Iterable[tuple[float, str]]] | None = None, uid: str | None = None) -> str:
    """A session document (and its bookmarks, and extra point tiers: name ->
    [(time_s, label)]) as an ELAN EAF 3.0 document. Its header names whose it is, so that prosody writes it
    again without --overwrite (``fileio.eaf_marks``; hostile sweep 40): the stored session's ``uid`` (an export)
    and the SHA-256 of each file the session was analysed from (its ``audio.files``), as properties."""
    return tiers_to_eaf(session_tiers(doc, bookmarks=bookmarks, extra_points=extra_points),
                        float(doc.get("duration_s") or 0.0), properties=_whose(doc, uid))


def _whose(doc: dict, uid: str | None) -> list[tuple[str, str]]:
    """The header properties that say whose an EAF is (``session_eaf``)."""
    audio = doc.get("audio") if isinstance(doc.get("audio"), dict) else {}
    hashes = [f.get("sha256") for f in audio.get("files") or [] if isinstance(f, dict)]
    marks = [(EAF_UID_PROPERTY, uid)] if uid else []
    if hashes and all(isinstance(h, str) for h in hashes):
        marks += [(EAF_AUDIO_PROPERTY, h) for h in hashes]
    return marks
