"""The audio a voice profile is built from (``prosody enrol``, issue 9 item 4):
a recording of the therapist alone, or one speaker of a saved session at the
frames where only that speaker speaks. The profile itself is
``engine.speakers.build_profile`` / ``profile_from_frames``."""
from __future__ import annotations

import numpy as np

from .errors import InputError
from .timebase import GRID
from .types import UNATTRIBUTED


def recording_mix(path: str, *, channel: int | None = None) -> tuple[np.ndarray, list[str]]:
    """((n_samples,) float32 at 16 kHz: the mean of one file's channels (or its
    0-based ``channel`` alone: the first or second), read as the analysis reads it
    (``engine.sources.FileSource``);
    what the reader found wrong with the file as `analyze` says it: cut short, damaged (`enrol`
    built a profile of a truncated file unsaid: hostile sweep 48))."""
    mix, pair, said = recording_channels(path)
    if channel is not None and 0 <= channel < pair.shape[1]:  # a shared or mono session's file: one or two channels
        return pair[:, channel].copy(), said
    return mix, said


def recording_channels(path: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(the mean of one file's channels, (n_samples,); its first two channels (one for a mono file),
    (n_samples, 1 or 2); what the reader found wrong with it), float32 at 16 kHz, as ``recording_mix`` reads
    it. Each block is reduced to those three columns as read: every channel of the file was held, twice (its
    blocks, then joined), so `enrol` of an 8-channel 10-minute file peaked at 950 MB, and one of an hour of
    64 channels could not be held at all (hostile sweep 55)."""
    from .engine.sources import FileSource, Layout
    probe = FileSource([path], Layout(("x",), ((0, 0),)))
    n = probe.files[0].channels
    src = FileSource([path], Layout(tuple(f"c{i}" for i in range(n)), tuple((0, i) for i in range(n))))
    size = int((src.duration_s or 0.0) * GRID.sample_rate) + GRID.sample_rate  # grown where the header said less
    mix, pair, got = np.empty(size, np.float32), np.empty((size, min(n, 2)), np.float32), 0
    for b in src:
        if got + len(b) > len(mix):
            size = max(2 * len(mix), got + len(b))
            mix, pair = np.resize(mix, size), np.resize(pair, (size, pair.shape[1]))
        mix[got:got + len(b)] = b.mean(axis=1)
        pair[got:got + len(b)] = b[:, :2]
        got += len(b)
    said = [w for f in src.files for w in f.warnings]
    return mix[:got], pair[:got], said  # views: at most the header's second more held


def session_voice(doc: dict, frames: dict | None, *, speaker: str | None = None,
                  session_id: int | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(samples, speech, speaker) of one speaker of a saved session (``doc``, its
    ``frames``): the verified audio (``prosody.clips.locate``) at 16 kHz, (n_samples,)
    float32, and ``speech`` (n_frames,) bool on GRID: the frames where this speaker
    and nobody else speaks (never the overlap). A separate-channel session gives the
    speaker's own channel; a shared or mono one the file's channel mean, at the
    frames diarization gave this voice. ``speaker``: default the session's first."""
    import soxr

    from .clips import channel_used, locate
    from .session import attribution_of
    which = f"session {session_id}" if session_id is not None else "the session"
    from .measures.registry import roles
    order = list(doc["speaker_order"])
    att = doc.get("attribution") if isinstance(doc.get("attribution"), dict) else {}
    dz = att.get("diarization") if isinstance(att.get("diarization"), dict) else {}
    if speaker is None:  # the therapist by role, not the first in channel order (--channels client=left,...
        th = roles(order)[0]  # put the client first, and her voice was enrolled as the therapist's)
        if th is None and UNATTRIBUTED not in order and dz.get("unsure") is not True:
            raise InputError(f"{which} holds no therapist (its speakers: {', '.join(order)}); give the voice to "
                             "enrol with --speaker NAME")
        speaker = th or order[0]
    if speaker not in order:
        raise InputError(f"--speaker {speaker}: {which} holds {', '.join(order)}")
    if speaker == UNATTRIBUTED or dz.get("unsure") is True:  # a session saved before the name, too
        raise InputError(f"who spoke when is unsure in {which}: its speech may be either person's or both "
                         "people's, and a profile built from it may not be the therapist's alone; enrol from a recording of the therapist "
                         "alone")
    if frames is None:
        raise InputError(f"{which} was saved without per-frame features: enrol from a recording")
    audio, why = locate(doc, use="build the voice profile from")
    if audio is None:
        raise InputError(f"{which}: {why}")
    layout, _ = attribution_of(doc)
    if layout == "separate":
        x = audio.cut(0.0, float(doc["duration_s"]))[:, order.index(speaker)]
        if audio.sample_rate != GRID.sample_rate:
            x = soxr.resample(x, audio.sample_rate, GRID.sample_rate).astype(np.float32)
    else:  # shared / mono: the one mix (or the one live channel), at the frames diarization gave this voice
        x, _ = recording_mix(audio.files[0], channel=channel_used(doc))  # the analysed file, unchanged: said then
    mask = np.asarray(frames[speaker]["is_speech"], bool).copy()
    for other in order:
        if other != speaker:
            mask &= ~np.asarray(frames[other]["is_speech"], bool)  # never the overlap
    return x, mask, speaker


def naming_assumed(doc: dict) -> str | None:
    """The rule a saved session's speakers were named by, where that naming is an assumption (no voice
    profile: the voice heard first taken for the therapist; ``attribution.naming.assumption``), else None. A
    profile built from such a session is of a guessed voice (hostile sweep 35); a relabel confirms it."""
    att = doc.get("attribution") if isinstance(doc.get("attribution"), dict) else {}
    naming = att.get("naming") if isinstance(att.get("naming"), dict) else {}
    return str(naming.get("rule") or "its speakers' names were assumed") if naming.get("assumption") is True else None
