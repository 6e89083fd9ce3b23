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

from ..config import AnalysisConfig
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
    """Final per-frame speech decisions -> closed segments + the open one's start."""

    def __init__(self, speaker: str, *, grid: Grid = GRID):
        self.speaker = speaker
        self.grid = grid
        self.reset()

    def reset(self) -> None:
        self._n = 0
        self.open_start: int | None = None  # frame index

    def push(self, is_speech: np.ndarray) -> list[Segment]:
        out = []
        x = np.concatenate([[self.open_start is not None], is_speech]).astype(np.int8)
        d = np.diff(x)
        for k in np.flatnonzero(d).tolist():
            if d[k] > 0:
                self.open_start = self._n + k
            else:
                out.append(self._segment(self.open_start, self._n + k))
                self.open_start = None
        self._n += len(is_speech)
        return out

    def flush(self) -> list[Segment]:
        if self.open_start is None:
            return []
        seg = self._segment(self.open_start, self._n)
        self.open_start = None
        return [seg]

    def _segment(self, a: int, b: int) -> Segment:
        return Segment(self.speaker, self.grid.frames_to_s(a), self.grid.frames_to_s(b))


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


class WindowStage(Protocol):
    """A stage downstream of the pipeline that summarises final output over
    windows (``prosody.measures.RollingMeasures``); it is handed in by the
    caller, so the signal floors never import the measures above them."""

    def push(self, frames: list[FrameBlock], segments: list[Segment], turns: TurnOutput | None,
             nuclei: list[tuple[str, float]], *, decided_until_s: float, turn_taking: bool,
             final: bool) -> list: ...


class _Channel:
    def __init__(self, speaker: str, config: AnalysisConfig, grid: Grid, cross_talk: bool = False,
                 noise_following: bool = False):
        self.speaker = speaker
        self.framer = Framer(grid=grid)
        self.raw_vad = RawVad(config.vad, grid=grid, noise_following=noise_following)
        self.smoother = SpeechSmoother(config.vad, grid=grid, cross_talk=cross_talk)
        self.pitch = PitchTracker(config.pitch_for(speaker), grid=grid)
        self.segments = SegmentTracker(speaker, grid=grid)
        self.nuclei = SyllableNuclei(config.rate, grid=grid)
        self.vq = VoiceQualityTracker(speaker, grid=grid)
        self.q = {k: [] for k in FRAME_COLUMNS}
        # clicks (VadConfig.click_attack_db > 0): the smoother's input waits ClickMarks.look frames for their marks
        self.clicks = ClickMarks(config.vad, grid=grid) if config.vad.click_attack_db > 0 else None
        self.wait_raw: list[np.ndarray] = []
        self.wait_blocked: list[np.ndarray] = []
        self.wait_retract: list[tuple[int, np.ndarray]] = []
        self.fed = 0  # frames given to the smoother
        self.peak_power = 0.0  # the loudest frame's mean square so far, unclipped (0: no signal at all)

    def queued(self, key: str) -> int:
        return sum(len(a) for a in self.q[key])

    def take(self, key: str, n: int) -> np.ndarray:
        arr = np.concatenate(self.q[key]) if self.q[key] else np.zeros(0)
        self.q[key] = [arr[n:]] if len(arr) > n else []
        return arr[:n]


class Pipeline:
    """Streaming analysis of one or two speakers' channels.

    ``speakers``: names in channel order, e.g. ("therapist", "client").
    ``rolling``: an optional window stage fed with every final update; its
    summaries come out in ``Update.rolling`` (``prosody.session.new_pipeline``
    attaches the rolling measures). ``cross_talk=False``: the channels carry no
    cross-talk to reject (speaker channels cut from one signal by diarization,
    ``prosody.engine.speakers``).
    """

    def __init__(self, speakers: tuple[str, ...], config: AnalysisConfig | None = None, *, grid: Grid = GRID,
                 rolling: WindowStage | None = None, cross_talk: bool = True):
        if not 1 <= len(speakers) <= 2 or len(set(speakers)) != len(speakers):
            raise InputError(f"speakers={speakers!r}: give one or two distinct speaker names")
        self.config = (config or AnalysisConfig()).validate()
        self.grid = grid
        self.speakers = tuple(speakers)
        xt = len(speakers) == 2 and cross_talk and self.config.vad.bleed_min_own > 0.0  # a cross-talk stage
        self._ch = [_Channel(s, self.config, grid, cross_talk=xt, noise_following=len(self.speakers) == 1)
                    for s in self.speakers]
        self._bleed = BleedDetector(self.config.vad, grid=grid) if len(speakers) == 2 and cross_talk else None
        self._turns = (TurnTracker(self.speakers, self.config.turns,
                                   cues=CueStore(self.speakers, rate=self.config.rate, grid=grid))
                       if len(speakers) == 2 else None)
        self._rolling = rolling
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
        retro = self._bleed.retro if self._bleed is not None else [()] * len(raw)
        # the raw VAD's own: open-gate frames of the first 0.1-0.5 s that a steady noise's floor refuses
        retro = [[*ch.raw_vad.take_retro(), *rt] for ch, rt in zip(self._ch, retro)]  # theirs first: frames < 0.5 s
        for ch, f, lv, sp, b, rt, d in zip(self._ch, frames, levels, speech, bleed, retro, detail):
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
            return ch.smoother.push(sp, b, rt)
        click = ch.clicks.push(sp, *detail, final=final)  # raw, levels, attacks, high-frequency shares
        ch.wait_raw.append(sp)
        ch.wait_blocked.append(np.zeros(len(sp), bool) if b is None else b)
        ch.wait_retract += list(rt)
        raw, blocked = np.concatenate(ch.wait_raw), np.concatenate(ch.wait_blocked)
        n = len(click)
        end = ch.fed + n
        now = [(T, idx) for T, idx in ch.wait_retract if T <= end or final]
        ch.wait_retract = [(T, idx) for T, idx in ch.wait_retract if not (T <= end or final)]
        out = ch.smoother.push(raw[:n], blocked[:n] if blocked[:n].any() else None, now, click)
        ch.fed = end
        ch.wait_raw, ch.wait_blocked = [raw[n:]], [blocked[n:]]
        return out

    def _emit(self, *, final: bool) -> Update:
        frames_out: list[FrameBlock] = []
        segments: list[Segment] = []
        nuclei: list[tuple[str, float]] = []
        vq_chunks: list = []
        turns = TurnOutput()
        n = min(ch.queued(k) for ch in self._ch for k in ch.q)
        start = self.n_frames
        for ch in self._ch:
            fb = FrameBlock(speaker=ch.speaker, start_frame=start,
                            **{k: ch.take(k, n).astype(dtype) for k, dtype in FRAME_COLUMNS.items()})
            frames_out.append(fb)
            segments += ch.segments.push(fb.is_speech)
            voiced = np.isfinite(fb.f0_hz)
            nuc = ch.nuclei.push(fb.rms_db, voiced, fb.is_speech)
            if final:
                segments += ch.segments.flush()
                nuc += ch.nuclei.flush()
            nuclei += [(ch.speaker, float(self.grid.frame_centre_s(k))) for k in nuc]
            vq_chunks += ch.vq.push_frames(fb.is_speech, fb.f0_hz)
            if final:
                vq_chunks += ch.vq.flush()
        self.n_frames += n
        if self._turns is not None:
            if final:
                turns = self._turns.flush(segments, frames=frames_out)
            else:
                opens = {ch.speaker: (None if ch.segments.open_start is None
                                      else self.grid.frames_to_s(ch.segments.open_start)) for ch in self._ch}
                turns = self._turns.push(segments, open_start_s=opens,
                                         watermark_s=self.grid.frames_to_s(self.n_frames), frames=frames_out)
        segments.sort(key=lambda s: (s.start_s, s.speaker))
        decided = self._turns.decided_until_s if self._turns is not None else self.grid.frames_to_s(self.n_frames)
        # a window also waits for the syllable nuclei of its frames (a peak is accepted at its dip, later)
        # and, without a turn tracker, for the segments open in it (a segment is emitted when it ends)
        open_frames = [ch.nuclei.decided_until_frame for ch in self._ch]
        if self._turns is None:
            open_frames += [ch.segments.open_start for ch in self._ch if ch.segments.open_start is not None]
        decided = min(decided, self.grid.frames_to_s(min(open_frames)))
        rolling = [] if self._rolling is None else self._rolling.push(
            frames_out, segments, turns if self._turns is not None else None, nuclei, decided_until_s=decided,
            turn_taking=self.turn_taking, final=final)
        return Update(frames=tuple(frames_out), segments=tuple(segments), nuclei=tuple(nuclei), turns=turns,
                      rolling=tuple(rolling), voice_quality=tuple(vq_chunks))
