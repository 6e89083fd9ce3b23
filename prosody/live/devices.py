"""Input devices: listing (PortAudio and PulseAudio's ``pactl``), kinds
(microphone or monitor of what is played) and resolving what the user typed."""
from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Callable, TypeVar


from ..errors import CaptureError, DeviceChoiceError
from ..timebase import GRID

T = TypeVar("T")

_MONITOR_WORDS = ("monitor", "loopback", "stereo mix", "what u hear", "blackhole", "soundflower",
                  "cable output", "vb-audio")
_SERVER_DEVICES = {"pulse", "default", "pipewire", "sysdefault", "jack"}


# -- listing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputDevice:
    """An input the user can pass to ``--device``: ``ref`` is what to type.

    ``kind``: ``microphone`` (a capture device), ``monitor`` (loopback of an
    output: carries the call's audio), ``server`` (a sound server's default
    route, e.g. ALSA ``pulse``: records whatever source the server picks)."""

    ref: str
    name: str
    kind: str
    channels: int
    default_rate_hz: float | None
    backend: str                  # "portaudio" or "pulse"
    is_default: bool = False


def _kind_of(name: str) -> str:
    low = name.lower()
    if any(w in low for w in _MONITOR_WORDS):
        return "monitor"
    if low.split(" ")[0] in _SERVER_DEVICES or low in _SERVER_DEVICES:
        return "server"
    return "microphone"


def pulse_sources() -> list[InputDevice]:
    """PulseAudio/PipeWire sources via ``pactl`` (empty when there is no server)."""
    if shutil.which("pactl") is None:
        return []
    default = ""
    try:
        info = subprocess.run(["pactl", "get-default-source"], capture_output=True, text=True, timeout=5)
        default = info.stdout.strip() if info.returncode == 0 else ""
        res = subprocess.run(["pactl", "-f", "json", "list", "sources"], capture_output=True, text=True, timeout=5)
        if res.returncode == 0 and res.stdout.strip().startswith("["):
            out = []
            for s in json.loads(res.stdout):
                name = s.get("name", "")
                desc = s.get("description", name)
                is_mon = name.endswith(".monitor") or desc.lower().startswith("monitor of")
                spec = s.get("sample_specification", "")
                out.append(InputDevice(ref=name, name=desc, kind="monitor" if is_mon else "microphone",
                                       channels=_spec_channels(spec), default_rate_hz=_spec_rate(spec),
                                       backend="pulse", is_default=name == default))
            return out
        res = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []
    if res.returncode != 0:
        return []
    out = []
    for line in res.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 4:
            name = parts[1]
            out.append(InputDevice(ref=name, name=name, kind="monitor" if name.endswith(".monitor") else "microphone",
                                   channels=_spec_channels(parts[3]), default_rate_hz=_spec_rate(parts[3]),
                                   backend="pulse", is_default=name == default))
    return out


def _spec_channels(spec: str) -> int:
    for tok in spec.split():
        if tok.endswith("ch") and tok[:-2].isdigit():
            return int(tok[:-2])
    return 0


def _spec_rate(spec: str) -> float | None:
    for tok in spec.split():
        if tok.endswith("Hz") and tok[:-2].isdigit():
            return float(tok[:-2])
    return None


SOUND_SERVER_WAIT_S = 5.0  # a call that asks the sound server (PortAudio's start, a stream's opening) waited this long


def answered_within(call: Callable[[], T], *, wait_s: float, what: str) -> T:
    """``call()``'s value (or its exception), run in a daemon thread and waited for ``wait_s`` seconds at most;
    :class:`CaptureError` saying ``what`` where it had not ended by then. A call into a sound server that does not
    answer (PulseAudio frozen: SIGSTOPped, hung) waits in C for ever, and Ctrl-C with it (hostile sweep 27:
    `prosody play` still silent 30 s on); it is left to its thread, and Ctrl-C is heard while it is waited for."""
    came: dict = {}

    def run() -> None:
        try:
            came["value"] = call()
        except BaseException as exc:  # noqa: BLE001  handed to the caller as it came
            came["error"] = exc

    thread = threading.Thread(target=run, daemon=True, name="prosody-sound-server")
    thread.start()
    thread.join(wait_s)
    if thread.is_alive():
        raise CaptureError(what)
    if "error" in came:
        raise came["error"]
    return came["value"]


def let_go_within(call: Callable[[], object], *, wait_s: float = SOUND_SERVER_WAIT_S) -> None:
    """``call()`` (a stream's stop or close) waited for ``wait_s`` seconds at most, its failure passed over: on a
    device that stopped answering (a frozen sound server) it waits for ever, Ctrl-C too, and is then left to its
    daemon thread (`play`'s close: hostile sweep 26; `live`'s stop, which kept a session from being saved at
    all: hostile sweep 29). Left to its thread, PortAudio's own end at the process's exit (``Pa_Terminate``,
    which sounddevice runs from ``atexit``) is skipped: it waited on the same server for ever, after the session
    was saved and said, and went on waiting once the server answered again."""
    try:
        answered_within(call, wait_s=wait_s, what="the stream's release")
    except CaptureError:  # not done in time: left to its thread
        import atexit
        import sys
        end = getattr(sys.modules.get("sounddevice"), "_exit_handler", None)
        if end is not None:
            atexit.unregister(end)
    except Exception:  # noqa: BLE001 - it failed: nothing more to release here
        pass


def import_sounddevice(*, wait_s: float = SOUND_SERVER_WAIT_S):
    """The ``sounddevice`` module, imported within ``wait_s`` seconds (its import starts PortAudio, which asks the
    sound server for its devices); ImportError and OSError (PortAudio missing) as the import raises them,
    :class:`CaptureError` where the sound server did not answer."""
    return answered_within(lambda: importlib.import_module("sounddevice"), wait_s=wait_s, what=(
        f"the sound server did not answer: PortAudio's start, which asks it for its devices, had not ended in "
        f"{wait_s:.0f} s (a PulseAudio or PipeWire server that is frozen or hung; restart it); nothing was played or recorded"))


def load_sounddevice():
    try:
        sd = import_sounddevice()
    except OSError as exc:  # PortAudio library missing
        raise CaptureError(f"cannot use audio devices: PortAudio is not available ({exc}); "
                           "install it (Debian: apt install libportaudio2)") from None
    return sd


def portaudio_inputs() -> list[InputDevice]:
    sd = load_sounddevice()
    try:
        default_in = sd.default.device[0]
        devs = sd.query_devices()
    except sd.PortAudioError as exc:
        raise CaptureError(f"cannot list audio devices: {exc}") from None
    apis = sd.query_hostapis()
    out = []
    for d in devs:
        if d["max_input_channels"] < 1:
            continue
        api = apis[d["hostapi"]]["name"]
        out.append(InputDevice(ref=str(d["index"]), name=f"{d['name']} ({api})", kind=_kind_of(d["name"]),
                               channels=int(d["max_input_channels"]),
                               default_rate_hz=float(d["default_samplerate"]), backend="portaudio",
                               is_default=d["index"] == default_in))
    return out


def list_input_devices() -> list[InputDevice]:
    """PortAudio inputs, then PulseAudio/PipeWire sources (reachable through
    PortAudio's ALSA ``pulse`` device)."""
    pa = portaudio_inputs()
    has_pulse = any(d.name.split(" (")[0] == "pulse" for d in pa)
    return pa + (pulse_sources() if has_pulse else [])


# -- device resolution ----------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceSpec:
    """A resolved input: ``portaudio`` is the PortAudio device index; for a
    PulseAudio source, ``pulse_source`` names it and ``portaudio`` is ALSA's
    ``pulse`` device."""

    label: str
    portaudio: int
    pulse_source: str | None
    max_channels: int
    default_rate_hz: float


def resolve_device(text: str | None) -> DeviceSpec:
    """A device index, an exact PulseAudio source name, or a unique part of a
    device name (case-insensitive); ``None`` is the system default input."""
    inputs = portaudio_inputs()
    if text is None:
        default = [d for d in inputs if d.is_default]
        if not default:
            raise CaptureError("there is no default input device; pick one with --device (see `prosody devices`)")
        return _spec_from_portaudio(default[0])
    text = text.strip()
    if not text:  # "" is part of every name: it said "'' matches 7 input devices (...)"
        raise DeviceChoiceError("an empty device name (or only spaces) picks no device; give the number or a "
                                "unique part of the name, as `prosody devices` lists them")
    if text.isdigit():
        match = [d for d in inputs if d.ref == text]
        if not match:
            raise DeviceChoiceError(f"device {text} is not an input device; see `prosody devices` for the list")
        return _spec_from_portaudio(match[0])
    pulse_pa = [d for d in inputs if d.name.split(" (")[0] == "pulse"]
    sources = pulse_sources() if pulse_pa else []
    exact = [s for s in sources if s.ref == text]
    if exact:
        return _spec_from_pulse(exact[0], pulse_pa[0])
    low = text.lower()
    cands = [("p", d) for d in inputs if low in d.name.lower()] + \
            [("s", s) for s in sources if low in s.name.lower() or low in s.ref.lower()]
    if len(cands) == 1:
        k, d = cands[0]
        return _spec_from_portaudio(d) if k == "p" else _spec_from_pulse(d, pulse_pa[0])
    if not cands:
        raise DeviceChoiceError(f"no input device matches {text!r}; run `prosody devices` to list them")
    names = "; ".join(f"{d.ref} = {d.name}" for _, d in cands[:6])
    raise DeviceChoiceError(f"{text!r} matches {len(cands)} input devices ({names}); give the number or a longer name")


def _spec_from_portaudio(d: InputDevice) -> DeviceSpec:
    return DeviceSpec(label=d.name, portaudio=int(d.ref), pulse_source=None, max_channels=d.channels,
                      default_rate_hz=d.default_rate_hz or float(GRID.sample_rate))


def _spec_from_pulse(s: InputDevice, pulse_pa: InputDevice) -> DeviceSpec:
    return DeviceSpec(label=f"{s.ref} ({s.name})", portaudio=int(pulse_pa.ref), pulse_source=s.ref,
                      max_channels=min(s.channels or pulse_pa.channels, pulse_pa.channels),
                      default_rate_hz=s.default_rate_hz or pulse_pa.default_rate_hz or float(GRID.sample_rate))
