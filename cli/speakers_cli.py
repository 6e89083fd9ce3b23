"""`prosody analyze --layout`: find the layout of one file (or check that two files carry
one voice each) and, for shared or mono audio, cut speaker channels by diarization (``prosody.speaker_channels``, shared with
``prosody batch``). No rules here."""
from __future__ import annotations

from prosody.speaker_channels import PROBE_S, VoiceChannels, attribute_recording

__all__ = ["PROBE_S", "VoiceChannels", "attribute_file"]


def attribute_file(args, n_channels: int, vad=None):
    """(Attribution or None, VoiceChannels or None): None channels = analyse the file's
    channels as separate speakers (the existing path). ``vad``: the analysis' ``VadConfig``."""
    return attribute_recording(args.files, n_channels=n_channels, layout=args.layout, channels=args.channels,
                               profile=getattr(args, "voice_profile", None), offset_s=args.offset_s or 0.0,
                               voices=getattr(args, "voices", None), vad=vad)
