"""What a session export carries (document, metadata, bookmarks, feedback,
frames) and the check of a session document before it is accepted."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import StoreError

@dataclass(frozen=True)
class SessionMeta:
    """Who and when. ``client`` is a pseudonym: prosody never needs a real name.
    ``recorded_at``: ISO 8601 local date-time of the session start."""

    therapist: str | None = None
    client: str | None = None
    recorded_at: str | None = None
    session_number: int | None = None
    notes: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bookmark:
    time_s: float
    note: str = ""


@dataclass(frozen=True)
class Note:
    """A supervisor's note on a time (``end_s`` None) or a stretch of the session.
    ``text`` and ``author`` are typed by a person: escape them wherever shown.
    ``moment``: what the note was attached to (e.g. ``"3: long silence"``), or ""."""

    time_s: float
    text: str
    end_s: float | None = None
    author: str = ""
    created_at: str = ""
    moment: str = ""


@dataclass(frozen=True)
class Feedback:
    """The client's view of the session: the Session Rating Scale (``kind="srs"``,
    four items 0-10, Duncan et al. 2003) or a simple rating (``kind="rating"``, 1-5)."""

    kind: str
    items: tuple[int, ...]
    given_at: str

    @property
    def total(self) -> int:
        return sum(self.items)


@dataclass
class ExportBundle:
    """What an export carries: document, metadata, bookmarks, feedback, frames, notes."""

    doc: dict
    meta: SessionMeta = field(default_factory=SessionMeta)
    bookmarks: tuple[Bookmark, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    frames: dict[str, dict[str, np.ndarray]] | None = None
    uid: str | None = None
    notes: tuple[Note, ...] = ()


def validate_doc(doc) -> None:
    if not isinstance(doc, dict):
        raise StoreError(f"a session document must be a JSON object, not {type(doc).__name__}")
    schema = doc.get("schema")
    if not isinstance(schema, str) or not schema.startswith("prosody.session/"):
        raise StoreError(f"not a prosody session (schema={schema!r}; expected 'prosody.session/N')")
    for key, typ in (("speaker_order", list), ("speakers", dict), ("duration_s", (int, float))):
        if not isinstance(doc.get(key), typ):
            raise StoreError(f"session document: '{key}' missing or of the wrong type ({doc.get(key)!r})")
