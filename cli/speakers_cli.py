"""`prosody analyze --layout`: find the layout of one file and, for shared or mono
audio, cut speaker channels by diarization (prosody.speakers). No rules here."""
from __future__ import annotations

import numpy as np

from prosody.errors import InputError

PROBE_S = 60.0


class VoiceChannels:
    """Speaker channels cut from one file, served in 2 s blocks like ``FileSource``."""

    def __init__(self, audio: np.ndarray, speakers: tuple[str, ...], warnings: list[str]):
        self.audio = np.ascontiguousarray(audio, dtype=np.float32)
        self.speakers = speakers
        self.warnings = warnings

    @property
    def duration_s(self) -> float:
        return len(self.audio) / 16000

    def __iter__(self):
        step = 2 * 16000
        for a in range(0, len(self.audio), step):
            yield self.audio[a:a + step]


def _read(args, n_channels: int, *, limit_s: float | None = None):
    from prosody.engine.sources import FileSource, Layout

    names = tuple(f"c{i}" for i in range(n_channels))
    src = FileSource(args.files, Layout(names, tuple((0, i) for i in range(n_channels))))
    blocks, got = [], 0
    for b in src:
        blocks.append(b)
        got += len(b)
        if limit_s is not None and got >= limit_s * 16000:
            break
    audio = np.concatenate(blocks) if blocks else np.zeros((0, n_channels), np.float32)
    return audio, src.warnings


def attribute_file(args, n_channels: int):
    """(Attribution or None, VoiceChannels or None): None channels = analyse the file's
    channels as separate speakers (the existing path)."""
    from prosody.engine.sources import parse_channel_map
    from prosody.engine.speakers import Attribution, attribute, detect_layout

    if args.layout == "separate":
        if n_channels == 1:
            raise InputError(f"--layout separate needs two channels; {args.files[0]} has one: use --layout mono")
        return None, None
    channels = parse_channel_map(args.channels, n_channels=n_channels) if args.channels else None
    if n_channels == 2 and args.layout == "auto":
        head, _ = _read(args, n_channels, limit_s=PROBE_S)
        rep = detect_layout(head)
        if rep.layout == "separate":
            spk = tuple(sorted(channels, key=channels.get)) if channels else ("therapist", "client")
            picks = tuple(channels[s] for s in spk) if channels else (0, 1)
            return Attribution("separate", rep, spk, "one speaker per channel (cross-talk rejected per frame)",
                               channel_picks=picks), None
    if n_channels == 1 and args.layout == "shared":
        raise InputError(f"--layout shared needs two channels; {args.files[0]} has one: use --layout mono")
    audio, warnings = _read(args, n_channels)
    att = attribute(audio, layout=args.layout, channels=channels, profile=getattr(args, "voice_profile", None))
    if att.diarization is None:  # the whole session says separate after all
        return att, None
    d = att.diarization
    if d.n_voices == 2:
        return att, VoiceChannels(att.channels(audio), att.speakers, warnings)
    name = att.naming.names[0] if att.naming is not None else "therapist"
    return att, VoiceChannels(audio.mean(axis=1, keepdims=True), (name,), warnings)
