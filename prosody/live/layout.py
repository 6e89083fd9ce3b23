"""Which device (and channel) carries whom in ``prosody live``: the capture
layout rules, from plain values (issue 11: the command line only parses).

Layouts (docs/live.md)::

    replay       --input FILE [FILE]     as ``analyze`` lays out a file (prosody.analysis.default_layout)
    two-device   --therapist-device A --client-device B [--therapist-channel N] [--client-channel M]
    mono         --mono, or a device with one channel: one speaker (``speaker``, default therapist)
    stereo       one device, --channels MAP (default therapist=left,client=right)

Contradictions (a replay with a device, two devices with ``--channels``, ...)
raise ``InputError`` with the fix.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..analysis import DEFAULT_SPEAKERS, check_mono_speaker, check_speaker_label, default_layout
from ..errors import InputError

MIN_RATE_HZ, MAX_RATE_HZ = 8000, 384000   # device sample rates --rate-hz may ask for (speech needs >= 8 kHz)


@dataclass(frozen=True)
class LiveRequest:
    """What the user asked for, as plain values. ``speed``: replay speed
    (1 = real time, ``None`` = as fast as analysis goes); ``offset_s``: two
    replayed files, the second starts this much later; ``rate_hz``: the
    device sample rate asked for (``None``: 16000 when the device can)."""

    input_files: tuple[str, ...] = ()
    device: str | None = None
    channels: str | None = None
    mono: bool = False
    speaker: str | None = None
    therapist_device: str | None = None
    client_device: str | None = None
    therapist_channel: int | None = None
    client_channel: int | None = None
    speed: float | None = 1.0
    offset_s: float = 0.0
    rate_hz: int | None = None

    def check(self) -> None:
        """The contradictions (and a malformed --speaker) found without opening a device."""
        check_speaker_label(self.speaker)
        if self.input_files and self.rate_hz is not None:
            raise InputError("--rate-hz applies to devices; a replayed file keeps its own rate")
        picks = [f for f, n in (("--therapist-channel", self.therapist_channel),
                                ("--client-channel", self.client_channel)) if n is not None]
        if self.input_files and picks:
            raise InputError(f"{' and '.join(picks)} appl{'y' if len(picks) > 1 else 'ies'} to two devices; "
                             "a replayed file's channels are named with --channels")
        if not self.input_files and self.offset_s:
            raise InputError("--offset-s applies to the replay of two files (--input THERAPIST CLIENT); "
                             "devices are heard as they come")
        if self.input_files and len(self.input_files) == 1 and self.offset_s:
            raise InputError("--offset-s applies to the replay of two files (therapist, client); "
                             "one file has nothing to shift")
        if self.rate_hz is not None and not MIN_RATE_HZ <= self.rate_hz <= MAX_RATE_HZ:
            raise InputError(f"--rate-hz {self.rate_hz}: give a device sample rate from {MIN_RATE_HZ} to "
                             f"{MAX_RATE_HZ} Hz, e.g. 16000 or 48000 (or omit it: 16000 when the device can, "
                             "else its own rate)")

    @property
    def one_device(self) -> bool:
        """One input carries both people (one device, or one replayed file),
        so its speakers while live are provisional and the whole session is
        attributed again on save (``prosody.live.reattribute``). ``speaker``
        (one named speaker) opts out: the user said who it is."""
        two_devices = bool(self.therapist_device or self.client_device)
        return not two_devices and len(self.input_files) < 2 and not self.speaker


def _pick(n: int | None, spec, flag: str) -> tuple[int, int | None]:
    """Channels to open and the channel to take (None = mix) for one device of two.
    At least two are opened where the device has them: opening one channel of
    a stereo PulseAudio source would get the server's mono downmix."""
    if n is None:
        return min(spec.max_channels, 2), None
    if not 1 <= n <= spec.max_channels:
        raise InputError(f"{flag} {n}: device {spec.label} has channels 1..{spec.max_channels}")
    return max(n, min(spec.max_channels, 2)), n - 1


def plan_capture(req: LiveRequest):
    """The live source for ``req`` -> (source, source names for the JSON, warnings).

    Devices are resolved (``prosody.live.devices.resolve_device``) but not
    opened; ``source.start()`` opens them."""
    from ..engine.sources import FileSource, Layout, parse_channel_map, with_voiced_channels
    from .capture import CaptureLayout, DeviceInput, DeviceSource, ReplaySource
    from .devices import resolve_device

    req.check()
    devices_given = bool(req.device or req.therapist_device or req.client_device)
    if req.input_files:
        if devices_given or req.mono:
            raise InputError("--input replays a file: do not combine it with --device, --therapist-device, "
                             "--client-device or --mono")
        if len(req.input_files) > 2:
            raise InputError(f"{len(req.input_files)} files given to --input: give one stereo/mono file or two")
        files = list(req.input_files)
        probe = FileSource(files, Layout(("x",), ((0, 0),)))
        check_mono_speaker(req.speaker, n_files=len(files), n_channels=probe.files[0].channels, first_file=files[0])
        if len(files) == 1 and probe.files[0].channels == 1 and req.channels and not req.speaker:  # as analyze
            from ..speaker_channels import check_one_channel_named
            check_one_channel_named(req.channels)
        layout = with_voiced_channels(default_layout(n_files=len(files), n_channels=probe.files[0].channels,
                                                     channel_map=req.channels, speaker=req.speaker,
                                                     file_label=str(files[0])), files)
        src = ReplaySource(files, layout, speed=req.speed, offset_s=req.offset_s)
        # one of two files that is a dialogue of a channel each: read from one channel, as analyze says it
        # (``files_of_own_voices``; hostile sweep 54)
        from ..speaker_channels import files_of_own_voices
        said = list(files_of_own_voices(files, layout.speakers)) if len(files) == 2 else []
        return src, [f"replay:{p}" for p in files], said
    if req.therapist_device or req.client_device:
        if not (req.therapist_device and req.client_device):
            raise InputError("two-device layout: give both --therapist-device and --client-device")
        if req.device or req.channels or req.mono:
            raise InputError("--therapist-device/--client-device replace --device, --channels and --mono")
        if req.speaker is not None:
            raise InputError(f"--speaker {req.speaker} names the one speaker of a mono device; two devices are "
                             "the therapist's and the client's")
        ts, cs = resolve_device(req.therapist_device), resolve_device(req.client_device)
        tn, tp = _pick(req.therapist_channel, ts, "--therapist-channel")
        cn, cp = _pick(req.client_channel, cs, "--client-channel")
        if (ts.portaudio, ts.pulse_source, tp) == (cs.portaudio, cs.pulse_source, cp):  # hostile sweep 11: both
            # people were given the same sound (the device's mix, or one channel, twice); a hardware device refused
            # its second opening ("cannot open device"). One device's two channels (--therapist-channel 1
            # --client-channel 2) stay allowed: two streams of one clock, which the capture finds as such
            said = "the mix of its channels" if tp is None else f"its channel {tp + 1}"
            raise InputError(f"--therapist-device {req.therapist_device!r} and --client-device {req.client_device!r} "
                             f"give both people the same sound ({said}, of {ts.label}): for one device that carries "
                             "both, give --device with --channels (e.g. therapist=left,client=right), or "
                             "--therapist-channel and --client-channel of two different channels")
        layout = CaptureLayout("two-device", DEFAULT_SPEAKERS,
                               (DeviceInput(ts, tn, (tp,)), DeviceInput(cs, cn, (cp,))))
    else:
        if req.therapist_channel is not None or req.client_channel is not None:
            raise InputError("--therapist-channel/--client-channel apply to two devices; "
                             "with one device use --channels")
        spec = resolve_device(req.device)
        if req.mono or spec.max_channels == 1:
            if req.channels:
                raise InputError("--channels describes a stereo device; with --mono the first channel is used")
            layout = CaptureLayout("mono", (req.speaker or DEFAULT_SPEAKERS[0],),
                                   (DeviceInput(spec, min(spec.max_channels, 2), (0,)),))
        else:
            if req.speaker is not None:
                raise InputError(f"--speaker {req.speaker} names the one speaker of a mono device; {spec.label} "
                                 f"has {spec.max_channels} channels: add --mono to take its first, or say whose "
                                 "each is with --channels")
            m = parse_channel_map(req.channels or "therapist=left,client=right", n_channels=spec.max_channels,
                                  holder=f"device {spec.label}")  # it said "the file has 2 channel(s)"
            n_open = max(m.values()) + 1
            kind = "stereo" if len(m) == 2 else "mono"
            layout = CaptureLayout(kind, tuple(m), (DeviceInput(spec, n_open, tuple(m.values())),))
    src = DeviceSource(layout, rate_hz=req.rate_hz)
    return src, [f"device:{d.spec.label}" for d in layout.devices], []


NO_PROFILE_NOTE = ("no voice profile: who is speaking is not named live (enrol with `prosody enrol`, then "
                   "--profile NAME); with --record the whole session is attributed on save")


def online_attribution(req: LiveRequest, speakers: tuple[str, ...], profile):
    """Provisional online attribution for one mono or shared input (one analysis
    channel carrying both voices): ``(OnlineAttributor or None, note)``.

    With the therapist's voice profile: an ``OnlineAttributor`` (who is
    speaking, provisional, ``latency_s`` behind). Without one: None and a note
    saying so; nobody is named live (never wrong turn-taking). Other layouts
    (one speaker per channel, a named ``--speaker``): (None, "")."""
    if not req.one_device or len(speakers) != 1:
        return None, ""
    if profile is None:
        return None, NO_PROFILE_NOTE
    from ..engine.online_speakers import OnlineAttributor
    return OnlineAttributor(profile), ""


def layout_watch(req: LiveRequest, speakers: tuple[str, ...]):
    """A ``LayoutWatch`` (``prosody.live.layout_watch``) for one stereo input read as two speakers'
    channels (one device without ``--mono``, or one stereo file replayed), else None: its layout is
    found live, and a shared device is read from then on as ``--mono`` reads it. ``--channels``
    given is the user's word: found shared, it is said, not switched."""
    if not req.one_device or len(speakers) != 2:
        return None
    from .layout_watch import LayoutWatch
    return LayoutWatch(channels_given=req.channels is not None)
