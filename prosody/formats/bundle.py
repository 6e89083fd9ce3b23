"""What a session export carries (document, metadata, bookmarks, feedback,
frames) and the check of a session document before it is accepted."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
    """What an export carries: document, metadata, bookmarks, feedback, frames."""

    doc: dict
    meta: SessionMeta = field(default_factory=SessionMeta)
    bookmarks: tuple[Bookmark, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    frames: dict[str, dict[str, np.ndarray]] | None = None
    uid: str | None = None


def validate_doc(doc) -> None:
    """Raise ``InvalidSessionError`` (a StoreError) unless ``doc`` is a session
    document as docs/session-schema.md describes it (``formats.schema``)."""
    from .schema import check_session_doc
    check_session_doc(doc)
