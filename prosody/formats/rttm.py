"""RTTM: a session's speech segments, one ``SPEAKER`` line each (writer only)."""
from __future__ import annotations

from typing import Iterable, Sequence

from ..errors import InputError
from ..typed_text import rttm_clash, rttm_token
from ..types import Segment


def segments_rttm(segments: Iterable[Segment], *, speakers: Sequence[str], uri: str) -> str:
    """Speech segments as RTTM lines, in order of start time (then speaker).
    ``uri`` (a file name) and the speaker labels are typed text: each is
    written as one token (whitespace and control characters as ``_``), so a
    label never adds a field or a line. ``speakers``: every speaker of the
    session (two that would be written alike are refused, with or without
    segments)."""
    uri = rttm_token(uri, empty="session")
    clash = rttm_clash(sorted(speakers))
    if clash is not None:
        raise InputError(f"speakers {clash[0]!r} and {clash[1]!r} would both be {rttm_token(clash[0])!r} in "
                         "RTTM, which separates fields by spaces: rename one of them")
    segments = tuple(segments)
    names = {spk: rttm_token(spk) for spk in {s.speaker for s in segments}}
    return "".join(f"SPEAKER {uri} 1 {s.start_s:.3f} {s.duration_s:.3f} <NA> <NA> {names[s.speaker]} <NA> <NA>\n"
                   for s in sorted(segments, key=lambda s: (s.start_s, s.speaker)))
