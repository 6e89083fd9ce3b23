"""One pipeline for live and offline analysis: ``push(block) -> Update``, ``flush()``.

Blocks are float32 arrays of shape (n_samples, n_speakers) at the analysis
rate (16 kHz); sources (``sources.py``) decode, resample and lay out channels
before the pipeline. Per speaker::

    block -> Framer -> rms_db ------------------------------+
                    -> RawVad (webrtcvad + floor gate) -+    |
                    -> ClickMarks (keystrokes, taps) ---+    |
       (2 speakers) -> BleedDetector (cross-channel) ---+-> SpeechSmoother --+
    block -> PitchTracker ----------------------------------------------------+-> aligned FrameBlock
                                                                               -> SegmentTracker -> TurnTracker
                                                                               -> SyllableNuclei

Every stage is on the same 10 ms frame grid; a frame is emitted when all
stages have finalised it (``latency_frames`` = the largest stage latency).
The same audio pushed whole or in any block sizes gives identical output.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..config import AnalysisConfig, TurnConfig
from ..errors import InputError
from .framing import Framer, frame_power, hf500_db, power_db
from .iir import DcBlocker
from .overlap_cues import CueStore
from .pitch import PitchTracker
from .rate import SyllableNuclei
from ..timebase import GRID, Grid
from .turns import TurnOutput, TurnTracker
from ..types import FRAME_COLUMNS, FrameBlock, Provisional, Segment
from .vad import BleedDetector, ClickMarks, RawVad, SpeechSmoother
from .voice_quality import VoiceQualityChunk, VoiceQualityTracker


class SegmentTracker:
    """Final per-frame speech decisions -> closed segments + the open one's start.

    ``push(is_speech, voiced)`` also counts the voiced frames of each segment:
    ``voiced_frames`` holds them for the segments the latest ``push``/``flush``
    returned, in order."""

    def __init__(self, speaker: str, *, grid: Grid = GRID):
        self.speaker = speaker
        self.grid = grid
        self.reset()

    def reset(self) -> None:
        self._n = 0
        self.open_start: int | None = None  # frame index
        self._open_voiced = 0
        self.voiced_frames: list[int] = []

    def push(self, is_speech: np.ndarray, voiced: np.ndarray | None = None) -> list[Segment]:
        out = []
        self.voiced_frames = []
        voiced = np.zeros(len(is_speech), bool) if voiced is None else np.asarray(voiced, bool)
        x = np.concatenate([[self.open_start is not None], is_speech]).astype(np.int8)
        d = np.diff(x)
        pos = 0  # frames of this block counted so far
        for k in np.flatnonzero(d).tolist():
            if d[k] > 0:
                self.open_start = self._n + k
                self._open_voiced = 0
            else:
                self._open_voiced += int(voiced[max(pos, self.open_start - self._n):k].sum())
                out.append(self._segment(self.open_start, self._n + k))
                self.voiced_frames.append(self._open_voiced)
                self.open_start = None
            pos = k
        if self.open_start is not None:
            self._open_voiced += int(voiced[max(pos, self.open_start - self._n):].sum())
        self._n += len(is_speech)
        return out

    def flush(self) -> list[Segment]:
        self.voiced_frames = []
        if self.open_start is None:
            return []
        seg = self._segment(self.open_start, self._n)
        self.voiced_frames = [self._open_voiced]
        self.open_start = None
        return [seg]

    def _segment(self, a: int, b: int) -> Segment:
        return Segment(self.speaker, self.grid.frames_to_s(a), self.grid.frames_to_s(b))


def sound_max_frames(config: TurnConfig, *, grid: Grid = GRID) -> int:
    """``config.sound_max_s`` in frames: a segment of fewer frames may be a sound (0: none is)."""
    return int(math.ceil(config.sound_max_s / grid.hop_s - 1e-9))


def is_sound(n_frames: int, voiced_frames: int, config: TurnConfig, *, grid: Grid = GRID) -> bool:
    """A non-speech sound (a cough, a sniff, a breath, a nose blow, paper), not an utterance: a
    segment shorter than ``config.sound_max_s`` whose frames the pitch tracker calls voiced less
    than ``config.sound_max_voiced_share`` of the time. Speech is voiced: every syllable has a
    voiced nucleus (Ladefoged & Johnson 2011), and the listener tokens of backchannels ("mm",
    "mhm", "yeah", "okay": Ward & Tsukahara 2000) are voiced throughout; a cough, sniff, breath
    or nose blow is turbulent noise (a cough's voiced tail is brief: Korpas et al. 1996 on the
    cough's three phases). Whispered speech has no voicing either: a whispered stretch shorter
    than ``sound_max_s`` counts as a sound (docs/measures.md, "Non-speech sounds")."""
    return n_frames < sound_max_frames(config, grid=grid) and voiced_frames < config.sound_max_voiced_share * n_frames


@dataclass(frozen=True, slots=True)
class Update:
    """What one ``push``/``flush`` finalised (a frozen value: tuples)."""

    frames: tuple[FrameBlock, ...] = ()
    segments: tuple[Segment, ...] = ()
    nuclei: tuple[tuple[str, float], ...] = ()  # (speaker, time_s)
    turns: TurnOutput = TurnOutput()
    rolling: tuple = ()  # the window stage's summaries, oldest first (measures.RollingWindow)
    provisional: tuple[Provisional, ...] = ()  # per speaker, before the final decisions
    voice_quality: tuple[VoiceQualityChunk, ...] = ()  # per voiced run (voice_quality.py)
    sounds: tuple[Segment, ...] = ()  # non-speech sounds taken out of the segments (``is_sound``)


class WindowStage(Protocol):
    """A stage downstream of the pipeline that summarises final output over
    windows (``prosody.measures.RollingMeasures``); it is handed in by the
    caller, so the signal floors never import the measures above them."""

    def push(self, frames: list[FrameBlock], segments: list[Segment], turns: TurnOutput | None,
             nuclei: list[tuple[str, float]], *, decided_until_s: float, turn_taking: bool,
             final: bool, open_starts: dict[str, float] | None = None) -> list: ...


class _Channel:
    def __init__(self, speaker: str, config: AnalysisConfig, grid: Grid, cross_talk: bool = False,
                 noise_following: bool = False, hear_gain_db: float = 0.0, one_signal: bool = False):
        self.speaker = speaker
        self.framer = Framer(grid=grid)
        # a quiet channel's speech detection hears it raised (``VadConfig.hear_gain_db``); its levels stay its own
        vad = dataclasses.replace(config.vad, hear_gain_db=hear_gain_db) if hear_gain_db else config.vad
        self.raw_vad = RawVad(vad, grid=grid, noise_following=noise_following)
        # a room's tail is trimmed on the microphones' own channels (two, with a cross-talk stage; no added
        # latency there), not on diarized ones: there an end the diarizer's mask made is no VAD's end in a
        # tail (held's mono dialogues: ends 50-70 ms early already were cut 60-70 ms more; docs/speakers.md,
        # forty-eighth round). Diarized channels come with the tail cut already, found on the mix before
        # they were cut from it (speakers.room_tails; forty-ninth round)
        sm_vad = dataclasses.replace(config.vad, bleed_min_block_s=ONE_SIGNAL_BLOCK_S) if one_signal else config.vad
        self.smoother = SpeechSmoother(sm_vad, grid=grid, cross_talk=cross_talk, tail_trim=cross_talk,
                                       block_only=one_signal)
        self.pitch = PitchTracker(config.pitch_for(speaker), grid=grid)
        self.segments = SegmentTracker(speaker, grid=grid)
        self.nuclei = SyllableNuclei(config.rate, grid=grid)
        self.vq = VoiceQualityTracker(speaker, grid=grid)
        self.q = {k: [] for k in FRAME_COLUMNS}
        # clicks (VadConfig.click_attack_db > 0): the smoother's input waits ClickMarks.look frames for their marks
        self.clicks = ClickMarks(config.vad, grid=grid) if config.vad.click_attack_db > 0 else None
        self.wait_raw: list[np.ndarray] = []
        self.wait_blocked: list[np.ndarray] = []
        self.wait_level: list[np.ndarray] = []
        self.wait_retract: list[tuple[int, np.ndarray]] = []
        self.fed = 0  # frames given to the smoother
        self.peak_power = 0.0  # the loudest frame's mean square so far, unclipped (0: no signal at all)

    def queued(self, key: str) -> int:
        return sum(len(a) for a in self.q[key])

    def take(self, key: str, n: int) -> np.ndarray:
        arr = np.concatenate(self.q[key]) if self.q[key] else np.zeros(0)
        self.q[key] = [arr[n:]] if len(arr) > n else []
        return arr[:n]


# two voices cut from one signal: this long of the other voice alone since a voice's last speech ends that voice's
# stretch (``_other_voice_alone``). Over the diarizer's overlap errors: inside a planted overlap it gives the
# incoming voice 0.33-0.44 s alone where both speak (held's espeak failed interruptions and interruptions); a
# short answer's own stretch alone before the holder comes back lies 0.53-0.59 s (AMI; seventy-sixth round)
ONE_SIGNAL_BLOCK_S = 0.5


def _other_voice_alone(raw: list[np.ndarray]) -> list[np.ndarray]:
    """Two voices cut from one signal: per channel, the frames where the other voice's channel alone holds
    raw speech (the diarizer gave them to the other voice, this channel carries the fill there). Passed to the
    smoother as its cross-talk frames (``SpeechSmoother.push``'s ``blocked``): ``ONE_SIGNAL_BLOCK_S`` of them
    since this voice's last speech are the other person talking, not a pause in this voice's speech, and no
    merge under ``min_duration_off_s`` bridges them. Bridged, a listener's 0.5-0.6 s alone inside the
    holder's turn made the holder talk through the listener's answer (docs/speakers.md, seventy-sixth round)."""
    return [raw[1] & ~raw[0], raw[0] & ~raw[1]]


class Pipeline:
    """Streaming analysis of one or two speakers' channels.

    ``speakers``: names in channel order, e.g. ("therapist", "client").
    ``rolling``: an optional window stage fed with every final update; its
    summaries come out in ``Update.rolling`` (``prosody.session.new_pipeline``
    attaches the rolling measures). ``cross_talk=False``: the channels carry no
    cross-talk to reject (speaker channels cut from one signal by diarization,
    ``prosody.engine.speakers``). ``hear_gain_db``: per channel, a gain on what its speech detection hears
    (``VadConfig.hear_gain_db``; quiet recordings: ``prosody.speaker_channels.hearing_gains``), () for none.
    """

    def __init__(self, speakers: tuple[str, ...], config: AnalysisConfig | None = None, *, grid: Grid = GRID,
                 rolling: WindowStage | None = None, cross_talk: bool = True,
                 hear_gain_db: tuple[float, ...] = ()):
        if not 1 <= len(speakers) <= 2 or len(set(speakers)) != len(speakers):
            raise InputError(f"speakers={speakers!r}: give one or two distinct speaker names")
        self.config = (config or AnalysisConfig()).validate()
        self.grid = grid
        self.speakers = tuple(speakers)
        xt = len(speakers) == 2 and cross_talk and self.config.vad.bleed_min_own > 0.0  # a cross-talk stage
        gains = tuple(hear_gain_db) or (0.0,) * len(self.speakers)
        if len(gains) != len(self.speakers):
            raise InputError(f"hear_gain_db={hear_gain_db!r}: give one gain per speaker channel")
        one_signal = len(speakers) == 2 and not cross_talk
        self._ch = [_Channel(s, self.config, grid, cross_talk=xt, noise_following=len(self.speakers) == 1,
                             hear_gain_db=g, one_signal=one_signal) for s, g in zip(self.speakers, gains)]
        self._bleed = BleedDetector(self.config.vad, grid=grid) if len(speakers) == 2 and cross_talk else None
        # two voices cut from one signal (diarized shared / mono audio): a frame both voices' channels hold
        # as speech carries the one mixture, whose pitch is nobody's own (``_own_pitch``)
        self._one_signal = one_signal
        self._turns = (TurnTracker(self.speakers, self.config.turns,
                                   cues=CueStore(self.speakers, rate=self.config.rate, grid=grid,
                                                 one_signal=self._one_signal))
                       if len(speakers) == 2 else None)
        self._rolling = rolling
        # non-speech sounds leave the segments where turns are taken (two speakers): frames within
        # ``turns.sound_max_s`` of an open segment's start wait for its end before the turn tracker
        self._sound_frames = sound_max_frames(self.config.turns, grid=grid) if self._turns is not None else 0
        self._held: list[Segment] = []  # final speech segments not yet given to the turn tracker
        self._dc = DcBlocker(len(self.speakers), sample_rate=grid.sample_rate)  # before every level
        clicks = self._ch[0].clicks
        sm = self._ch[0].smoother.latency_frames + (clicks.look if clicks is not None else 0)
        self.latency_frames = max(sm, self._ch[0].pitch.latency_frames)
        self.n_frames = 0  # aligned frames emitted
        self.n_samples = 0

    @property
    def turn_taking(self) -> bool:
        return self._turns is not None

    @property
    def one_signal(self) -> bool:
        """Two voices cut from one signal (``cross_talk=False``): the frames both hold as speech carry the one
        mixture (no pitch of their own: ``_own_pitch``; no level of their own: ``measures.slice.own_level_speech``)."""
        return self._one_signal

    @property
    def peak_db(self) -> dict[str, float]:
        """Per speaker, the loudest frame so far in dBFS after DC removal, not clipped at the
        level floor; -inf when every sample was zero or one constant value (nothing left)."""
        return {ch.speaker: (10.0 * math.log10(ch.peak_power) if ch.peak_power > 0.0 else -math.inf)
                for ch in self._ch}

    def push(self, block: np.ndarray) -> Update:
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1 and len(self.speakers) == 1:
            block = block[:, None]
        if block.ndim != 2 or block.shape[1] != len(self.speakers):
            raise InputError(f"block shape {block.shape} does not match {len(self.speakers)} speaker channel(s)")
        if not np.isfinite(block).all():
            raise InputError("audio contains NaN or infinite samples")
        block = self._dc.push(block)
        self.n_samples += len(block)
        first = self._ch[0].framer.n_frames
        frames = [ch.framer.push(block[:, i]) for i, ch in enumerate(self._ch)]
        for i, ch in enumerate(self._ch):
            self._queue_pitch(ch, ch.pitch.push(block[:, i]))
            ch.vq.push_samples(block[:, i])
        speech, levels = self._frames_in(frames, final=False)
        up = self._emit(final=False)
        provisional = []
        for ch, sp, lv in zip(self._ch, speech, levels):
            f0 = ch.pitch.provisional()
            provisional.append(Provisional(ch.speaker, first, sp, lv, f0.start_frame, f0.f0_hz))
        return dataclasses.replace(up, provisional=tuple(provisional))

    def flush(self) -> Update:
        frames = [ch.framer.flush() for ch in self._ch]
        for ch in self._ch:
            self._queue_pitch(ch, ch.pitch.flush())
        self._frames_in(frames, final=True)
        return self._emit(final=True)

    # -- internals ---------------------------------------------------------
    @staticmethod
    def _queue_pitch(ch: _Channel, p) -> None:
        ch.q["f0_hz"].append(p.f0_hz)
        ch.q["voiced_prob"].append(p.voiced_prob)

    def _frames_in(self, frames: list[np.ndarray], *, final: bool):
        """Level, raw VAD, bleed and smoothing of newly cut frames; returns the
        raw speech decisions (bleed removed) and levels per channel."""
        powers = [frame_power(f) for f in frames]
        levels = [power_db(p) for p in powers]
        for ch, p in zip(self._ch, powers):
            if len(p):
                ch.peak_power = max(ch.peak_power, float(np.max(p)))
        detail = [ch.raw_vad.push_detail(f) for ch, f in zip(self._ch, frames)]
        raw = [d[0] for d in detail]
        bleed = self._bleed.push(frames, levels, raw) if self._bleed is not None else [None] * len(raw)
        speech = [r if b is None else r & ~b for r, b in zip(raw, bleed)]
        blocked = _other_voice_alone(raw) if self._one_signal else bleed
        retro = self._bleed.retro if self._bleed is not None else [()] * len(raw)
        # the raw VAD's own: open-gate frames of the first 0.1-0.5 s that a steady noise's floor refuses
        retro = [[*ch.raw_vad.take_retro(), *rt] for ch, rt in zip(self._ch, retro)]  # theirs first: frames < 0.5 s
        for ch, f, lv, sp, b, rt, d in zip(self._ch, frames, levels, speech, blocked, retro, detail):
            ch.q["rms_db"].append(lv)
            ch.q["hf500_db"].append(hf500_db(f, sample_rate=self.grid.sample_rate))
            ch.q["is_speech"].append(self._smooth(ch, sp, b, rt, d[1:], final=final))
            if final:
                ch.q["is_speech"].append(ch.smoother.flush())
        return speech, levels

    @staticmethod
    def _smooth(ch: _Channel, sp: np.ndarray, b: np.ndarray | None, rt, detail: tuple, *,
                final: bool) -> np.ndarray:
        """The smoother's final decisions for new raw frames ``sp``; with click marks, for the
        frames ``ClickMarks`` has judged (the last ``look`` frames wait), with their cross-talk
        frames and retractions."""
        if ch.clicks is None:
            return ch.smoother.push(sp, b, rt, level=detail[0])
        click = ch.clicks.push(sp, *detail, final=final)  # raw, levels, attacks, high-frequency shares
        ch.wait_raw.append(sp)
        ch.wait_level.append(detail[0])
        ch.wait_blocked.append(np.zeros(len(sp), bool) if b is None else b)
        ch.wait_retract += list(rt)
        raw, blocked = np.concatenate(ch.wait_raw), np.concatenate(ch.wait_blocked)
        n = len(click)
        end = ch.fed + n
        now = [(T, idx) for T, idx in ch.wait_retract if T <= end or final]
        ch.wait_retract = [(T, idx) for T, idx in ch.wait_retract if not (T <= end or final)]
        level = np.concatenate(ch.wait_level)
        out = ch.smoother.push(raw[:n], blocked[:n] if blocked[:n].any() else None, now, click, level=level[:n])
        ch.fed = end
        ch.wait_raw, ch.wait_blocked, ch.wait_level = [raw[n:]], [blocked[n:]], [level[n:]]
        return out

    def _emit(self, *, final: bool) -> Update:
        frames_out: list[FrameBlock] = []
        segments: list[Segment] = []
        sounds: list[Segment] = []
        nuclei: list[tuple[str, float]] = []
        vq_chunks: list = []
        turns = TurnOutput()
        opens: dict[str, float | None] = {}
        n = min(ch.queued(k) for ch in self._ch for k in ch.q)
        start = self.n_frames
        for ch in self._ch:
            fb = FrameBlock(speaker=ch.speaker, start_frame=start,
                            **{k: ch.take(k, n).astype(dtype) for k, dtype in FRAME_COLUMNS.items()})
            frames_out.append(fb)
            voiced = np.isfinite(fb.f0_hz)
            self._sort(ch.segments.push(fb.is_speech, voiced), ch.segments.voiced_frames, segments, sounds)
            nuc = ch.nuclei.push(fb.rms_db, voiced, fb.is_speech)
            if final:
                self._sort(ch.segments.flush(), ch.segments.voiced_frames, segments, sounds)
                nuc += ch.nuclei.flush()
            nuclei += [(ch.speaker, float(self.grid.frame_centre_s(k))) for k in nuc]
        own = self._own_pitch(frames_out)
        # voice quality on each voice's own voiced frames: of one signal's two voices, not the frames both hold
        # (the mixture's periods are nobody's; hostile sweep 22's leftovers, second part)
        for ch, fb in zip(self._ch, own):
            vq_chunks += ch.vq.push_frames(fb.is_speech, fb.f0_hz)
            if final:
                vq_chunks += ch.vq.flush()
        self.n_frames += n
        if self._turns is None:
            # one channel (no turn-taking): nothing is decided about a segment but by its frames, and no open
            # segment may end as a sound (``_sound_frames`` 0): a window reads an open one up to its own end,
            # as one decided early with turn-taking (it held every window back until the speaker paused)
            opens = {ch.speaker: self.grid.frames_to_s(ch.segments.open_start) for ch in self._ch
                     if ch.segments.open_start is not None and not final}
        else:
            self._held += segments
            if final:
                turns = self._turns.flush(self._held, frames=frames_out)
                self._held = []
            else:
                # an open segment that may still end as a sound is not known to be speech: the turn
                # tracker is told nothing from its start on (no segment, no open start) until it is
                # long enough or has closed, so that it decides as it would knowing the whole recording
                watermark = self.grid.frames_to_s(self.n_frames)
                for ch in self._ch:
                    o = ch.segments.open_start
                    if o is not None and self._sound_frames and self.n_frames - o < self._sound_frames:
                        watermark = min(watermark, self.grid.frames_to_s(o))
                opens = {ch.speaker: (None if ch.segments.open_start is None
                                      or self.grid.frames_to_s(ch.segments.open_start) >= watermark
                                      else self.grid.frames_to_s(ch.segments.open_start)) for ch in self._ch}
                now = [g for g in self._held if g.start_s < watermark]
                self._held = [g for g in self._held if g.start_s >= watermark]
                turns = self._turns.push(now, open_start_s=opens, watermark_s=watermark, frames=frames_out)
        segments.sort(key=lambda s: (s.start_s, s.speaker))
        sounds.sort(key=lambda s: (s.start_s, s.speaker))
        frames_out = own
        decided = self._turns.decided_until_s if self._turns is not None else self.grid.frames_to_s(self.n_frames)
        # a window also waits for the syllable nuclei of its frames (a peak is accepted at its dip, later)
        open_frames = [ch.nuclei.decided_until_frame for ch in self._ch]
        decided = min(decided, self.grid.frames_to_s(min(open_frames)))
        # the speech segments open now (known to be speech: long enough not to be a sound), by their start:
        # a window may end inside one (its turn items decided early, TurnTracker._early) and reads it up to
        # its end
        rolling = [] if self._rolling is None else self._rolling.push(
            frames_out, segments, turns if self._turns is not None else None, nuclei, decided_until_s=decided,
            turn_taking=self.turn_taking, final=final,
            open_starts={spk: o for spk, o in opens.items() if o is not None})
        return Update(frames=tuple(frames_out), segments=tuple(segments), nuclei=tuple(nuclei), turns=turns,
                      rolling=tuple(rolling), voice_quality=tuple(vq_chunks), sounds=tuple(sounds))

    def _own_pitch(self, frames: list[FrameBlock]) -> list[FrameBlock]:
        """The frames as stored and measured: of two voices cut from one signal (``cross_talk=False``),
        no pitch in a frame both voices' channels hold as speech. There each channel carries the one
        mixture (``speakers.Attribution.channels``) and the tracker follows whichever voice is the
        stronger: the holder's pitch in the listener's backchannel, the listener's in the holder's
        turn (a 178 Hz voice read 94-144 Hz in the fixture-like dialogue's overlaps), and a voice's
        pitch variation and range described the two voices (therapist 1.31 -> 3.01 semitones of
        variation on the mono mix of a dialogue whose separate channels give 1.31; hostile sweep 22).
        The turn tracker's cues (``overlap_cues``) and the syllable nuclei read the frames as tracked,
        before this: their rules were tuned on them. Voice quality reads these (its jitter, shimmer, HNR
        and CPPS of the mixture described neither voice: docs/store.md, hostile sweep 22's leftovers,
        second part)."""
        if not self._one_signal or len(frames) != 2 or not len(frames[0]):
            return frames
        both = frames[0].is_speech & frames[1].is_speech
        if not both.any():
            return frames
        return [dataclasses.replace(fb, f0_hz=np.where(both, np.float32(np.nan), fb.f0_hz).astype(np.float32))
                for fb in frames]

    def _sort(self, segs: list[Segment], voiced: list[int], speech: list[Segment], sounds: list[Segment]) -> None:
        """Closed segments into speech and, with turn-taking, non-speech sounds (``is_sound``)."""
        for seg, v in zip(segs, voiced):
            n = self.grid.s_to_frames(seg.end_s) - self.grid.s_to_frames(seg.start_s)
            (sounds if self._sound_frames and is_sound(n, v, self.config.turns, grid=self.grid)
             else speech).append(seg)
