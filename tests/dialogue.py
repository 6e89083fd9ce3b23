"""Synthetic two-speaker dialogues with planted, exactly known timing.

Each utterance is spoken by espeak-ng, trimmed so that it starts and ends with
speech, and placed on its speaker's channel at a chosen sample. The truth
(speech segments, floor transfers, backchannels, interruptions, failed
interruptions) is derived from the *placement* and the role each utterance is
tagged with -- never by running an analyser -- so it can be used to test one::

    therapist  |==== turn ==========|      |== turn ==|   |===== turn ======|
    client               |bc|          |==== turn ====|        |= failed =|
                          ^ backchannel    ^ overlap -0.2 s     ^ failed interruption
                                       ^ transition gap

Column 0 of ``Dialogue.audio`` is the therapist, column 1 the client.

Conventions used for the truth (thresholds are module constants):

* speech segment: the extent ``[start_s, end_s)`` of one trimmed utterance on
  the timeline; the texts are chosen so that no pause *inside* an utterance is
  longer than ``MAX_INTERNAL_PAUSE_S`` (a VAD bridges such pauses), and two
  utterances of one speaker are at least ``min_pause_s`` apart.
* floor utterances are the ones tagged ``"turn"`` or ``"interruption"``; a
  speaker change between consecutive floor utterances is a transition with
  ``offset_s = to_start_s - from_end_s`` (negative: overlap).
* ``"interruption"``: starts while the floor holder speaks, overlaps it by at
  least ``INTERRUPTION_MIN_OVERLAP_S``, and outlasts it.
* ``"turn"`` starting in overlap must overlap by less than
  ``INTERRUPTION_MIN_OVERLAP_S`` and outlast the previous speaker.
* ``"backchannel"``: shorter than ``BACKCHANNEL_MAX_S``, produced by the
  listener while the other speaker holds the floor, and the other speaker is
  speaking at its end or resumes within ``BACKCHANNEL_MAX_RESUME_S``.
* ``"failed_interruption"``: at least ``FAILED_INTERRUPTION_MIN_S`` long,
  starts while the floor holder speaks and ends while the floor holder is
  still speaking (the listener gives up, the holder talks on). It may be as
  short as a backchannel: what tells them apart is that it starts inside the
  holder's speech and is a bid for the floor (words, normal or raised level),
  not a soft "mm-hm".

Synthesis results are cached on disk under the system temp directory, keyed by
the espeak-ng version, text, voice, pitch, speed and sample rate.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import soundfile as sf
import soxr
from scipy import signal

from prosody.errors import ProsodyError

THERAPIST = "therapist"
CLIENT = "client"
SPEAKERS = (THERAPIST, CLIENT)  # index == channel in Dialogue.audio
ROLES = ("turn", "backchannel", "interruption", "failed_interruption")
FLOOR_ROLES = ("turn", "interruption")

# Default espeak-ng voices. Variants chosen without "echo"/"breath" settings
# (f2..f5 and m2 add an echo tail that would blur the planted end of speech).
# (espeak-ng 1.51 ignores the "+m3" on "en-gb": the client is the plain en-gb male voice, distinct from the
# therapist's en-us+f1; the spelling is kept so that existing material and caches stay the same.)
DEFAULT_VOICES = (("therapist", "en-us+f1"), ("client", "en-gb+m3"))

SAMPLE_RATE_HZ = 16000
HOP_S = 0.010

TRIM_THRESHOLD_DB = -50.0  # re the utterance peak: first/last sample above it bound the speech
PAUSE_THRESHOLD_DB = -40.0  # re the utterance RMS: a 10 ms frame below it is a pause frame
MAX_INTERNAL_PAUSE_S = 0.150
INTERRUPTION_MIN_OVERLAP_S = 0.3
BACKCHANNEL_MAX_S = 1.0
BACKCHANNEL_MAX_RESUME_S = 0.5
FAILED_INTERRUPTION_MIN_S = 0.25
AMI_MAX_PAUSE_S = 0.4  # ami_dialogue(trim_db=...): longest pause inside one cut stretch
BLEED_LOWPASS_HZ = 3000.0
BLEED_LOWPASS_ORDER = 4
_CACHE_FORMAT = 1


class ScenarioError(ProsodyError):
    """A dialogue scenario is inconsistent with the role of one of its utterances."""


class SynthesisError(ProsodyError):
    """espeak-ng is missing or produced no audio."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Utterance:
    """One utterance of a scenario, before synthesis.

    ``start_s`` is where its first speech sample lands on the timeline (rounded
    to the nearest sample). ``role`` is one of ``ROLES``; it states what the
    utterance is meant to be and the builder checks that the timing agrees.
    ``voice=None`` uses the speaker's default voice (``DEFAULT_VOICES``);
    ``pitch`` is espeak's ``-p`` (0..99), ``speed_wpm`` its ``-s`` (80..450).
    ``gain_db``: its level relative to its channel's ``level_db`` (e.g. -10
    for a soft backchannel, +4 for a raised attempt to take the floor).
    """

    speaker: str
    text: str
    start_s: float
    voice: str | None = None
    pitch: int | None = None
    speed_wpm: int | None = None
    role: str = "turn"
    gain_db: float = 0.0


@dataclass(frozen=True)
class PlacedUtterance:
    """An utterance as placed: exact extent of its speech on the timeline.

    ``end_s`` is exclusive: the speech occupies samples
    ``[start_sample, end_sample)``. ``longest_pause_s`` is the longest run of
    pause frames inside it (see ``longest_pause_s()``).
    """

    speaker: str
    text: str
    role: str
    start_s: float
    end_s: float
    start_sample: int
    end_sample: int
    voice: str
    pitch: int | None
    speed_wpm: int | None
    level_db: float
    longest_pause_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class ExpectedTransition:
    """A planted floor transfer between consecutive floor utterances.

    ``offset_s = to_start_s - from_end_s``: positive is a gap, negative an
    overlap (``kind`` is ``"gap"`` for offset >= 0, else ``"overlap"``).
    ``via`` is the role of the incoming utterance (``"turn"`` or
    ``"interruption"``)::

        from   |=========|                  |=========|
        to                  |======|             |======|
                         ^--^ gap > 0            ^----^ overlap: offset < 0
    """

    from_speaker: str
    to_speaker: str
    from_end_s: float
    to_start_s: float
    offset_s: float
    kind: str
    via: str


@dataclass(frozen=True)
class ExpectedEvent:
    """A planted backchannel, interruption or failed interruption.

    ``speaker`` produced it while ``other_speaker`` held the floor;
    ``overlap_s`` is how long it overlaps ``other_speaker``'s speech, not
    counting a later turn by which ``other_speaker`` takes the floor back (for
    an interruption it equals ``-offset_s`` of its transition)::

        other     |=============|
        speaker          |=========|   interruption: overlap_s = 0.4 s here
                         ^------^
    """

    kind: str
    speaker: str
    other_speaker: str
    start_s: float
    end_s: float
    overlap_s: float


Interval = tuple[float, float]


@dataclass(frozen=True)
class DialogueTruth:
    """Everything a turn-taking analyser should find, planted by construction.

    Times in seconds on the dialogue timeline; intervals are ``(start_s, end_s)``
    with ``end_s`` exclusive. ``bleed_segments`` are where the client's voice
    leaks into the therapist channel (client segments delayed by the bleed
    delay); they are *not* therapist speech and are empty without bleed.
    """

    sample_rate: int
    duration_s: float
    therapist_segments: tuple[Interval, ...]
    client_segments: tuple[Interval, ...]
    transitions: tuple[ExpectedTransition, ...]
    events: tuple[ExpectedEvent, ...]
    overlaps: tuple[Interval, ...]
    bleed_segments: tuple[Interval, ...] = ()

    def segments(self, speaker: str) -> tuple[Interval, ...]:
        _check_speaker(speaker)
        return self.therapist_segments if speaker == THERAPIST else self.client_segments

    def events_of(self, kind: str) -> tuple[ExpectedEvent, ...]:
        return tuple(e for e in self.events if e.kind == kind)

    @property
    def backchannels(self) -> tuple[ExpectedEvent, ...]:
        return self.events_of("backchannel")

    @property
    def interruptions(self) -> tuple[ExpectedEvent, ...]:
        return self.events_of("interruption")

    @property
    def failed_interruptions(self) -> tuple[ExpectedEvent, ...]:
        return self.events_of("failed_interruption")

    def to_json_dict(self) -> dict:
        return {
            "sample_rate": self.sample_rate,
            "duration_s": self.duration_s,
            "segments": {
                THERAPIST: [list(s) for s in self.therapist_segments],
                CLIENT: [list(s) for s in self.client_segments],
            },
            "transitions": [asdict(t) for t in self.transitions],
            "events": [asdict(e) for e in self.events],
            "overlaps": [list(s) for s in self.overlaps],
            "bleed_segments": [list(s) for s in self.bleed_segments],
        }

    @classmethod
    def from_json_dict(cls, d: dict) -> "DialogueTruth":
        def ivals(xs):
            return tuple((float(a), float(b)) for a, b in xs)

        return cls(
            sample_rate=int(d["sample_rate"]),
            duration_s=float(d["duration_s"]),
            therapist_segments=ivals(d["segments"].get(THERAPIST, [])),
            client_segments=ivals(d["segments"].get(CLIENT, [])),
            transitions=tuple(ExpectedTransition(**t) for t in d.get("transitions", [])),
            events=tuple(ExpectedEvent(**e) for e in d.get("events", [])),
            overlaps=ivals(d.get("overlaps", [])),
            bleed_segments=ivals(d.get("bleed_segments", [])),
        )


@dataclass(frozen=True)
class MixSettings:
    """How the channels were mixed (levels in dBFS RMS, see ``build_dialogue``)."""

    therapist_level_db: float
    client_level_db: float
    noise_db: float | None
    bleed_db: float | None
    bleed_delay_s: float
    seed: int


@dataclass(frozen=True)
class Dialogue:
    """A synthesized dialogue and its planted truth.

    ``audio``: float32, shape ``(n_samples, 2)``, range [-1, 1], read-only;
    column 0 therapist, column 1 client, at ``sample_rate`` Hz.
    """

    sample_rate: int
    audio: np.ndarray = field(repr=False)
    utterances: tuple[PlacedUtterance, ...]
    truth: DialogueTruth
    settings: MixSettings

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate

    def channel(self, speaker: str) -> np.ndarray:
        """Shape ``(n_samples,)`` float32 view of ``speaker``'s channel."""
        _check_speaker(speaker)
        return self.audio[:, SPEAKERS.index(speaker)]

    def speech_segments(self, speaker: str) -> list[Interval]:
        """Merged ``(start_s, end_s)`` intervals of ``speaker``'s planted speech."""
        return list(self.truth.segments(speaker))

    def to_json_dict(self) -> dict:
        d = self.truth.to_json_dict()
        d["channels"] = {s: i for i, s in enumerate(SPEAKERS)}
        d["utterances"] = [asdict(u) for u in self.utterances]
        d["settings"] = asdict(self.settings)
        d["tolerance_s"] = HOP_S
        return d


# --------------------------------------------------------------------------- synthesis


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n,) float64 noise of power 1/f (white noise shaped in frequency): a fan, a room's hum."""
    f = np.fft.rfft(rng.standard_normal(n))
    k = np.arange(len(f), dtype=np.float64)
    k[0] = 1.0
    return np.fft.irfft(f / np.sqrt(k), n)


def default_voice(speaker: str) -> str:
    _check_speaker(speaker)
    return dict(DEFAULT_VOICES)[speaker]


def synthesize(
    text: str,
    *,
    voice: str,
    pitch: int | None = None,
    speed_wpm: int | None = None,
    sample_rate: int = SAMPLE_RATE_HZ,
    use_cache: bool = True,
    engine: "Espeak | None" = None,
) -> np.ndarray:
    """Speak ``text`` with espeak-ng; return float32 mono, shape ``(n_samples,)``.

    The espeak output (22050 Hz) is resampled with soxr to ``sample_rate`` and
    trimmed to the first and last sample whose magnitude exceeds
    ``TRIM_THRESHOLD_DB`` re its peak, so the array starts and ends with
    speech. Amplitude is espeak's own (peak below 1). Results are cached in
    ``synthesis_cache_dir()`` unless ``use_cache`` is False. The returned array
    is read-only. ``engine``: a located espeak-ng (``Espeak.find()``), to skip
    the lookup when synthesizing many texts.
    """
    if not isinstance(text, str) or not text.strip():
        raise SynthesisError(f"text={text!r} is empty; give at least one word to speak")
    if pitch is not None and not 0 <= int(pitch) <= 99:
        raise SynthesisError(f"pitch={pitch} is outside espeak's range 0..99; use 0..99 or None")
    if speed_wpm is not None and not 80 <= int(speed_wpm) <= 450:
        raise SynthesisError(f"speed_wpm={speed_wpm} is outside espeak's range 80..450")
    if sample_rate < 8000:
        raise SynthesisError(f"sample_rate={sample_rate} Hz is too low for speech; use >= 8000")
    engine = engine if engine is not None else Espeak.find()
    key_src = json.dumps([_CACHE_FORMAT, engine.version, text, voice, pitch, speed_wpm, sample_rate, TRIM_THRESHOLD_DB])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:32]
    cache_path = synthesis_cache_dir() / f"{key}.npy"
    if use_cache and cache_path.exists():
        try:
            y = np.load(cache_path)
            y.flags.writeable = False
            return y
        except (OSError, ValueError):
            pass  # unreadable (e.g. half-written by a crashed process): synthesize again
    y = _espeak(engine.exe, text, voice=voice, pitch=pitch, speed_wpm=speed_wpm, sample_rate=sample_rate)
    if use_cache:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_path.parent, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, y)
        os.replace(tmp, cache_path)
    y.flags.writeable = False
    return y


@dataclass(frozen=True)
class Espeak:
    """A located espeak-ng executable and its ``--version`` line (part of the cache key)."""

    exe: str
    version: str

    @classmethod
    def find(cls) -> "Espeak":
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise SynthesisError("espeak-ng is not on PATH; install it (Debian: apt-get install espeak-ng)")
        version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
        return cls(exe=exe, version=version)


def synthesis_cache_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"prosody-espeak-cache-{uid}"


def _espeak(exe, text, *, voice, pitch, speed_wpm, sample_rate) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="prosody-espeak-") as tmp_dir:
        wav = os.path.join(tmp_dir, "utt.wav")
        cmd = [exe, "-v", voice, "-w", wav]
        if pitch is not None:
            cmd += ["-p", str(int(pitch))]
        if speed_wpm is not None:
            cmd += ["-s", str(int(speed_wpm))]
        # Text on stdin so that a text starting with "-" is never read as an option.
        proc = subprocess.run(cmd + ["--stdin"], input=text, capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.exists(wav):
            raise SynthesisError(
                f"espeak-ng failed for voice={voice!r} text={text!r}: {proc.stderr.strip()}; "
                "check the voice with `espeak-ng --voices` / `--voices=variant`"
            )
        x, native_rate = sf.read(wav, dtype="float32", always_2d=False)
    if x.ndim > 1:
        x = x[:, 0]
    if native_rate != sample_rate:
        x = soxr.resample(x, native_rate, sample_rate, quality="HQ").astype(np.float32)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= 0.0:
        raise SynthesisError(f"espeak-ng produced silence for voice={voice!r} text={text!r}")
    loud = np.flatnonzero(np.abs(x) > peak * 10.0 ** (TRIM_THRESHOLD_DB / 20.0))
    return np.ascontiguousarray(x[loud[0] : loud[-1] + 1], dtype=np.float32)


def pause_runs_s(samples: np.ndarray, *, sample_rate: int, threshold_db: float = PAUSE_THRESHOLD_DB) -> list[Interval]:
    """Pauses inside an utterance, as ``(start_s, end_s)`` relative to its start.

    ``samples``: shape ``(n_samples,)``. Cut into 10 ms frames (the last one may
    be partial); a frame whose RMS is below ``threshold_db`` re the RMS of the
    whole utterance is a pause frame; runs of pause frames are returned.
    """
    return [(a / sample_rate, b / sample_rate) for a, b in _pause_runs(samples, sample_rate, threshold_db)]


def longest_pause_s(samples: np.ndarray, *, sample_rate: int, threshold_db: float = PAUSE_THRESHOLD_DB) -> float:
    """Longest pause inside an utterance in seconds (0.0 if none); see ``pause_runs_s``."""
    runs = _pause_runs(samples, sample_rate, threshold_db)
    return max((b - a for a, b in runs), default=0) / sample_rate


def _pause_runs(samples, sample_rate, threshold_db) -> list[tuple[int, int]]:
    x = np.asarray(samples, dtype=np.float64)
    hop = int(round(HOP_S * sample_rate))
    if x.size == 0:
        return []
    starts = np.arange(0, len(x), hop)
    frame_rms = np.array([np.sqrt(np.mean(x[i : i + hop] ** 2)) for i in starts])
    quiet = frame_rms < np.sqrt(np.mean(x**2)) * 10.0 ** (threshold_db / 20.0)
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(starts):
        if quiet[i]:
            j = i
            while j < len(starts) and quiet[j]:
                j += 1
            runs.append((int(starts[i]), min(int(starts[j - 1]) + hop, len(x))))
            i = j
        else:
            i += 1
    return runs


# --------------------------------------------------------------------------- building


def build_dialogue(
    utterances: Iterable[Utterance],
    *,
    duration_s: float | None = None,
    level_db: tuple[float, float] = (-20.0, -20.0),
    noise_db: float | None = -70.0,
    bleed_db: float | None = None,
    bleed_delay_s: float = 0.03,
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE_HZ,
    min_pause_s: float = 0.3,
    max_internal_pause_s: float | None = MAX_INTERNAL_PAUSE_S,
    tail_s: float = 0.5,
) -> Dialogue:
    """Place the utterances, mix two channels and derive the planted truth.

    * each utterance is scaled so that its RMS over its extent is
      ``level_db[channel]`` dBFS (column 0 therapist, 1 client);
    * independent white Gaussian noise at ``noise_db`` dBFS RMS is added to each
      channel from ``np.random.default_rng(seed)`` (``None``: no noise);
    * ``bleed_db`` (negative, e.g. -20) adds the client channel, attenuated by
      ``bleed_db``, delayed by ``bleed_delay_s`` and low-passed (4th-order
      Butterworth at 3 kHz, causal; it adds ~0.14 ms of group delay), into the
      therapist channel (loudspeaker -> mic leakage). Bleed never counts as
      therapist speech; ``truth.bleed_segments`` records where it lies.
    * levels: espeak speech peaks up to ~20 dB above its RMS, so keep
      ``level_db`` <= -20 (<= -21 with bleed) to stay clear of clipping.
    * ``duration_s`` defaults to the last speech end plus ``tail_s``.
    * ``min_pause_s``: smallest silence between two utterances of one speaker;
      ``max_internal_pause_s``: largest pause allowed inside one utterance
      (``None`` disables the check). Both keep the truth unambiguous.

    Raises ``ScenarioError`` when the roles disagree with the timing (see the
    module docstring) or when a channel would clip.
    """
    utts = tuple(utterances)
    _validate_mix_args(utts, duration_s, level_db, noise_db, bleed_db, bleed_delay_s, sample_rate, min_pause_s, tail_s)

    engine = Espeak.find()
    placed: list[PlacedUtterance] = []
    waves: list[np.ndarray] = []
    for u in utts:
        voice = u.voice if u.voice is not None else default_voice(u.speaker)
        y = synthesize(
            u.text, voice=voice, pitch=u.pitch, speed_wpm=u.speed_wpm, sample_rate=sample_rate, engine=engine
        )
        start = int(round(u.start_s * sample_rate))
        lvl = float(level_db[SPEAKERS.index(u.speaker)]) + float(u.gain_db)
        pause_s = longest_pause_s(y, sample_rate=sample_rate)
        if max_internal_pause_s is not None and pause_s > max_internal_pause_s:
            raise ScenarioError(
                f"text={u.text!r} (voice {voice}) has an internal pause of {pause_s:.3f} s > "
                f"max_internal_pause_s={max_internal_pause_s}; drop commas / split it into two utterances"
            )
        placed.append(
            PlacedUtterance(
                speaker=u.speaker, text=u.text, role=u.role,
                start_s=start / sample_rate, end_s=(start + len(y)) / sample_rate,
                start_sample=start, end_sample=start + len(y),
                voice=voice, pitch=u.pitch, speed_wpm=u.speed_wpm, level_db=lvl, longest_pause_s=pause_s,
            )
        )
        waves.append(y)
    order = sorted(range(len(placed)), key=lambda i: (placed[i].start_sample, placed[i].speaker))
    placed = [placed[i] for i in order]
    waves = [waves[i] for i in order]

    transitions, events = _derive_roles(placed, min_pause_s=min_pause_s, sample_rate=sample_rate)

    last_end = max(p.end_sample for p in placed)
    if duration_s is None:
        n_samples = last_end + int(round(tail_s * sample_rate))
    else:
        n_samples = int(math.ceil(duration_s * sample_rate))
    if n_samples < last_end:
        raise ScenarioError(
            f"duration_s={duration_s} is shorter than the last utterance end {last_end / sample_rate:.3f} s; "
            "use a longer duration_s or None"
        )

    audio = np.zeros((n_samples, 2), dtype=np.float64)
    for p, y in zip(placed, waves):
        yd = y.astype(np.float64)
        gain = 10.0 ** (p.level_db / 20.0) / np.sqrt(np.mean(yd**2))
        audio[p.start_sample : p.end_sample, SPEAKERS.index(p.speaker)] += gain * yd
    rng = np.random.default_rng(seed)
    if noise_db is not None:
        audio += rng.standard_normal((n_samples, 2)) * 10.0 ** (noise_db / 20.0)
    bleed_segments: tuple[Interval, ...] = ()
    if bleed_db is not None:
        delay = int(round(bleed_delay_s * sample_rate))
        sos = signal.butter(BLEED_LOWPASS_ORDER, BLEED_LOWPASS_HZ, btype="low", fs=sample_rate, output="sos")
        leak = signal.sosfilt(sos, audio[:, 1]) * 10.0 ** (bleed_db / 20.0)
        if delay < n_samples:
            audio[delay:, 0] += leak[: n_samples - delay]
        client = _merge((p.start_sample, p.end_sample) for p in placed if p.speaker == CLIENT)
        bleed_segments = tuple(
            ((a + delay) / sample_rate, min(b + delay, n_samples) / sample_rate)
            for a, b in client
            if a + delay < n_samples
        )
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:
        raise ScenarioError(
            f"the mix peaks at {20 * np.log10(peak):+.1f} dBFS and would clip with level_db={level_db}; "
            "lower level_db (espeak speech peaks up to ~20 dB above its RMS)"
        )
    audio32 = audio.astype(np.float32)
    audio32.flags.writeable = False

    segs = {}
    for s in SPEAKERS:
        merged = _merge((p.start_sample, p.end_sample) for p in placed if p.speaker == s)
        segs[s] = tuple((a / sample_rate, b / sample_rate) for a, b in merged)
    truth = DialogueTruth(
        sample_rate=sample_rate,
        duration_s=n_samples / sample_rate,
        therapist_segments=segs[THERAPIST],
        client_segments=segs[CLIENT],
        transitions=tuple(transitions),
        events=tuple(events),
        overlaps=_intersect(segs[THERAPIST], segs[CLIENT]),
        bleed_segments=bleed_segments,
    )
    settings = MixSettings(
        therapist_level_db=float(level_db[0]), client_level_db=float(level_db[1]),
        noise_db=None if noise_db is None else float(noise_db),
        bleed_db=None if bleed_db is None else float(bleed_db),
        bleed_delay_s=float(bleed_delay_s), seed=int(seed),
    )
    return Dialogue(sample_rate=sample_rate, audio=audio32, utterances=tuple(placed), truth=truth, settings=settings)


def _validate_mix_args(utts, duration_s, level_db, noise_db, bleed_db, bleed_delay_s, sample_rate, min_pause_s, tail_s):
    if not utts:
        raise ScenarioError("utterances is empty; give at least one Utterance")
    for i, u in enumerate(utts):
        if not isinstance(u, Utterance):
            raise ScenarioError(f"utterances[{i}]={u!r} is not an Utterance")
        if u.speaker not in SPEAKERS:
            raise ScenarioError(f"utterances[{i}].speaker={u.speaker!r}; use one of {SPEAKERS}")
        if u.role not in ROLES:
            raise ScenarioError(f"utterances[{i}].role={u.role!r}; use one of {ROLES}")
        if not (math.isfinite(u.start_s) and u.start_s >= 0.0):
            raise ScenarioError(f"utterances[{i}].start_s={u.start_s} must be finite and >= 0")
    if len(level_db) != 2 or not all(math.isfinite(x) and x < 0 for x in level_db):
        raise ScenarioError(
            f"level_db={level_db} must be two negative dBFS values (therapist, client), e.g. (-20, -20)"
        )
    if noise_db is not None and not (math.isfinite(noise_db) and noise_db < 0):
        raise ScenarioError(f"noise_db={noise_db} must be a negative dBFS value or None")
    if bleed_db is not None and not (math.isfinite(bleed_db) and bleed_db < 0):
        raise ScenarioError(f"bleed_db={bleed_db} must be negative (an attenuation, e.g. -20) or None")
    if not (math.isfinite(bleed_delay_s) and bleed_delay_s >= 0):
        raise ScenarioError(f"bleed_delay_s={bleed_delay_s} must be >= 0")
    if sample_rate < 2 * BLEED_LOWPASS_HZ + 1000:
        raise ScenarioError(f"sample_rate={sample_rate} Hz is too low; use >= 8000")
    if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
        raise ScenarioError(f"duration_s={duration_s} must be positive or None")
    if min_pause_s < 0 or tail_s < 0:
        raise ScenarioError(f"min_pause_s={min_pause_s} and tail_s={tail_s} must be >= 0")


def _derive_roles(placed: Sequence[PlacedUtterance], *, min_pause_s: float, sample_rate: int):
    """Check that each role agrees with the timing; return (transitions, events)."""

    def where(p):
        return f"{p.speaker} {p.role} {p.text!r} at {p.start_s:.3f}-{p.end_s:.3f} s"

    # one speaker never overlaps itself, and pauses between its utterances are clear
    for s in SPEAKERS:
        mine = [p for p in placed if p.speaker == s]
        for a, b in zip(mine, mine[1:]):
            if b.start_s - a.end_s < min_pause_s - 1e-9:
                raise ScenarioError(
                    f"{where(b)} starts {b.start_s - a.end_s:+.3f} s after {where(a)}; one speaker's utterances "
                    f"must be >= min_pause_s={min_pause_s} s apart (move it later or merge the texts)"
                )
    if placed[0].role != "turn":
        raise ScenarioError(f"the first utterance {where(placed[0])} must have role 'turn'")

    floor = [p for p in placed if p.role in FLOOR_ROLES]
    transitions: list[ExpectedTransition] = []
    event_utts: list[tuple[PlacedUtterance, str]] = []  # (utterance, the other speaker)
    # (start_s, speaker) of the first floor utterance and of every speaker change
    holder_starts: list[tuple[float, str]] = []
    holder, holder_end = None, None
    for f in floor:
        if holder is None or f.speaker == holder:
            if f.role == "interruption":
                raise ScenarioError(f"{where(f)} has nobody else to interrupt; tag it 'turn'")
            if holder is None:
                holder_starts.append((f.start_s, f.speaker))
            holder = f.speaker
            holder_end = f.end_sample if holder_end is None else max(holder_end, f.end_sample)
            continue
        offset_s = (f.start_sample - holder_end) / sample_rate
        if f.end_sample <= holder_end:
            raise ScenarioError(
                f"{where(f)} ends before {holder} stops at {holder_end / sample_rate:.3f} s, "
                "so it does not take the floor; "
                "tag it 'backchannel' (< 1 s) or 'failed_interruption', or make it outlast the other speaker"
            )
        if f.role == "turn" and offset_s < 0:
            if -offset_s >= INTERRUPTION_MIN_OVERLAP_S:
                raise ScenarioError(
                    f"{where(f)} overlaps {holder} by {-offset_s:.3f} s >= {INTERRUPTION_MIN_OVERLAP_S} s; "
                    "tag it 'interruption' or start it later"
                )
        if f.role == "interruption":
            if offset_s >= 0:
                raise ScenarioError(f"{where(f)} starts {offset_s:.3f} s after {holder} stopped; tag it 'turn'")
            if -offset_s < INTERRUPTION_MIN_OVERLAP_S:
                raise ScenarioError(
                    f"{where(f)} overlaps {holder} by only {-offset_s:.3f} s; an interruption needs "
                    f">= {INTERRUPTION_MIN_OVERLAP_S} s (start it earlier or tag it 'turn')"
                )
        transitions.append(
            ExpectedTransition(
                from_speaker=holder, to_speaker=f.speaker, from_end_s=holder_end / sample_rate, to_start_s=f.start_s,
                offset_s=offset_s, kind="gap" if offset_s >= 0 else "overlap", via=f.role,
            )
        )
        if f.role == "interruption":
            event_utts.append((f, holder))
        holder_starts.append((f.start_s, f.speaker))
        holder, holder_end = f.speaker, f.end_sample

    def holder_at(t):
        h = None
        for start_s, s in holder_starts:
            if start_s <= t:
                h = s
        return h

    def other_speaking(other, t):
        return any(p.start_s < t < p.end_s for p in floor if p.speaker == other)

    for p in placed:
        if p.role in FLOOR_ROLES:
            continue
        other = CLIENT if p.speaker == THERAPIST else THERAPIST
        if holder_at(p.start_s) != other or holder_at(p.end_s) != other:
            raise ScenarioError(
                f"{where(p)} must lie while {other} holds the floor (from a {other} 'turn' until the next "
                "speaker change); move it inside a turn of the other speaker or tag it 'turn'"
            )
        if p.role == "backchannel":
            if p.duration_s >= BACKCHANNEL_MAX_S:
                raise ScenarioError(
                    f"{where(p)} lasts {p.duration_s:.3f} s; a backchannel must be < {BACKCHANNEL_MAX_S} s "
                    "(use a shorter text or tag it 'failed_interruption')"
                )
            resumes = any(
                q.speaker == other and q.end_s > p.end_s and q.start_s - p.end_s <= BACKCHANNEL_MAX_RESUME_S
                for q in floor
            )
            if not resumes:
                raise ScenarioError(
                    f"{where(p)}: {other} must be speaking at its end or resume within "
                    f"{BACKCHANNEL_MAX_RESUME_S} s after it; move it earlier in {other}'s turn"
                )
        else:  # failed_interruption
            if p.duration_s < FAILED_INTERRUPTION_MIN_S:
                raise ScenarioError(
                    f"{where(p)} lasts {p.duration_s:.3f} s; a failed interruption must be >= "
                    f"{FAILED_INTERRUPTION_MIN_S} s"
                )
            if not other_speaking(other, p.start_s):
                raise ScenarioError(f"{where(p)} must start while {other} is speaking")
            if not other_speaking(other, p.end_s):
                raise ScenarioError(
                    f"{where(p)} must stop while {other} is still speaking; otherwise it takes the floor "
                    "(tag it 'interruption')"
                )
        event_utts.append((p, other))

    # overlap_s counts the other speaker's speech, except a later turn by which the
    # other speaker takes the floor back from this event's speaker
    takers = {(t.to_speaker, t.to_start_s, t.from_speaker) for t in transitions}
    events = []
    for p, other in event_utts:
        overlap = sum(
            max(0, min(q.end_sample, p.end_sample) - max(q.start_sample, p.start_sample))
            for q in placed
            if q.speaker == other and not (q.start_s > p.start_s and (q.speaker, q.start_s, p.speaker) in takers)
        )
        events.append(
            ExpectedEvent(
                kind=p.role, speaker=p.speaker, other_speaker=other,
                start_s=p.start_s, end_s=p.end_s, overlap_s=overlap / sample_rate,
            )
        )
    events.sort(key=lambda e: (e.start_s, e.speaker))
    return transitions, events


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of integer sample intervals ``[a, b)``; touching intervals merge."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> tuple[Interval, ...]:
    out = []
    for a, b in xs:
        for c, d in ys:
            lo, hi = max(a, c), min(b, d)
            if hi > lo:
                out.append((lo, hi))
    return tuple(sorted(out))


def _check_speaker(speaker: str) -> None:
    if speaker not in SPEAKERS:
        raise ScenarioError(f"speaker={speaker!r}; use one of {SPEAKERS}")


# --------------------------------------------------------------------------- scenarios

THERAPIST_SENTENCES = (
    "How have you been since we last met?",
    "What was that like for you?",
    "Tell me more about that.",
    "That sounds really difficult.",
    "How did you feel when that happened?",
    "What would you like to focus on today?",
    "It sounds like you felt alone.",
    "What helped you get through it?",
    "Can you say more about your sister?",
    "How are you sleeping these days?",
    "What do you notice in your body right now?",
    "That makes a lot of sense to me.",
    "What would a good week look like?",
    "I wonder what made it feel so heavy.",
)
# >= 3.5 s with the default therapist voice: room for a backchannel or failed interruption inside
THERAPIST_LONG_SENTENCES = (
    "I want to make sure we have enough time to talk about what happened at work this week.",
    "I would like us to slow down and look at what was going on for you that evening.",
    "When you describe it that way I can hear how much pressure you have been under lately.",
    "It seems like part of you wants to reach out and another part of you wants to hide away.",
)
THERAPIST_INTERRUPTIONS = (
    "Let me stop you there for a second.",
    "Can I just check something with you?",
)
CLIENT_SENTENCES = (
    "It was a hard week.",
    "I have not been sleeping well.",
    "My boss keeps asking for more.",
    "I felt really tired all the time.",
    "We had another fight on Sunday.",
    "I think I am doing a bit better.",
    "I did not want to get out of bed.",
    "My sister called me on Tuesday.",
    "I keep thinking about what she said.",
    "Work has been really stressful lately.",
    "I went for a walk every morning.",
    "I do not really know how to explain it.",
    "It made me feel so angry.",
    "I tried the breathing exercise you showed me.",
    "I just want things to feel normal again.",
)
CLIENT_INTERRUPTIONS = (
    "Sorry but that is not what I meant at all.",
    "Wait I need to tell you something first.",
)
BACKCHANNELS = ("mm hmm", "yeah", "right", "okay", "I see", "uh huh")
# espeak reads "mm hmm" as "em em hmm" (3-4 syllables); "[[@m'hm]]" (phonemes) sounds like a real "mm-hm"
BACKCHANNEL_TOKENS = ("[[@m'hm]]", "yeah", "right", "okay", "I see", "uh huh", "hmm")
# >= 3 s with most voices: a client holding the floor long enough to be backchannelled or talked over
CLIENT_LONG_SENTENCES = (
    "I keep going over the conversation with my sister and I cannot stop thinking about it.",
    "Every morning I wake up and feel like the whole day is already too much for me.",
    "At work they keep adding more projects and nobody seems to notice how tired I am.",
    "I tried to tell my partner how I felt but it came out all wrong again.",
    "When I got home that night I just sat in the car for a long time without moving.",
)
# a real start of an utterance, given up after 0.3-1.2 s (either speaker)
FAILED_STARTS = (
    "But I", "No wait", "Sorry can I", "But that is", "Well actually I", "Hang on", "Can I just say",
    "But I thought", "No that is not it", "Wait a second", "Sorry but", "Hold on I", "I do not think",
)
# espeak voices without echo or breath variants (see DEFAULT_VOICES), for many-voice scenarios
# espeak-ng 1.51 ignores variants on plain "en-gb" ("en-gb+m3" and "en-gb+f1" both give the plain en-gb voice,
# byte for byte), so that voice is spelled "en-gb" and the pool's second slot on it is a voice of its own.
VOICE_POOL = ("en-us+f1", "en-gb", "en+m1", "en-us+m4", "en-gb-scotland+f1", "en+m7", "en-us+klatt", "en+Annie",
              "en+Andy", "en+Linda", "en+Michael", "en-gb-x-rp+m5")


def all_texts() -> tuple[tuple[str, str], ...]:
    """Every ``(speaker, text)`` the factories can produce (for pause checks)."""
    return (
        tuple((THERAPIST, t) for t in THERAPIST_SENTENCES + THERAPIST_LONG_SENTENCES + THERAPIST_INTERRUPTIONS)
        + tuple((CLIENT, t) for t in CLIENT_SENTENCES + CLIENT_INTERRUPTIONS)
        + tuple((s, t) for s in SPEAKERS for t in BACKCHANNELS + BACKCHANNEL_TOKENS + FAILED_STARTS)
        + tuple((CLIENT, t) for t in CLIENT_LONG_SENTENCES)
    )


class _Planner:
    """Lays utterances end to end; local to one factory call (holds no global state)."""

    def __init__(self, seed: int, start_s: float = 0.5, voices: dict | None = None):
        """``voices``: speaker -> (voice, espeak pitch or None, speed_wpm or None); default ``DEFAULT_VOICES``."""
        self.rng = np.random.default_rng(seed)
        self.voices = {s: (default_voice(s), None, None) for s in SPEAKERS} if voices is None else dict(voices)
        self.utterances: list[Utterance] = []
        self.pools: dict[tuple, list[str]] = {}
        self.floor_end_s = start_s  # end of the current floor holder's speech
        self.floor_utt: Utterance | None = None
        self.first = True
        self.engine = Espeak.find()
        self.durations_s: dict[tuple, float] = {}

    def duration_s(self, speaker: str, text: str) -> float:
        key = (self.voices[speaker], text)
        if key not in self.durations_s:
            voice, pitch, speed = self.voices[speaker]
            y = synthesize(text, voice=voice, pitch=pitch, speed_wpm=speed, engine=self.engine)
            self.durations_s[key] = len(y) / SAMPLE_RATE_HZ
        return self.durations_s[key]

    def pick(self, speaker: str, pool: tuple[str, ...], *, min_s: float = 0.0, max_s: float = math.inf) -> str:
        """Next unused text of ``pool`` whose duration lies in [min_s, max_s]; reshuffles when used up."""
        key = (speaker, pool)
        for _ in range(2):
            queue = self.pools.get(key)
            if not queue:
                queue = list(self.rng.permutation(pool))
                self.pools[key] = queue
            for i, text in enumerate(queue):
                if min_s <= self.duration_s(speaker, text) <= max_s:
                    return str(queue.pop(i))
            self.pools[key] = []
        raise ScenarioError(f"no text in the {speaker} pool lasts {min_s}..{max_s} s")

    def _add(self, speaker, text, start_s, role, gain_db: float = 0.0) -> Utterance:
        voice, pitch, speed = self.voices[speaker]
        if (voice, pitch, speed) == (default_voice(speaker), None, None):
            voice = None  # as before voices could be chosen: the same utterances, the same truth
        u = Utterance(speaker=speaker, text=text, start_s=round(float(start_s), 3), role=role, voice=voice,
                      pitch=pitch, speed_wpm=speed, gain_db=round(float(gain_db), 2))
        self.utterances.append(u)
        return u

    def duration_s_of(self, u: Utterance) -> float:
        """``u``'s duration as spoken by its own voice, pitch and speed (``duration_s`` reads the speaker's current ones)."""
        voice = u.voice if u.voice is not None else default_voice(u.speaker)
        key = ((voice, u.pitch, u.speed_wpm), u.text)
        if key not in self.durations_s:
            y = synthesize(u.text, voice=voice, pitch=u.pitch, speed_wpm=u.speed_wpm, engine=self.engine)
            self.durations_s[key] = len(y) / SAMPLE_RATE_HZ
        return self.durations_s[key]

    def _end(self, u: Utterance) -> float:
        return u.start_s + self.duration_s(u.speaker, u.text)

    def turn(self, speaker: str, text: str, offset_s: float) -> Utterance:
        """A floor utterance starting ``offset_s`` after the current floor end (negative: overlap)."""
        start = 0.5 if self.first else self.floor_end_s + offset_s
        self.first = False
        return self._floor(self._add(speaker, text, start, "turn"))

    def interruption(self, speaker: str, text: str, overlap_s: float) -> Utterance:
        return self._floor(self._add(speaker, text, self.floor_end_s - overlap_s, "interruption"))

    def _floor(self, u: Utterance) -> Utterance:
        self.floor_utt = u
        self.floor_end_s = self._end(u)
        return u

    def inside(self, speaker: str, text: str, role: str, *, lead_s: float, tail_s: float,
               gain_db: float = 0.0) -> Utterance:
        """An utterance inside the current floor utterance, >= lead_s after its start and >= tail_s before its end."""
        host = self.floor_utt
        host_end = self._end(host)
        dur = self.duration_s(speaker, text)
        lo, hi = host.start_s + lead_s, host_end - tail_s - dur
        if hi < lo:
            raise ScenarioError(f"{text!r} ({dur:.2f} s) does not fit inside {host.text!r}")
        return self._add(speaker, text, self.rng.uniform(lo, hi), role, gain_db)

    def in_pause(self, speaker: str, text: str, *, gain_db: float = 0.0) -> float:
        """A backchannel in the floor holder's pause: starts 0.1-0.35 s after the holder stops; returns the
        offset after the holder's end at which the holder resumes (0.1-0.4 s after the backchannel)."""
        lead = float(self.rng.uniform(0.1, 0.35))
        self._add(speaker, text, self.floor_end_s + lead, "backchannel", gain_db)
        return lead + self.duration_s(speaker, text) + float(self.rng.uniform(0.1, 0.4))

    def gap_s(self) -> float:
        return float(self.rng.uniform(0.1, 1.5))

    def overlap_s(self) -> float:
        return float(self.rng.uniform(0.1, 0.25))


def scenario_turns(n_exchanges: int = 12, *, seed: int = 0) -> tuple[Utterance, ...]:
    """Alternating turns (therapist first) with ``n_exchanges`` planted speaker changes.

    ``n_exchanges + 1`` turns of one sentence each; the first starts at 0.5 s.
    ``max(1, round(n_exchanges / 4))`` transitions, at seeded random positions,
    overlap by 0.10..0.25 s; the others have gaps of 0.1..1.5 s (uniform).
    No backchannels or interruptions.
    """
    if n_exchanges < 0:
        raise ScenarioError(f"n_exchanges={n_exchanges} must be >= 0")
    plan = _Planner(seed)
    n_overlaps = max(1, round(n_exchanges / 4)) if n_exchanges else 0
    overlapping = set(plan.rng.choice(n_exchanges, size=n_overlaps, replace=False).tolist()) if n_exchanges else set()
    for i in range(n_exchanges + 1):
        speaker = SPEAKERS[i % 2]
        pool = THERAPIST_SENTENCES if speaker == THERAPIST else CLIENT_SENTENCES
        offset = -plan.overlap_s() if (i - 1) in overlapping else plan.gap_s()
        plan.turn(speaker, plan.pick(speaker, pool), offset)
    return tuple(plan.utterances)


def scenario_mixed(*, seed: int = 0, backchannel_gain_db: float = 0.0,
                   voices: dict | None = None) -> tuple[Utterance, ...]:
    """About 40-46 s of dialogue with every planted event kind.

    Plants 15 floor utterances (14 speaker changes: 10 gaps of 0.1..1.5 s, 2
    overlapping turn transitions of 0.10..0.25 s, 2 interruptions overlapping
    0.4..0.8 s -- the client's first, then the therapist's), 3 backchannels (two by the client, one by
    the therapist, each inside the other's utterance, >= 0.5 s before its end),
    and 1 failed interruption by the client (>= 1.1 s, starting in and ending
    >= 0.5 s before the end of a long therapist utterance).
    ``backchannel_gain_db``: the backchannels' level re their speaker's (0: as
    loud as the speaker's turns, as in the bundled fixture; real backchannels
    in overlap are often softer). ``voices``: speaker -> (espeak voice, pitch
    or None, speed_wpm or None); None: the default voices.
    """
    p = _Planner(seed, voices=voices)
    T, C = THERAPIST, CLIENT
    t_short = THERAPIST_SENTENCES
    p.turn(T, p.pick(T, THERAPIST_LONG_SENTENCES), 0.0)
    p.inside(C, p.pick(C, BACKCHANNELS, max_s=0.8), "backchannel", lead_s=0.8, tail_s=0.6,
             gain_db=backchannel_gain_db)
    p.turn(C, p.pick(C, CLIENT_SENTENCES), p.gap_s())
    p.turn(T, p.pick(T, t_short), p.gap_s())
    p.turn(C, p.pick(C, CLIENT_SENTENCES), -p.overlap_s())
    p.turn(T, p.pick(T, THERAPIST_LONG_SENTENCES), p.gap_s())
    p.interruption(C, p.pick(C, CLIENT_INTERRUPTIONS), float(p.rng.uniform(0.4, 0.8)))
    p.turn(T, p.pick(T, t_short), p.gap_s())
    p.turn(C, p.pick(C, CLIENT_SENTENCES, min_s=1.7), p.gap_s())
    p.inside(T, p.pick(T, BACKCHANNELS, max_s=0.8), "backchannel", lead_s=0.4, tail_s=0.5,
             gain_db=backchannel_gain_db)
    p.turn(T, p.pick(T, THERAPIST_LONG_SENTENCES), p.gap_s())
    p.inside(C, p.pick(C, CLIENT_SENTENCES, min_s=1.1, max_s=1.8), "failed_interruption", lead_s=0.6, tail_s=0.5)
    p.turn(C, p.pick(C, CLIENT_SENTENCES, min_s=1.3), p.gap_s())
    p.interruption(T, p.pick(T, THERAPIST_INTERRUPTIONS), float(p.rng.uniform(0.4, 0.8)))
    p.turn(C, p.pick(C, CLIENT_SENTENCES), -p.overlap_s())
    p.turn(T, p.pick(T, THERAPIST_LONG_SENTENCES), p.gap_s())
    p.inside(C, p.pick(C, BACKCHANNELS, max_s=0.8), "backchannel", lead_s=0.8, tail_s=0.6,
             gain_db=backchannel_gain_db)
    p.turn(C, p.pick(C, CLIENT_SENTENCES), p.gap_s())
    p.turn(T, p.pick(T, t_short), p.gap_s())
    return tuple(p.utterances)


def scenario_overlap_events(*, seed: int = 0, n_floors: int = 8, voices: bool = True) -> tuple[Utterance, ...]:
    """Backchannels and failed interruptions, both ways, with many voices and levels.

    ``n_floors`` floor holdings, alternating speakers (therapist first); in each
    the holder speaks two or three long sentences with pauses of 0.6-1.4 s, and
    the listener produces, per sentence, one of (seeded draw):

    * a backchannel (``BACKCHANNEL_TOKENS``: "mm-hm", "yeah", "right", ...) in the holder's pause
      (0.1-0.35 s after the holder stops; the holder resumes 0.1-0.4 s after
      it), at -10..0 dB re the listener's level;
    * a backchannel overlapping the holder's speech, softly (-14..-5 dB);
    * a failed interruption: a real start ("But I", "Sorry can I", ...) of
      0.3-1.2 s inside the holder's speech at -1..+6 dB, the holder talking on;
    * nothing.

    The floor then passes by a gap (0.1-1.2 s), a short overlap (0.1-0.25 s)
    or an interruption (0.4-0.8 s). ``voices``: each speaker gets a voice of
    ``VOICE_POOL``, an espeak pitch of 25..75 and a speed of 150..190 wpm drawn
    from the seed (False: the default voices).
    """
    rng = np.random.default_rng([seed, 13])
    chosen = None
    if voices:
        names = rng.choice(len(VOICE_POOL), size=2, replace=False)
        chosen = {s: (VOICE_POOL[int(k)], int(rng.integers(25, 76)), int(rng.integers(150, 191)))
                  for s, k in zip(SPEAKERS, names)}
    p = _Planner(seed, voices=chosen)
    long_pool = {THERAPIST: THERAPIST_LONG_SENTENCES, CLIENT: CLIENT_LONG_SENTENCES}
    interruptions = {THERAPIST: THERAPIST_INTERRUPTIONS, CLIENT: CLIENT_INTERRUPTIONS}
    holder = THERAPIST
    p.turn(holder, p.pick(holder, long_pool[holder], min_s=2.8), 0.0)
    for k in range(n_floors):
        listener = CLIENT if holder == THERAPIST else THERAPIST
        n_sentences = int(rng.integers(2, 4))
        for j in range(n_sentences):
            kind = str(rng.choice(["bc_pause", "bc_overlap", "failed", "none"], p=[0.3, 0.3, 0.3, 0.1]))
            last = j == n_sentences - 1
            tail = 1.6 if last else 0.4  # room before the listener takes the floor
            if kind == "bc_overlap":
                p.inside(listener, p.pick(listener, BACKCHANNEL_TOKENS, max_s=0.8), "backchannel", lead_s=0.5,
                         tail_s=tail, gain_db=rng.uniform(-14.0, -5.0))
            elif kind == "failed":
                p.inside(listener, p.pick(listener, FAILED_STARTS, min_s=0.3, max_s=1.2), "failed_interruption",
                         lead_s=0.5, tail_s=tail, gain_db=rng.uniform(-1.0, 6.0))
            if last:
                break
            if kind == "bc_pause":
                resume = p.in_pause(listener, p.pick(listener, BACKCHANNEL_TOKENS, max_s=0.8),
                                    gain_db=rng.uniform(-10.0, 0.0))
            else:
                resume = float(rng.uniform(0.6, 1.4))
            p.turn(holder, p.pick(holder, long_pool[holder], min_s=2.8), resume)
        if k == n_floors - 1:
            break
        how = str(rng.choice(["gap", "overlap", "interruption"], p=[0.6, 0.2, 0.2]))
        if how == "interruption":
            p.interruption(listener, p.pick(listener, interruptions[listener]), float(rng.uniform(0.4, 0.8)))
            p.turn(listener, p.pick(listener, long_pool[listener], min_s=2.8), float(rng.uniform(0.6, 1.2)))
        else:
            p.turn(listener, p.pick(listener, long_pool[listener], min_s=2.8),
                   -p.overlap_s() if how == "overlap" else float(rng.uniform(0.1, 1.2)))
        holder = listener
    return tuple(p.utterances)


def scenario_monologue(n_utterances: int = 3, *, seed: int = 0, speaker: str = THERAPIST) -> tuple[Utterance, ...]:
    """One speaker alone: ``n_utterances`` sentences separated by 0.6..1.2 s pauses."""
    _check_speaker(speaker)
    if n_utterances < 1:
        raise ScenarioError(f"n_utterances={n_utterances} must be >= 1")
    p = _Planner(seed)
    pool = THERAPIST_SENTENCES if speaker == THERAPIST else CLIENT_SENTENCES
    for _ in range(n_utterances):
        p.turn(speaker, p.pick(speaker, pool), float(p.rng.uniform(0.6, 1.2)))
    return tuple(p.utterances)


def scenario_session(duration_s: float, *, seed: int = 0, voices: dict | None = None,
                     pitch_drift: dict | None = None, level_drift: dict | None = None,
                     one_voice: bool = False) -> tuple[Utterance, ...]:
    """A whole therapy session's structure over about ``duration_s`` seconds, one planted truth.

    Blocks, drawn in turn until the timeline passes ``duration_s``:

    * the client's monologue (weight 0.3): 2-5 min of client sentences (mostly long ones), pauses
      of 0.4-1.6 s between them; the therapist backchannels in ~20 % of the pauses (-8..0 dB) and
      softly over ~10 % of the long sentences (-12..-4 dB);
    * a quick exchange (0.45): 4-12 alternating short turns, gaps 0.1-1.5 s, one in four
      overlapping 0.1-0.25 s, one in six an interruption (0.4-0.8 s);
    * the therapist's longer turn (0.25): 8-40 s of sentences, the client backchannelling.

    Between blocks, one time in four, a silence of 5-30 s. ``one_voice``: the client's monologues
    alone (no therapist utterance). ``voices``: speaker -> (espeak voice, pitch base or None,
    speed_wpm or None; None: 50, 175); each utterance is spoken at its speaker's pitch base +-4
    and speed +-10 wpm (drawn), the pitch base moving linearly by ``pitch_drift[speaker]``
    (espeak pitch units, e.g. +8: the voice rises over the session). ``level_drift``: speaker ->
    ``((time_s, gain_db), ...)`` knots; each utterance's gain is that curve at its start
    (linear between knots; a person moving about the room)."""
    rng = np.random.default_rng([seed, 29])
    base = {s: (default_voice(s), None, None) for s in SPEAKERS} if voices is None else dict(voices)
    drift = {s: 0.0 for s in SPEAKERS} | dict(pitch_drift or {})
    knots = dict(level_drift or {})
    p = _Planner(seed, voices=base)
    T, C = THERAPIST, CLIENT

    def voice(s):  # the speaker's voice for its next utterance
        v, pb, sb = base[s]
        frac = min(1.0, p.floor_end_s / duration_s)
        pitch = int(np.clip(round((50 if pb is None else pb) + drift[s] * frac) + int(rng.choice([-4, 0, 4])), 0, 99))
        speed = int((175 if sb is None else sb) + int(rng.choice([-10, 0, 10])))
        p.voices[s] = (v, pitch, speed)

    def gain(s, extra_db=0.0):
        if s not in knots:
            return extra_db
        ts, gs = zip(*knots[s])
        return float(np.interp(p.floor_end_s, ts, gs)) + extra_db

    def turn(s, pool, offset_s, **kw):
        voice(s)
        u = p.turn(s, p.pick(s, pool, **kw), offset_s)
        p.utterances[-1] = u = replace(u, gain_db=round(gain(s), 2))
        p.floor_utt = u
        return u

    def inside(s, host_s):
        voice(s)
        host = p.floor_utt
        if p.duration_s(host_s, host.text) < 2.4:
            return
        p.inside(s, p.pick(s, BACKCHANNEL_TOKENS, max_s=0.8), "backchannel", lead_s=0.6, tail_s=0.7,
                 gain_db=gain(s, float(rng.uniform(-12.0, -4.0))))

    def monologue(s, other, length_s):
        end = p.floor_end_s + length_s
        long_pool = CLIENT_LONG_SENTENCES if s == C else THERAPIST_LONG_SENTENCES
        short_pool = CLIENT_SENTENCES if s == C else THERAPIST_SENTENCES
        first = True
        while p.floor_end_s < end:
            pool = long_pool if rng.uniform() < 0.7 else short_pool
            holds = p.floor_utt is not None and p.floor_utt.speaker == s  # a pause, not a change of turn
            off = float(rng.uniform(0.1, 1.2)) if first and not holds else float(rng.uniform(0.4, 1.6))
            if not first and not one_voice and rng.uniform() < 0.2:
                voice(other)
                off = p.in_pause(other, p.pick(other, BACKCHANNEL_TOKENS, max_s=0.8),
                                 gain_db=gain(other, float(rng.uniform(-8.0, 0.0))))
            turn(s, pool, silence_or(off) if first else off)
            first = False
            if not one_voice and pool is long_pool and rng.uniform() < 0.1:
                inside(other, s)

    pending = {"silence": False}

    def last_end(s):  # the end of the speaker's last utterance (spoken at its own pitch and speed)
        mine = [u for u in p.utterances if u.speaker == s]
        return -math.inf if not mine else max(
            u.start_s + p.duration_s_of(u) for u in mine[-3:])

    def silence_or(off):
        if pending["silence"]:
            pending["silence"] = False
            return float(rng.uniform(5.0, 30.0))
        return off

    def exchange():
        n = int(rng.integers(4, 13))
        who = T if p.floor_utt is None or p.floor_utt.speaker == C else C
        for i in range(n):
            pool = THERAPIST_SENTENCES if who == T else CLIENT_SENTENCES
            r = rng.uniform()
            ov = float(rng.uniform(0.4, 0.8))
            if i and r < 1 / 6 and p.floor_end_s - ov - last_end(who) >= 0.35:
                voice(who)
                ints = THERAPIST_INTERRUPTIONS if who == T else CLIENT_INTERRUPTIONS
                u = p.interruption(who, p.pick(who, ints), ov)
                p.utterances[-1] = u = replace(u, gain_db=round(gain(who), 2))
                p.floor_utt = u
            else:
                off = -p.overlap_s() if i and r < 0.25 + 1 / 6 else p.gap_s()
                turn(who, pool, off if i else silence_or(off))
            who = C if who == T else T

    while p.floor_end_s < duration_s:
        if one_voice:
            monologue(C, T, float(rng.uniform(120.0, 300.0)))
        else:
            k = rng.choice(3, p=[0.3, 0.45, 0.25])
            if k == 0:
                monologue(C, T, float(rng.uniform(120.0, 300.0)))
            elif k == 1:
                exchange()
            else:
                monologue(T, C, float(rng.uniform(8.0, 40.0)))
        pending["silence"] = rng.uniform() < 0.25
    return tuple(p.utterances)


SESSION_LEVEL_DB = -28.0  # each voice's level before its drift (+6 dB and espeak's ~20 dB peaks stay below 0 dBFS)
SESSION_SNRS_DB = (35.0, 25.0, 15.0)  # pink room noise re the speech level
SESSION_CHUNK_S = 60.0  # the room is mixed and the noise drawn this much at a time
SESSION_ROOM_TAIL_S = 1.0  # longer than any room response drawn (RT60 <= 0.5 s): the chunks' tails overlap-add exactly


def level_drift_knots(rng: np.random.Generator, duration_s: float) -> tuple[tuple[float, float], ...]:
    """A person moving about the room: ``(time_s, gain_db)`` knots every 2-5 min, each -6..+6 dB."""
    t, out = 0.0, []
    while t < duration_s + 300.0:
        out.append((round(t, 1), round(float(rng.uniform(-6.0, 6.0)), 2)))
        t += float(rng.uniform(120.0, 300.0))
    return tuple(out)


def session_recording(voices: dict, *, seed: int, duration_s: float, layout: str,
                      one_voice: bool = False) -> tuple[np.ndarray, Dialogue, dict]:
    """A whole session (``scenario_session``) laid out as ``layout`` ("mono" or "shared"), its
    conditions drawn from ``seed``, the layout and the voices: one person's level drifting
    (``level_drift_knots``), one voice's pitch base drifting -8..+8 (espeak units), the room as
    ``mix_room`` draws it in benchmarks/diarization.py (RT60 0.2-0.5 s or, one time in four, dry;
    level differences 0-6 dB; delays 0-1 ms), mixed a minute at a time with the same responses
    (the tails overlap-added: the same as one mix), and pink room noise at one of
    ``SESSION_SNRS_DB`` re ``SESSION_LEVEL_DB``. ``voices``: speaker -> (espeak voice, pitch or
    None, speed or None). Returns (float32 (n, channels), the dialogue (its clean voices and
    truth), the conditions drawn)."""
    def spec(v):  # "voice pNN sNNN", as benchmarks/diarization.py spells a voice
        return v[0] + ("" if v[1] is None else f" p{v[1]}") + ("" if v[2] is None else f" s{v[2]}")

    key = int(hashlib.sha1("/".join(spec(voices[s]) for s in SPEAKERS).encode()).hexdigest()[:6], 16)
    rng = np.random.default_rng([seed, int(duration_s // 60), 0 if layout == "mono" else 1, int(one_voice), key])
    mover = CLIENT if one_voice else SPEAKERS[int(rng.integers(2))]
    pitch_drift = {SPEAKERS[int(rng.integers(2))]: float(rng.uniform(-8.0, 8.0))}
    knots = {mover: level_drift_knots(rng, duration_s)}
    utts = scenario_session(duration_s, seed=seed, voices=voices, pitch_drift=pitch_drift, level_drift=knots,
                            one_voice=one_voice)
    d = build_dialogue(utts, noise_db=None, level_db=(SESSION_LEVEL_DB, SESSION_LEVEL_DB), seed=seed)
    ld = (float(rng.uniform(0, 6)) * rng.choice([-1, 1]), float(rng.uniform(0, 6)) * rng.choice([-1, 1]))
    rt60 = None if rng.uniform() < 0.25 else float(rng.uniform(0.2, 0.5))
    delay = tuple(float(v) for v in rng.uniform(0, 1, 2))
    snr = float(SESSION_SNRS_DB[int(rng.integers(len(SESSION_SNRS_DB)))])
    n = len(d.audio)
    out = np.zeros((n, 1 if layout == "mono" else 2), np.float32)
    step, tail = int(SESSION_CHUNK_S * d.sample_rate), int(SESSION_ROOM_TAIL_S * d.sample_rate)
    for a in range(0, n, step):
        piece = np.concatenate([d.audio[a:a + step], np.zeros((tail, 2), np.float32)])
        y, _ = mix_room(replace(d, audio=piece), layout=layout, level_diff_db=ld, delay_ms=delay,
                        rt60_s=rt60, noise_db=None, seed=seed)
        k = min(len(y), n - a)
        out[a:a + k] += y[:k]
    noise_db = SESSION_LEVEL_DB - snr
    nrng = np.random.default_rng([seed, 41])
    for a in range(0, n, step):
        k = min(step, n - a)
        for c in range(out.shape[1]):
            z = pink_noise(nrng, k)
            out[a:a + k, c] += (z / np.sqrt(np.mean(z ** 2)) * 10 ** (noise_db / 20)).astype(np.float32)
    peak = float(np.max(np.abs(out)))
    if peak >= 1.0:
        raise ScenarioError(f"the session peaks at {20 * np.log10(peak):+.1f} dBFS; lower SESSION_LEVEL_DB")
    cond = {"mover": mover, "drift_db": [g for _, g in knots[mover]], "pitch_drift": pitch_drift,
            "snr_db": snr, "rt60_s": rt60, "level_diff_db": ld}
    return out, d, cond


# --------------------------------------------------------------------------- cross-talk on separate channels


@dataclass(frozen=True)
class LeakPath:
    """How one person's voice reaches the *other* person's channel.

    ``leak_db`` (negative): level of the leak re the receiving channel's own
    speech level (RMS over the source's speech), e.g. -3 .. -30 dB.
    ``delay_s``: extra delay (loudspeaker echo through device buffers), 0 ..
    0.15 s. ``polarity``: +1 or -1. ``rt60_s``: reverberation time of a
    synthetic room impulse response (exponentially decaying noise after a
    direct path; ``None``: dry). ``band_hz``: loudspeaker band-pass
    (4th-order Butterworth; ``None``: full band).
    """

    leak_db: float
    delay_s: float = 0.0
    polarity: int = 1
    rt60_s: float | None = None
    band_hz: tuple[float, float] | None = None


def room_ir(rt60_s: float, *, sample_rate: int = SAMPLE_RATE_HZ, seed: int = 0,
            direct_to_reverb_db: float = 0.0) -> np.ndarray:
    """Synthetic room impulse response, shape ``(n_samples,)``: a unit direct
    path, then from 2 ms Gaussian noise decaying by 60 dB over ``rt60_s``,
    scaled so the tail carries ``-direct_to_reverb_db`` dB re the direct path."""
    rng = np.random.default_rng(seed)
    n = int(rt60_s * sample_rate)
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * 10.0 ** (-3.0 * t / rt60_s)
    tail[: int(0.002 * sample_rate)] = 0.0
    tail *= 10.0 ** (-direct_to_reverb_db / 20.0) / np.sqrt(np.sum(tail**2))
    tail[0] = 1.0
    return tail


# --------------------------------------------------------------------------- shared-channel and mono mixes


@dataclass(frozen=True)
class RoomMix:
    """How ``mix_room`` laid two clean voices onto microphones.

    ``gain_db[s][m]``: level of speaker ``s`` (0 therapist, 1 client) at mic ``m``
    relative to its clean level; ``delay_s[s][m]``: direct-path delay;
    ``rt60_s``: reverberation time of the synthetic room (None: dry).
    """

    layout: str
    gain_db: tuple[tuple[float, ...], ...]
    delay_s: tuple[tuple[float, ...], ...]
    rt60_s: float | None
    noise_db: float | None
    seed: int


def _room_response(rng: np.random.Generator, *, rt60_s: float, sample_rate: int, drr_db: float) -> np.ndarray:
    """Direct path (unit impulse) + an exponentially decaying Gaussian tail
    (-60 dB after ``rt60_s``) starting 2.5 ms later, ``drr_db`` below the direct path in energy."""
    n = int(round(rt60_s * sample_rate))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.908 * t / rt60_s)
    tail[: int(0.0025 * sample_rate)] = 0.0
    tail *= 10 ** (-drr_db / 20) / max(np.sqrt(np.sum(tail ** 2)), 1e-12)
    tail[0] = 1.0
    return tail


def _leak(src: np.ndarray, speech: np.ndarray, path: LeakPath, target_db: float, sample_rate: int,
          seed: int) -> np.ndarray:
    y = src.astype(np.float64)
    if path.band_hz is not None:
        sos = signal.butter(4, path.band_hz, btype="bandpass", fs=sample_rate, output="sos")
        y = signal.sosfilt(sos, y)
    if path.rt60_s is not None:
        y = signal.fftconvolve(y, room_ir(path.rt60_s, sample_rate=sample_rate, seed=seed))[: len(y)]
    delay = int(round(path.delay_s * sample_rate))
    y = np.concatenate([np.zeros(delay), y])[: len(src)]
    sp = np.concatenate([np.zeros(delay, dtype=bool), speech])[: len(src)]
    rms = np.sqrt(np.mean(y[sp] ** 2)) if sp.any() else 1.0
    return path.polarity * y * 10.0 ** (target_db / 20.0) / max(rms, 1e-12)


def add_crosstalk(
    dialogue: Dialogue,
    *,
    into_therapist: LeakPath | None,
    into_client: LeakPath | None = None,
    gain_db: tuple[float, float] = (0.0, 0.0),
    noise_db: float | None = -65.0,
    change_at_s: float | None = None,
    after: tuple[LeakPath | None, LeakPath | None] | None = None,
    seed: int = 0,
) -> Dialogue:
    """Separate channels with cross-talk, built from a dry ``dialogue``
    (``build_dialogue(..., noise_db=None)``): each person's voice leaks into the
    other's channel through a ``LeakPath`` (``None``: no leak that way), at
    ``leak_db`` re the *receiving* channel's own speech level; then each
    channel is scaled by ``gain_db`` (therapist, client: channel gain
    differences, e.g. a quiet headset next to a loud call channel) and
    independent white noise at ``noise_db`` dBFS is added. ``change_at_s``: the
    paths become ``after`` from then on (someone moved). The mix is scaled to
    peak at most -1 dBFS. Truth is the dialogue's (leak is never speech)."""
    sr = dialogue.sample_rate
    n = dialogue.audio.shape[0]
    x = dialogue.audio.astype(np.float64)
    speech = [np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)]
    for p in dialogue.utterances:
        speech[SPEAKERS.index(p.speaker)][p.start_sample:p.end_sample] = True
    own_db = [dialogue.settings.therapist_level_db, dialogue.settings.client_level_db]
    out = x.copy()
    phases = [((into_therapist, into_client), 0, n)]
    if change_at_s is not None:
        cut = int(round(change_at_s * sr))
        phases = [((into_therapist, into_client), 0, cut), (after, cut, n)]
    for k, (paths, a, b) in enumerate(phases):
        for dst, path in enumerate(paths):
            if path is None:
                continue
            src = 1 - dst
            leak = _leak(x[:, src], speech[src], path, own_db[dst] + path.leak_db, sr, seed * 7 + 2 * k + dst)
            out[a:b, dst] += leak[a:b]
    out *= 10.0 ** (np.asarray(gain_db, dtype=np.float64) / 20.0)
    if noise_db is not None:
        out += np.random.default_rng(seed + 1000).standard_normal(out.shape) * 10.0 ** (noise_db / 20.0)
    peak = float(np.max(np.abs(out)))
    if peak > 10.0 ** (-1.0 / 20.0):
        out *= 10.0 ** (-1.0 / 20.0) / peak
    audio = out.astype(np.float32)
    audio.flags.writeable = False
    import dataclasses
    return dataclasses.replace(dialogue, audio=audio, truth=dataclasses.replace(dialogue.truth, bleed_segments=()))


def ami_dialogue(corpus: Path, *, seed: int = 0, n_turns: int = 14, level_db: tuple[float, float] = (-26.0, -26.0),
                 min_pause_s: float = 0.3, trim_db: float | None = None, audible_db: float | None = None,
                 voice_fx: Callable[[tuple[str, str], np.ndarray], np.ndarray] | None = None) -> Dialogue:
    """A two-channel dialogue of *real* voices: single-speaker stretches of two
    AMI speakers (``corpus/pyannote-audio/*.wav`` cut by the
    ``debug.*.rttm`` annotations: no other speaker within 0.2 s), laid out as
    alternating turns (gaps 0.1-1.5 s, a few 0.1-0.2 s overlaps) with
    backchannels (stretches of 0.25-0.9 s) inside long turns of the other.
    The speech extent is the RTTM segment (it may hold short pauses).
    ``trim_db``: cut each stretch to its speech instead (first to last 10 ms
    frame within ``trim_db`` of its loudest one; RTTM extents often hold
    silence at their edges) and redraw a turn until its speech lasts at least
    ``BACKCHANNEL_MAX_S`` + 0.2 s: a planted "turn" of 0.7 s of speech between
    two turns of the other speaker is, by the definitions the truth uses, a
    backchannel, and would be scored as a false one. Such a stretch also holds
    no pause longer than ``AMI_MAX_PAUSE_S`` (as the espeak utterances, whose
    inner pauses a VAD bridges: a longer one makes two utterances of it).
    ``audible_db`` (with ``trim_db``): a turn's frames within this of its loudest must span
    ``BACKCHANNEL_MAX_S`` + 0.2 s (1.2 s) too (a 30 dB extent may hold the recording's own hiss at its edges,
    which a channel's noise hides; the planted extent stays the ``trim_db`` one).
    Channels are dry (no noise); use ``add_crosstalk`` to mix. ``voice_fx``: each placed stretch
    passed through ``voice_fx((uri, speaker), samples)`` (which must keep its length), e.g. a voice
    transformed (benchmarks/unseen_material.py); the stretches and their timing are drawn as without it."""
    rng = np.random.default_rng(seed)
    root = Path(corpus) / "pyannote-audio"
    segs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    allsegs: dict[str, list[tuple[float, float]]] = {}
    for f in sorted(root.glob("debug.*.rttm")):
        for line in f.read_text(encoding="utf-8").splitlines():
            p = line.split()
            if len(p) >= 8 and p[0] == "SPEAKER":
                a, b = float(p[3]), float(p[3]) + float(p[4])
                segs.setdefault((p[1], p[7]), []).append((a, b))
                allsegs.setdefault(p[1], []).append((a, b))
    # stretches where only this speaker is annotated (others' segments widened by 0.1 s)
    solo: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for (uri, spk), ss in segs.items():
        if not (root / f"{uri}.wav").exists():
            continue
        others = sorted((c - 0.1, d + 0.1) for c, d in allsegs[uri] if (c, d) not in ss)
        for a, b in ss:
            pieces = [(a, b)]
            for c, d in others:
                pieces = [q for x, y in pieces for q in ((x, min(y, c)), (max(x, d), y)) if q[1] - q[0] > 0.25]
            solo.setdefault((uri, spk), []).extend(pieces)
    cands = [k for k, v in solo.items() if sum(b - a for a, b in v) >= 8.0]
    if len(cands) < 2:
        raise ScenarioError(f"too few AMI speakers with 8 s of solo speech under {root}")
    pick = rng.choice(len(cands), size=2, replace=False)
    who = [cands[int(i)] for i in pick]
    audio_cache: dict[str, np.ndarray] = {}

    def cut(key, a, b):
        uri = key[0]
        if uri not in audio_cache:
            y, sr = sf.read(root / f"{uri}.wav", dtype="float32")
            audio_cache[uri] = y if y.ndim == 1 else y[:, 0]
        return audio_cache[uri][int(a * SAMPLE_RATE_HZ):int(b * SAMPLE_RATE_HZ)]

    def piece(ch, lo_s, hi_s):
        """A random stretch of lo_s..hi_s seconds inside one solo stretch of speaker ch."""
        ok = [(a, b) for a, b in solo[who[ch]] if b - a >= lo_s]
        for _ in range(50 if trim_db is not None else 1):
            a, b = ok[int(rng.integers(len(ok)))]
            dur = float(rng.uniform(lo_s, min(hi_s, b - a)))
            s0 = float(rng.uniform(a, b - dur))
            if trim_db is None:
                break
            s0, s1, pause_s = speech_extent(who[ch], s0, s0 + dur)
            need_s = BACKCHANNEL_MAX_S + 0.2 if lo_s >= 1.0 else 0.2
            if s1 - s0 >= need_s and pause_s <= AMI_MAX_PAUSE_S:
                if audible_db is None or lo_s < 1.0:
                    return s0, s1
                a0, a1, _ = speech_extent(who[ch], s0, s1, db=audible_db)
                if a1 - a0 >= need_s:
                    return s0, s1
        return s0, s0 + dur

    def speech_extent(key, a, b, db=None):
        """(a, b) cut to its first and last 10 ms frame within trim_db (or db) of its loudest one, and
        the longest run of frames below that inside (s)."""
        y = cut(key, a, b).astype(np.float64)
        hop = SAMPLE_RATE_HZ // 100
        n = len(y) // hop
        lv = 10.0 * np.log10(np.mean(y[:n * hop].reshape(n, hop) ** 2, axis=1) + 1e-20)
        on = np.flatnonzero(lv >= lv.max() - (trim_db if db is None else db))
        gap = int(np.max(np.diff(on))) - 1 if len(on) > 1 else 0
        return a + on[0] * hop / SAMPLE_RATE_HZ, a + (on[-1] + 1) * hop / SAMPLE_RATE_HZ, gap * hop / SAMPLE_RATE_HZ

    placed: list[PlacedUtterance] = []
    waves: list[np.ndarray] = []
    t = 0.5
    prev_end = {0: -10.0, 1: -10.0}

    def place(ch, a, b, start, role):
        y = cut(who[ch], a, b)
        if voice_fx is not None:
            y = voice_fx(who[ch], y)
        s = int(round(start * SAMPLE_RATE_HZ))
        spk = SPEAKERS[ch]
        placed.append(PlacedUtterance(speaker=spk, text=f"{who[ch][0]}:{who[ch][1]}@{a:.2f}", role=role,
                                      start_s=s / SAMPLE_RATE_HZ, end_s=(s + len(y)) / SAMPLE_RATE_HZ,
                                      start_sample=s, end_sample=s + len(y), voice=f"ami:{who[ch][1]}",
                                      pitch=None, speed_wpm=None, level_db=level_db[ch], longest_pause_s=0.0))
        waves.append(y)
        prev_end[ch] = (s + len(y)) / SAMPLE_RATE_HZ

    for i in range(n_turns):
        ch = i % 2
        a, b = piece(ch, 1.0, 5.0)
        start = t if i == 0 else t + (float(rng.uniform(0.1, 1.5)) if rng.random() > 0.2 else -float(rng.uniform(0.1, 0.2)))
        start = max(start, prev_end[ch] + min_pause_s)
        place(ch, a, b, start, "turn")
        end = prev_end[ch]
        if end - start >= 2.5 and rng.random() < 0.7:
            o = 1 - ch
            c, d = piece(o, 0.3, 0.8)
            lo, hi = start + 0.6, end - 0.6 - (d - c)
            if hi > lo and lo >= prev_end[o] + min_pause_s:
                place(o, c, d, float(rng.uniform(lo, hi)), "backchannel")
        t = end
    order = sorted(range(len(placed)), key=lambda i: (placed[i].start_sample, placed[i].speaker))
    placed = [placed[i] for i in order]
    waves = [waves[i] for i in order]
    transitions, events = _derive_roles(placed, min_pause_s=min_pause_s, sample_rate=SAMPLE_RATE_HZ)
    n = max(p.end_sample for p in placed) + SAMPLE_RATE_HZ // 2
    audio = np.zeros((n, 2))
    for p, y in zip(placed, waves):
        yd = y.astype(np.float64)
        audio[p.start_sample:p.end_sample, SPEAKERS.index(p.speaker)] += yd * 10.0 ** (p.level_db / 20.0) / np.sqrt(np.mean(yd**2) + 1e-20)
    segs2 = {s: tuple((a / SAMPLE_RATE_HZ, b / SAMPLE_RATE_HZ) for a, b in
                      _merge((p.start_sample, p.end_sample) for p in placed if p.speaker == s)) for s in SPEAKERS}
    truth = DialogueTruth(sample_rate=SAMPLE_RATE_HZ, duration_s=n / SAMPLE_RATE_HZ,
                          therapist_segments=segs2[THERAPIST], client_segments=segs2[CLIENT],
                          transitions=tuple(transitions), events=tuple(events),
                          overlaps=_intersect(segs2[THERAPIST], segs2[CLIENT]))
    settings = MixSettings(therapist_level_db=level_db[0], client_level_db=level_db[1], noise_db=None,
                           bleed_db=None, bleed_delay_s=0.0, seed=seed)
    a32 = audio.astype(np.float32)
    a32.flags.writeable = False
    return Dialogue(sample_rate=SAMPLE_RATE_HZ, audio=a32, utterances=tuple(placed), truth=truth, settings=settings)


def mix_room(
    dialogue: Dialogue,
    *,
    layout: str,
    level_diff_db: tuple[float, float] = (3.0, -3.0),
    delay_ms: tuple[float, float] = (0.5, 0.5),
    rt60_s: float | None = 0.3,
    drr_db: float = 6.0,
    noise_db: float | None = -55.0,
    seed: int = 0,
) -> tuple[np.ndarray, RoomMix]:
    """Both voices of ``dialogue`` on every microphone: a table recorder or a
    speakerphone (``layout="shared"``, two mics) or a mixed call / memo
    (``layout="mono"``, one mic).

    Build the dialogue without noise (``noise_db=None``) so its channels are the
    clean voices. Shared: speaker ``s`` reaches mic 0 ``level_diff_db[s] / 2``
    dB louder and mic 1 as much quieter (so ``level_diff_db[s]`` is its
    inter-channel level difference: therapist positive = nearer mic 0), and
    mic 1 ``delay_ms[s]`` later (its direct path). Mono: speaker ``s`` is scaled
    by ``level_diff_db[s] / 2`` dB. Each speaker-mic path is convolved with its
    own synthetic room response (``rt60_s``, ``drr_db``; None: dry);
    independent white noise at ``noise_db`` dBFS is added per mic. The truth of
    ``dialogue`` still holds (direct paths delay speech by at most a few ms).
    Returns float32 ``(n_samples, n_mics)`` and the ``RoomMix``.
    """
    if layout not in ("shared", "mono"):
        raise ScenarioError(f"layout={layout!r}; use 'shared' or 'mono'")
    if dialogue.settings.noise_db is not None:
        raise ScenarioError("build the dialogue with noise_db=None: mix_room needs the clean voices")
    sr = dialogue.sample_rate
    rng = np.random.default_rng(seed)
    n_mics = 2 if layout == "shared" else 1
    src = dialogue.audio.astype(np.float64)
    n = len(src)
    out = np.zeros((n, n_mics))
    gains, delays = [], []
    for s in (0, 1):
        g_row, d_row = [], []
        for m in range(n_mics):
            g = level_diff_db[s] / 2 * (1 if m == 0 else -1)
            dly = delay_ms[s] / 1000.0 if m == 1 else 0.0
            y = src[:, s] * 10 ** (g / 20)
            if rt60_s is not None:
                y = signal.fftconvolve(y, _room_response(rng, rt60_s=rt60_s, sample_rate=sr, drr_db=drr_db))[:n]
            k = int(round(dly * sr))
            if k:
                y = np.concatenate([np.zeros(k), y[:-k]])
            out[:, m] += y
            g_row.append(float(g))
            d_row.append(float(dly))
        gains.append(tuple(g_row))
        delays.append(tuple(d_row))
    if noise_db is not None:
        out += rng.standard_normal(out.shape) * 10 ** (noise_db / 20)
    peak = float(np.max(np.abs(out)))
    if peak > 1.0:
        out /= peak * 1.01
    return out.astype(np.float32), RoomMix(layout, tuple(gains), tuple(delays), rt60_s,
                                           None if noise_db is None else float(noise_db), seed)


def planted_frames(truth: dict, n_frames: int) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """A dialogue's planted voices on the 10 ms frame grid: ({0: therapist speaks, 1: client speaks}, each (n,)
    bool by frame centre, and the owner per frame: 0 / 1, 2 where both speak) from ``truth`` (``to_json_dict``);
    frames nobody speaks in are owner 0 (callers give pauses their own owner)."""
    t = (np.arange(n_frames) + 0.5) * 0.01
    on = {k: np.zeros(n_frames, bool) for k in (0, 1)}
    for k, spk in enumerate((THERAPIST, CLIENT)):
        for a, b in truth["segments"][spk]:
            on[k] |= (t >= a) & (t < b)
    return on, np.where(on[0] & on[1], 2, np.where(on[1], 1, 0)).astype(np.int8)


def analysed_as_planted(x: np.ndarray, on: dict[int, np.ndarray], owner: np.ndarray) -> dict:
    """The session document of mono ``x`` analysed with a diarization that is the planted truth: ``on`` / ``owner``
    as ``planted_frames`` gives them (``owner`` changed in place: each pause given to the voice before it), the
    therapist voice 0; the attribution's own channels cut from ``x`` (``Attribution.channels``)."""
    from prosody.engine.diarize import Diarization
    from prosody.engine.speakers import NO_PROFILE_RULE, Attribution, LayoutReport, Naming
    from prosody.session import analyze_blocks
    speech = on[0] | on[1]
    for i in range(1, len(owner)):  # pauses: the voice before them (the split at their middle does not matter)
        if not speech[i]:
            owner[i] = owner[i - 1]
    act = np.stack([speech & (owner != 1), speech & (owner != 0)], axis=1)
    d = Diarization(n_voices=2, activity=act, owner=owner, centroids=np.zeros((2, 256), np.float32),
                    separation=0.3, voice_share=(0.5, 0.5))
    att = Attribution("mono", LayoutReport("mono", 1.0, "one channel"), (THERAPIST, CLIENT), d.method,
                      diarization=d, naming=Naming((THERAPIST, CLIENT), 0.5, NO_PROFILE_RULE, True))
    return analyze_blocks([att.channels(x)], att.speakers, cross_talk=False).to_json_dict()


def with_voices(utterances: Iterable[Utterance], voices: dict[str, str]) -> tuple[Utterance, ...]:
    """The scenario spoken by other espeak-ng voices (speaker -> voice, e.g. {"client": "en-us+m1"})."""
    from dataclasses import replace as _replace

    return tuple(_replace(u, voice=voices.get(u.speaker, u.voice)) for u in utterances)
