"""Voice activity per channel: webrtcvad, a level gate over the channel's own
noise floor, cross-talk (bleed) rejection across channels, and smoothing with
minimum on/off durations and padding (names after pyannote.audio ``Binarize``).

Stages (each ``push`` -> per-frame arrays, ``flush``, ``reset``):

``RawVad``        frames -> raw speech bool per frame, causal (``push_detail``: with level, attack, HF share)
``BleedDetector`` both channels' frames + raw decisions -> bleed bool per frame, causal
``ClickMarks``    raw bool + ``push_detail``'s arrays -> click bool per frame, look-ahead ``look``
``SpeechSmoother`` raw bool (+ bleed, clicks) -> final bool, fixed latency ``latency_frames``
"""
from __future__ import annotations

import bisect
from collections.abc import Callable

import numpy as np
import webrtcvad

from ..config import VadConfig
from .crosstalk import CrossTalk, CrossTalkSettings, OnsetGuard
from .framing import rms_db
from .compiled import fast_len, sosfilt
from .iir import butter_highpass_sos
from ..timebase import GRID, Grid
from .. import quantile


# A frame quieter than this after the high-pass (dBFS) is never speech, whatever
# the noise floor: in digital silence the floor is -inf (``NoiseFloor``) and
# webrtcvad, given frames of zeros, can still say speech (0.1 s phantoms in
# long muted stretches). 16-bit audio's quietest non-zero frame is ~ -96 dBFS.
SPEECH_MIN_LEVEL_DB = -90.0
_DIGITAL_SILENCE_DB = -100.0  # NoiseFloor's default: levels under it are digital silence, not noise
_ZEROS_DB = -119.0            # rms_db clips exact zeros at -120 dBFS
_ATTACK_PER_FRAME = 5   # 2 ms blocks per 10 ms frame (attack_db)
_ATTACK_BLOCKS = 10     # blocks before each that it is compared with (20 ms)
_CLICK_HF_HZ = 1500.0   # hf_share: the power above this (push_detail)
_WARM_FIRST = 10        # NoiseFloor's warm-up: frames before its first steady-noise look
_WARM_EVERY = 10        # ... and between looks, until the first refresh
_WARM_STEADY_DB = 6.0   # ... levels so far within this: steady noise, a floor taken
_RETRO_STEADY_DB = 4.0  # ... within this: the speech the open gate passed before it is taken back
# a room's reverberant tail at a stretch's end (``room_tail``, ``SpeechSmoother`` given levels): the level
# falls on a line (dB per frame) within these rates (RT60 2 s .. 0.12 s), its frames within _TAIL_FIT_DB
# (rms) of the line, falling at least _TAIL_DROP_DB over the tail; the direct sound ends after the last
# frame _TAIL_KNEE_DB over the line fitted to the tail's later half (while one speaks, the direct path
# stands over the reverberant level; DRR 6 dB: 6-8 dB)
_TAIL_RATE_DB = (0.3, 5.0)
_TAIL_FIT_DB = 2.5
_TAIL_DROP_DB = 8.0
_TAIL_KNEE_DB = 3.0
_TAIL_MIN_FRAMES = 4
_TAIL_AFTER = 3
_TAIL_BELOW_DB = 6.0
# the session's own room: the last _TAIL_ENDS stretch ends (this one's too); a tail is trimmed once _TAIL_SEEN of them
# and _TAIL_SHARE of them end in a tail, and this one's rate lies within _TAIL_AGREE times their median rate
_TAIL_ENDS = 12
_TAIL_SEEN = 3
_TAIL_SHARE = 0.5
_TAIL_AGREE = 1.6
# ... and by no more frames than the room's rate takes to fall this far: what the VAD hears of a tail (the raw
# ends of espeak and AMI turns lay 9-18 dB of the room's fall after the direct sound's end at RT60 0.2-1.0 s)
_TAIL_HEARD_DB = 12.0
# ``mix_tails`` given the signal: a session whose tails found with no step carry a near-Gaussian prediction residual
# (``residual_kurtosis``: the median over their frames _KURT_OVER_DB or more over the mix's 10th percentile at most
# _KURT_MAX) is a room's, and every such tail is cut; else only tails with a step. Residual: order _KURT_ORDER over
# _KURT_WIN samples (30 ms)
_KURT_ORDER = 16
_KURT_WIN = 480
_KURT_MAX = 3.2
_KURT_OVER_DB = 10.0
# ... and under the voice's own (its _KURT_VOICE frames before each tail's knee) by _KURT_UNDER_VOICE or more (0.25
# before the sixty-fourth round: AMI trn06's voices in rooms of RT60 0.4-1.0 s read 3.1-3.2 before the knee, their
# tails 2.93-3.05, 0.09-0.24 apart in 9 of the 16 sessions where no room was found)
_KURT_VOICE = 15
_KURT_UNDER_VOICE = 0.15
# ... unless the tails' median fall is this slow (dB per frame) or slower (RT60 0.67 s and over: 60 dB over the
# RT60): then under _KURT_MAX alone (the sixty-ninth round: AMI trn06 s1's voice reads 3.12-3.18, its tails 3.03-3.05,
# 0.09-0.13 apart, in rooms of RT60 0.7-1.0 s, its tails falling 0.62-0.82 dB a frame; the dry AMI sessions' tails
# fall 3.3-4.3 dB a frame, espeak's own fades' residual reads over 5)
_KURT_SLOW_ROOM_DB = 0.9


# A quiet recording's speech detection hears it raised (``VadConfig.hear_gain_db``): where the loudest 1 % of a
# channel's 10 ms frames (high-passed as the detection hears them) lie under HEAR_QUIET_DB, the detection hears them
# at HEAR_TARGET_DB. webrtcvad hears int16 samples and models speech at ordinary levels, and the noise floor took
# frames under -100 dBFS for digital silence (the floor then came from speech, and the gate over it cut speech): the
# planted dialogue's speech at -69 dBFS (typical) lost 2 of the client's 15 s, at -74 dBFS most of both voices', and
# under -78 dBFS all of it (hostile sweep 22 and its leftovers, docs/store.md, benchmarks/quiet_speech.py).
# Ordinary speech (typical -20 to -60 dBFS: its loudest 1 % about 12 dB over that) stands over the bar, and its
# figures are bit for bit as before
HEAR_QUIET_DB = -50.0
HEAR_TARGET_DB = -20.0
# at most this (``VadConfig.hear_gain_db``'s bound): a channel whose loudest frames lie under -100 dBFS (a 220 Hz
# tone at 3e-4 of full scale, high-passed) asked for 85 dB, and the file was refused with "vad.hear_gain_db=85.0
# must be within 0..80 dB", a setting nobody gave (hostile sweep 23)
HEAR_MAX_DB = 80.0
_HEAR_MIN_FRAMES = 100  # frames above digital silence a channel needs before its level says anything


def hearing_gain_db(levels_db: np.ndarray) -> float:
    """The gain (dB, whole) that a channel's speech detection hears it with (``VadConfig.hear_gain_db``), from
    its 10 ms frames' levels high-passed as ``RawVad`` hears them: 0 where the loudest 1 % of its frames above
    digital silence reach ``HEAR_QUIET_DB`` (every ordinary recording) or where fewer than 100 frames are above
    it; else what raises them to ``HEAR_TARGET_DB``, at most ``HEAR_MAX_DB``."""
    lv = np.asarray(levels_db, np.float64)
    lv = lv[lv > _ZEROS_DB]
    if len(lv) < _HEAR_MIN_FRAMES:
        return 0.0
    top = float(np.percentile(lv, 99))
    return float(min(round(HEAR_TARGET_DB - top), HEAR_MAX_DB)) if top < HEAR_QUIET_DB else 0.0


def _leading_silence(level_db: np.ndarray, silence_db: float) -> int:
    """How many of the first levels (dBFS) lie at or under ``silence_db`` (digital silence)."""
    over = np.flatnonzero(level_db > silence_db)
    return int(over[0]) if len(over) else len(level_db)


class NoiseFloor:
    """Running noise floor of one channel: the ``percentile`` of frame levels
    (dBFS) over the last ``window_s``, refreshed every ``update_every`` frames
    at fixed frame indices (so any block split gives the same answer).
    Digital silence (below ``digital_silence_db``: padding, muted stretches)
    is not noise and is left out. Before the first refresh, or while only
    digital silence was seen, the floor is -inf (gate open). With ``warm_up``, a
    lead-in of digital silence does not count: the warm-up below starts at the
    first frame above it (``warm_end``; a live capture's 1.4 s of zeros before
    the playback had used the warm-up up, and the room noise after them passed
    the open gate as 0.5 s of speech: ds92).

    ``warm_up`` (the speech gate's floor; not for a high percentile): the first
    ``window_s`` know fewer frames, and a recording may start mid-word, so:

    - the percentile is scaled by the share of the window heard so far (at the
      first refresh, 0.5 s of 8 s: about the quietest frame). A low percentile
      of half a second of continuous speech stood within 9 dB of its loud
      frames and cut the first words;
    - before the first refresh, at frame ``_WARM_FIRST`` and every
      ``_WARM_EVERY`` after, the levels so far are looked at afresh: within
      ``_WARM_STEADY_DB`` (a steady noise; speech swings more within a
      syllable or two) they give the floor, else the gate is open again (a
      held vowel taken for noise costs a tenth of a second). Loud hiss at the
      start of a recording otherwise passed the open gate for its first 0.5 s;
    - where every look found a steady noise, the first refresh's frame goes to
      ``steady_looks`` (``RawVad``: the open gate's frames were that noise,
      not speech whose quiet ends the lowered gate is to keep).

    ``benchmarks/vad_start.py``: noise from t = 0 read as 39 s of final speech
    in 90 one-speaker recordings (42 with more than 0.1 s), now 12.8 s (10:
    brown and fan noise whose levels swing; 15.5 s without ``RawVad.take_retro``);
    a recording cut mid-sentence kept 87.4 % of the speech frames of its first
    second, now 89.7 % (in silence 89.0 -> 91.8 %, in pink noise 10 dB under
    the speech 88.4 -> 89.3 %; webrtcvad alone, no gate, keeps 92.2 %)."""

    def __init__(self, *, window_s: float, percentile: float, grid: Grid = GRID, update_every: int = 50,
                 digital_silence_db: float = _DIGITAL_SILENCE_DB, warm_up: bool = False,
                 scale_percentile: bool = True):
        self.warm_up = warm_up
        self.scale_percentile = warm_up and scale_percentile
        self.window = max(1, grid.s_to_frames(window_s))
        self.percentile = percentile
        self.update_every = update_every
        self.digital_silence_db = digital_silence_db
        self.reset()

    def reset(self) -> None:
        self._hist = np.zeros(0, dtype=np.float32)  # last `window` frame levels
        self._n = 0
        self._floor = -np.inf
        self._lead = 0  # warm_up: the frames of digital silence before the first frame above it
        self.steady_looks: list[int] = []  # the first refresh's frame, where the warm-up heard only steady noise
        self.steady_floors: list[tuple[int, float]] = []  # (frame, floor) of each look that found a steady noise
        self._all_steady = True

    @property
    def frames_seen(self) -> int:
        """Frames pushed so far: the index of the next pushed frame."""
        return self._n

    @property
    def warm_end(self) -> int:
        """The frame of the first refresh: ``update_every`` frames after the lead-in of digital silence (``warm_up``:
        a capture's zeros before the playback start no warm-up; as far as known so far)."""
        return self._lead + self.update_every

    def push(self, level_db: np.ndarray) -> np.ndarray:
        """Floor (dBFS) that applies to each frame, shape like ``level_db``."""
        out = np.empty(len(level_db), dtype=np.float32)
        pos = 0
        while pos < len(level_db):
            if self.warm_up and self._n == self._lead:  # only digital silence so far: the warm-up waits for sound
                k = _leading_silence(level_db[pos:], self.digital_silence_db)
                out[pos:pos + k] = self._floor
                self._n += k
                self._lead += k
                pos += k
                if pos == len(level_db):
                    break
            # frames up to the next refresh point use the current floor (the warm-up's counted from the lead-in's end)
            m = self._n - self._lead
            next_update = self._lead + (m // self.update_every + 1) * self.update_every
            early = self.warm_up and m < self.update_every
            if early:  # the steady-noise looks before the first refresh
                next_update = min(next_update, self._lead + max(_WARM_FIRST, (m // _WARM_EVERY + 1) * _WARM_EVERY))
            take = min(len(level_db) - pos, next_update - self._n)
            out[pos:pos + take] = self._floor
            self._hist = np.concatenate([self._hist, level_db[pos:pos + take]])[-self.window:]
            self._n += take
            pos += take
            if self._n != next_update:
                continue
            live = self._hist[self._hist > self.digital_silence_db]
            if early and self._n < self.warm_end:
                spread = float(live.max() - live.min()) if len(live) >= _WARM_FIRST else np.inf
                steady = spread < _WARM_STEADY_DB
                self._floor = float(quantile.percentile(live, self.percentile)) if steady else -np.inf
                self._all_steady &= steady
                if spread < _RETRO_STEADY_DB:
                    self.steady_floors.append((self._n, self._floor))
                continue
            if self.warm_up and self._n == self.warm_end and self._all_steady:
                self.steady_looks.append(self._n)  # the first refresh: every look before it found a steady noise
            pc = self.percentile * min(1.0, len(self._hist) / self.window) if self.scale_percentile else \
                self.percentile
            self._floor = float(quantile.percentile(live, pc)) if len(live) else -np.inf
        return out


class RawVad:
    """webrtcvad decision AND level gate, per 10 ms frame of one channel.

    Both listen to the channel high-passed at ``highpass_hz`` (4th-order
    Butterworth, causal, state carried across blocks): low-frequency rumble,
    breath and handling thumps in headset microphones otherwise pass as speech.

    ``noise_following`` (a one-speaker channel: ``Pipeline`` with one speaker): the gate,
    ``gate_db`` over the floor, comes down where the channel's loud frames stand little above
    its floor, as in room noise: to their level (the ``range_percentile`` over ``range_window_s``)
    less the floor less ``gate_range_margin_db``, never below ``gate_low_db``, and only within
    ``gate_hold_s`` after a frame over the full gate (a steady chord or music bed, which webrtcvad
    takes for speech and whose frames beat a few dB over its own floor, passed a lower gate
    alone nearly everywhere: 167 s of a 169 s recording with 17 s of speech). A clean channel's
    speech stands 30-50 dB over its floor and keeps ``gate_db``; at 15 dB SNR the 9 dB gate
    passed half of real speech's frames (docs/speakers.md, twentieth round). Not where the
    other voice can leak in or where a diarized channel's pauses were given to a voice: a lower
    gate lets leak through and finds speech that nobody's frames attribute well.

    The speech gate's floor has the noise floor's warm-up (``NoiseFloor``): a floor from a
    steady noise in the first 0.5 s and, with ``scale_floor``, a percentile scaled by the share
    of the floor's window heard (``diarize.speech_mask``: the warm-up without the scaled
    percentile). The speech frames
    that the open gate passed before a look found a steady noise, and that its floor's gate
    refuses, are taken back: ``take_retro`` (the pipeline hands them to the smoother, which
    drops them from its open stretch; without that, 0.1 s of loud hiss at t = 0 stayed speech
    and merged with a first word 0.1-0.3 s later). Only where the levels so far lie within
    ``_RETRO_STEADY_DB`` (4 dB, stricter than the floor's 6: the first 0.1 s of speech in
    pink noise 15 dB under it lay within 6 dB, and taking it back lost speech).
    """

    def __init__(self, config: VadConfig = VadConfig(), *, grid: Grid = GRID, noise_following: bool = False,
                 scale_floor: bool = True):
        self.config = config
        self.grid = grid
        # the absolute bars (digital silence, SPEECH_MIN_LEVEL_DB) on the level heard (``VadConfig.hear_gain_db``),
        # never under rms_db's floor of exact zeros (-120 dBFS)
        silence_db = max(_DIGITAL_SILENCE_DB - config.hear_gain_db, _ZEROS_DB)
        self._min_level_db = max(SPEECH_MIN_LEVEL_DB - config.hear_gain_db, _ZEROS_DB)
        self.floor = NoiseFloor(window_s=config.floor_window_s, percentile=config.floor_percentile, grid=grid,
                                warm_up=True, scale_percentile=scale_floor, digital_silence_db=silence_db)
        self.top = NoiseFloor(window_s=config.range_window_s, percentile=config.range_percentile, grid=grid,
                              digital_silence_db=silence_db) \
            if noise_following and config.gate_low_db < config.gate_db else None
        self._gate_low = min(config.gate_low_db, config.gate_db)
        self._hold = grid.s_to_frames(config.gate_hold_s)
        self._sos = butter_highpass_sos(4, config.highpass_hz, sample_rate=grid.sample_rate)
        self._hann = np.hanning(grid.hop_length)
        self._hf_bins = np.fft.rfftfreq(grid.hop_length, 1.0 / grid.sample_rate) >= _CLICK_HF_HZ
        self.reset()

    def reset(self) -> None:
        self._vad = webrtcvad.Vad(self.config.aggressiveness)
        self.floor.reset()
        if self.top is not None:
            self.top.reset()
        self._since_strict = 10**9  # from the next frame back to the last one over the full gate
        self._zi = np.zeros((self._sos.shape[0], 2))
        self._blocks = np.zeros(0)  # the last _ATTACK_BLOCKS block powers (attack_db's look back)
        self._open: list[tuple[int, float]] = []  # (frame, level) of speech frames passed with no floor known
        self.retro: list[tuple[int, np.ndarray]] = []  # (T, frames): taken back at frame T (take_retro)

    def push(self, frames: np.ndarray) -> np.ndarray:
        """``frames``: (n, hop_length) float samples. Returns (n,) bool (``push_detail``'s first
        array, without computing the click features)."""
        return self._push(frames, detail=False)[0]

    def push_detail(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``push``'s (n,) bool decisions, with the high-passed frames' levels (dBFS), their
        ``attack_db`` (the largest rise of a 2 ms block's power over the mean of the 20 ms before
        it: a click's transient rises 20-40 dB within a block, speech's rarely 10 dB) and, where
        that reaches ``click_attack_db`` or the frame passes the level gate, the share of the
        frame's power above 1.5 kHz (a keystroke's, mostly its resonances; a vowel's is under
        0.2), else 0."""
        return self._push(frames, detail=True)

    def _push(self, frames: np.ndarray, *, detail: bool):
        if len(frames) == 0:
            z = np.zeros(0, np.float32)
            return np.zeros(0, dtype=bool), z, z, z
        y, self._zi = sosfilt(self._sos, frames.reshape(-1), self._zi)
        frames = y.reshape(frames.shape)
        level_db = rms_db(frames)
        if detail:
            attack_db = self._attack_db(frames)
        else:  # only the look back that a later push_detail reads: the last frames' block powers
            k = -(-_ATTACK_BLOCKS // _ATTACK_PER_FRAME)
            self._attack_db(frames[-k:])
            attack_db = None
        n0 = self.floor.frames_seen  # this push's first frame
        self.floor.steady_looks.clear()
        self.floor.steady_floors.clear()
        floor_db = self.floor.push(level_db)
        gate = level_db > floor_db + self.config.gate_db
        if self.top is not None:
            top_db = self.top.push(level_db)
            with np.errstate(invalid="ignore"):
                low_db = np.clip(top_db - floor_db - self.config.gate_range_margin_db, self._gate_low,
                                 self.config.gate_db)
            # not before both levels are known (the floor's warm-up can come before the range's first refresh)
            low_db = np.where(np.isfinite(top_db) & np.isfinite(floor_db), low_db, self.config.gate_db)
            # the lower gate holds only within gate_hold_s after a frame over the full gate: it keeps the
            # quiet ends of words that were heard, not a steady background that webrtcvad takes for
            # speech (a music bed, a chord: its frames beat a few dB over its own floor)
            k = np.arange(len(level_db))
            # the last full-gate frame (an open gate's too: a recording that starts mid-sentence in noise
            # keeps its quiet frames) ...
            last = np.maximum.accumulate(np.where(gate, k, -self._since_strict))
            # ... unless the floor's warm-up heard only a steady noise: the open gate's frames were that noise
            for j in (r - n0 for r in self.floor.steady_looks):
                if 0 <= j < len(k):
                    last[j:] = np.maximum.accumulate(np.where(gate[j:] & np.isfinite(floor_db[j:]), k[j:], -10**9))
            self._since_strict = int(len(k) - last[-1])
            if n0 + len(k) in self.floor.steady_looks:
                self._since_strict = 10**9
            gate |= (level_db > floor_db + low_db) & (k - last <= self._hold)
        # digital silence and the high-pass tail: never speech (on the level heard: ``VadConfig.hear_gain_db``)
        gate &= level_db > self._min_level_db
        hf_share = np.zeros(len(frames), np.float32) if detail else None
        if detail and self.config.click_attack_db > 0:
            at = np.flatnonzero(gate | (attack_db >= self.config.click_attack_db))
            if len(at):
                p = np.abs(np.fft.rfft(frames[at] * self._hann, axis=1)) ** 2
                hf_share[at] = p[:, self._hf_bins].sum(axis=1) / np.maximum(p.sum(axis=1), 1e-20)
        # webrtcvad hears int16 samples: speech of a few steps is missed (``VadConfig.hear_gain_db`` raises it)
        heard_frames = frames * 10.0 ** (self.config.hear_gain_db / 20.0) if self.config.hear_gain_db else frames
        pcm = (np.clip(heard_frames, -1.0, 1.0) * 32767.0).astype("<i2")
        out = np.zeros(len(frames), dtype=bool)
        is_speech = self._vad.is_speech
        rate = self.grid.sample_rate
        # one bytes object, sliced per frame (cheaper than a row's tobytes per frame)
        raw, nb = pcm.tobytes(), pcm.shape[1] * 2
        heard = gate
        warming = n0 < self.floor.warm_end  # this push reaches into the floor's warm-up
        # webrtcvad adapts to what it hears: it hears the first 0.5 s as before the warm-up
        if warming:
            heard = gate | ((np.arange(n0, n0 + len(frames)) < self.floor.warm_end)
                            & (level_db > self._min_level_db))
        idx = np.flatnonzero(heard).tolist()
        out[idx] = [is_speech(raw[i * nb:(i + 1) * nb], rate) for i in idx]
        out &= gate
        if warming:
            self._take_back_open(out, level_db, floor_db, n0)
        return out, level_db, attack_db, hf_share

    def _take_back_open(self, out: np.ndarray, level_db: np.ndarray, floor_db: np.ndarray, n0: int) -> None:
        """The warm-up's open gate: speech frames decided with no floor known wait in ``_open``;
        a look that finds a steady noise takes back those of them that its floor's gate
        refuses (``retro``: (frame T of the look, their frame indices); the pipeline's smoother
        drops them from the stretch, none of whose frames is final yet)."""
        opened = np.flatnonzero(out & np.isneginf(floor_db))
        self._open += [(n0 + int(i), float(level_db[i])) for i in opened]
        for T, fl in self.floor.steady_floors:
            gone = [i for i, lv in self._open if i < T and not lv > fl + self.config.gate_db]
            if gone:
                self.retro.append((T, np.asarray(gone, dtype=np.int64)))
            self._open = [(i, lv) for i, lv in self._open if i >= T]
        if n0 + len(out) >= self.floor.warm_end:
            self._open = []  # the first refresh: what the open gate passed since its last look stands

    def take_retro(self) -> list[tuple[int, np.ndarray]]:
        """The retractions found since the last call (``_take_back_open``), oldest first."""
        r, self.retro = self.retro, []
        return r

    def _attack_db(self, frames: np.ndarray) -> np.ndarray:
        n, hop = frames.shape
        per = max(1, hop // _ATTACK_PER_FRAME)
        p = np.mean(np.square(frames[:, : per * _ATTACK_PER_FRAME], dtype=np.float64).reshape(-1, per), axis=1)
        p = p + 1e-13
        hist = np.concatenate([self._blocks, p])
        c = np.concatenate([[0.0], np.cumsum(hist)])
        j = np.arange(len(self._blocks), len(hist))
        lo = np.maximum(j - _ATTACK_BLOCKS, 0)
        before = (c[j] - c[lo]) / np.maximum(j - lo, 1)
        ratio = np.where(j - lo >= _ATTACK_BLOCKS, hist[j] / np.maximum(before, 1e-13), 1.0)
        self._blocks = hist[-_ATTACK_BLOCKS:]
        return (10 * np.log10(ratio.reshape(n, _ATTACK_PER_FRAME).max(axis=1))).astype(np.float32)


class StartupBleed:
    """Cross-talk before the session has taught the leak path (``BleedDetector``'s
    first seconds): a raw-active frame of channel A is bleed when A's level is
    at least ``level_diff_db`` below B's loudest frame of the last
    ``bleed_max_lag_s`` and A's waveform over the last ``window_s`` correlates
    with B's (normalised cross-correlation, A lagging B by 0..``bleed_max_lag_s``)
    at least ``min_corr`` at the same delay (within 1 ms) in two evaluations in
    a row (or at the delay of bleed already confirmed earlier): a leakage path
    has a steady delay, chance correlations between two voices do not. The
    correlation is evaluated every ``stride`` frames and reused in between; it
    is causal (window ends at the current frame).
    """

    def __init__(self, config: VadConfig = VadConfig(), *, grid: Grid = GRID, window_s: float = 0.096,
                 stride: int = 2, level_diff_db: float = 10.0, min_corr: float = 0.7):
        self.config = config
        self.level_diff_db = level_diff_db
        self.min_corr = min_corr
        self.grid = grid
        self.window = int(round(window_s * grid.sample_rate))
        self.max_lag = int(round(config.bleed_max_lag_s * grid.sample_rate))
        self.stride = stride
        self.lag_tolerance = int(round(0.001 * grid.sample_rate))
        n = self.window + self.max_lag
        self.nfft = fast_len(n + self.window)
        self.reset()

    def reset(self) -> None:
        keep = self.window + self.max_lag
        self._buf = [np.zeros(keep, dtype=np.float32), np.zeros(keep, dtype=np.float32)]
        self._n = 0
        self._last_bleed = [False, False]  # last evaluated decision per direction
        self._last_lag = [-10**9, -10**9]
        self._path_lag = [-10**9, -10**9]
        self._last_eval = [-10**9, -10**9]
        lag_frames = int(np.ceil(self.max_lag / self.grid.hop_length))
        self._lv_hist = [np.full(lag_frames, -120.0, dtype=np.float32), np.full(lag_frames, -120.0, dtype=np.float32)]

    def _corr(self, a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
        """Max normalised correlation of the last ``window`` samples of ``a``
        with ``b`` delayed by 0..max_lag samples, and the delay (samples)."""
        w, L = self.window, self.max_lag
        aw = a[-w:].astype(np.float64)
        ea = float(aw @ aw)
        if ea <= 0.0:
            return 0.0, -1
        fa = np.fft.rfft(aw, self.nfft)
        fb = np.fft.rfft(b.astype(np.float64), self.nfft)
        # xc[k] = sum_t aw[t] * b[t + k]; b index offset: aw[t] aligns with b[L + t] at lag 0
        xc = np.fft.irfft(np.conj(fa) * fb, self.nfft)[: L + 1]
        # energy of each b window b[k : k + w]
        cs = np.concatenate([[0.0], np.cumsum(b.astype(np.float64) ** 2)])
        eb = cs[w:w + L + 1] - cs[:L + 1]
        ncc = np.abs(xc) / np.sqrt(ea * np.maximum(eb, 1e-20))
        k = int(np.argmax(ncc))
        return float(ncc[k]), L - k  # b[k:k+w] aligns with a's window: a lags b by L - k

    def push(self, frames: list[np.ndarray], level_db: list[np.ndarray], active: list[np.ndarray]) -> list[np.ndarray]:
        """``frames``: two (n, hop) arrays; ``level_db``/``active``: two (n,) arrays.
        Returns two (n,) bool arrays marking bleed frames."""
        hop = self.grid.hop_length
        n = len(active[0])
        out = [np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)]
        # compare with the other channel's loudest level over the last max_lag
        # (bleed arrives late, so its tail outlasts the source by the delay)
        lag_frames = int(np.ceil(self.max_lag / hop))
        peak = []
        for c in (0, 1):
            hist = np.concatenate([self._lv_hist[c], level_db[c]])
            win = np.lib.stride_tricks.sliding_window_view(hist, lag_frames + 1)[-n:] if n else np.zeros((0, 1))
            peak.append(win.max(axis=1) if n else np.zeros(0))
            self._lv_hist[c] = hist[-lag_frames:]
        diff = self.level_diff_db
        cand = [active[0] & (level_db[0] <= peak[1] - diff), active[1] & (level_db[1] <= peak[0] - diff)]
        keep = self.window + self.max_lag
        # history + this block, joined once; the buffer holds exactly `keep` samples
        joined = [np.concatenate([self._buf[c], f.reshape(-1)]) for c, f in enumerate(frames)]
        for i in np.flatnonzero(cand[0] | cand[1]):
            end = keep + (i + 1) * hop
            seg = [joined[c][end - keep:end] for c in (0, 1)]  # the last `keep` samples ending at this frame
            frame_idx = self._n + i
            for a in (0, 1):
                if not cand[a][i]:
                    continue
                if frame_idx - self._last_eval[a] >= self.stride:
                    b = 1 - a
                    # a lags b: a's last w samples vs b's window ending max_lag earlier .. now
                    corr, lag = self._corr(seg[a], seg[b])
                    # a leakage path has a fixed delay: two evaluations in a row must agree
                    steady = min(abs(lag - self._last_lag[a]), abs(lag - self._path_lag[a])) <= self.lag_tolerance
                    if corr >= self.min_corr and steady:
                        self._path_lag[a] = lag  # remembered: the path stays the same across the session
                    self._last_bleed[a] = corr >= self.min_corr and steady
                    self._last_lag[a] = lag if corr >= self.min_corr else -10**9
                    self._last_eval[a] = frame_idx
                out[a][i] = self._last_bleed[a]
        for c in (0, 1):
            self._buf[c] = joined[c][-keep:]
        self._n += n
        return out


class BleedDetector:
    """Cross-talk between two separate channels (the other voice leaking in
    through a loudspeaker, the room or a second microphone), at any gain.

    A raw-active frame of channel A is bleed when too little of its power
    (below ``bleed_min_own``) lies more than ``bleed_margin_db`` above the leak
    of B predicted from B's spectrum through the leak path learnt from the
    session (per-bin gain, delay 0..``bleed_max_lag_s``, reverberant tail);
    see ``prosody.crosstalk.CrossTalk`` for the method and its sources. Does
    not depend on absolute levels; double talk keeps both channels. Until a
    direction's path is learnt, ``StartupBleed`` (a much quieter channel whose
    waveform correlates with the other's) and ``OnsetGuard`` (a quieter burst
    starting just after the other's onset) guard it, unless the source has
    been heard for 3 s with no leak following it (``CrossTalk.absent``). Causal,
    ``latency_s`` = 0; chunked input gives exactly what whole input gives.
    """

    latency_s = 0.0

    def __init__(self, config: VadConfig = VadConfig(), *, grid: Grid = GRID):
        self.config = config
        self.grid = grid
        self._xt = CrossTalk(CrossTalkSettings(max_delay_s=config.bleed_max_lag_s, margin_db=config.bleed_margin_db,
                                               min_own=config.bleed_min_own), grid=grid)
        self._startup = StartupBleed(config, grid=grid)
        self._onset = OnsetGuard(max_lag=self._xt.max_delay)

    def reset(self) -> None:
        self._xt.reset()
        self._startup.reset()
        self._onset.reset()

    @property
    def retro(self) -> list[list[tuple[int, np.ndarray]]]:
        """Per channel, from the last push: frames passed as speech that a path
        learnt since shows to be leak (``CrossTalk.retro``; for ``SpeechSmoother.push``)."""
        return self._xt.retro if self.config.bleed_min_own > 0.0 else [[], []]

    def push(self, frames: list[np.ndarray], level_db: list[np.ndarray], active: list[np.ndarray]) -> list[np.ndarray]:
        """``frames``: two (n, hop) arrays; ``level_db``/``active``: two (n,) arrays
        (levels are not used: the decision is level-independent).
        Returns two (n,) bool arrays marking bleed frames."""
        if self.config.bleed_min_own <= 0.0:
            return [np.zeros(len(a), dtype=bool) for a in active]
        out = self._xt.push(frames, active)
        # until a path is learnt (or found absent), the old rule (much quieter + waveform-correlated) guards it
        first = self._startup.push(frames, level_db, [a & ~k for a, k in zip(active, self._xt.learnt)])
        onset = self._onset.push(active, level_db, [~k for k in self._xt.learnt])
        return [o | f | g for o, f, g in zip(out, first, onset)]


def _line_db(level_db: np.ndarray) -> tuple[float, float, float]:
    """The least-squares line through ``level_db`` (dB per frame, frames 0..n-1): (slope in dB per frame, level at
    frame 0 in dB, the levels' rms distance from it in dB)."""
    y = np.asarray(level_db, np.float64)
    t = np.arange(len(y), dtype=np.float64)
    a, b = np.polyfit(t, y, 1)
    return float(a), float(b), float(np.sqrt(np.mean((y - (a * t + b)) ** 2)))


def room_tail(level_db: np.ndarray, after_db: np.ndarray, *, step_db: float | None = None,
              slack: int = 0) -> tuple[int, float] | None:
    r"""A room's reverberant tail at the end of ``level_db`` (one stretch's last frames, dB; the
    levels of the frames after it: ``after_db``, one or more): (the index where the direct sound
    ended, the tail's fall in dB per frame), or None.

    The longest suffix whose levels lie on a falling line (``_TAIL_RATE_DB``, within
    ``_TAIL_FIT_DB`` rms) and fall ``_TAIL_DROP_DB`` or more; a line fitted to its later half,
    which the first ``_TAIL_AFTER`` frames after the end go on following (their median within
    ``_TAIL_BELOW_DB`` under it: a tail fades on under the VAD's hearing, where a voice's own
    falling end in a dry room stops at once, 20-30 dB down in one frame); the direct sound ends
    after the last frame of the suffix ``_TAIL_KNEE_DB`` over that line. With ``step_db``, that
    frame (or, where none of the suffix stands over the line, the frame before the suffix) must
    stand ``step_db`` or more over the line, else None: the direct sound that stops stands over
    the reverberant level just before the tail (a step), where a voice's own slow fade into a
    line has none (``mix_tails``). With ``slack``, the search for the longest suffix passes over that
    many suffixes off the line in a row (a frame's level off it) before it stops::

        level  ~~~~~~~~\__                     (speech, then the step where the direct path stops)
                         ``--..__              (the tail: a straight fall, 60 dB per RT60)
        end              ^ here, not where the VAD stops hearing the tail
    """
    n = len(level_db)
    best = None
    off = 0  # suffixes off the line in a row since the longest on it
    t_all = np.arange(n, dtype=np.float64)
    for k in range(n - _TAIL_MIN_FRAMES, -1, -1):
        a, _, res = _line_db(level_db[k:])
        if res > _TAIL_FIT_DB:
            off += best is not None
            if off > slack:
                break
            continue
        off = 0
        if _TAIL_RATE_DB[0] <= -a <= _TAIL_RATE_DB[1]:
            best = (k, float(-a))
    if best is None or best[1] * (n - best[0]) < _TAIL_DROP_DB:
        return None
    k = best[0]
    # the later half, of _TAIL_MIN_FRAMES + 1 frames at least; never more than the window holds (a vad.tail_trim_max_s
    # of 0.04 s gave 4 frames: the slice wrapped round to one frame, numpy's RankWarning on stderr, an end
    # before the window)
    m = min(n, max(_TAIL_MIN_FRAMES + 1, (n - k) // 2))
    a, b = np.polyfit(t_all[n - m:], level_db[n - m:], 1)
    after = np.asarray(after_db[:_TAIL_AFTER], np.float64)
    if not len(after) or np.median(after - (a * np.arange(n, n + len(after)) + b)) < -_TAIL_BELOW_DB:
        return None
    j = n - m - 1
    while j >= k and level_db[j] <= a * j + b + _TAIL_KNEE_DB:
        j -= 1
    if step_db is not None and (j < 0 or level_db[j] < a * j + b + step_db):
        return None
    return j + 1, float(-a)


def residual_kurtosis(x: np.ndarray, frames, *, hop: int = GRID.hop_length, order: int = _KURT_ORDER,
                      win: int = _KURT_WIN) -> np.ndarray:
    """Kurtosis (E[e^4] / E[e^2]^2; 3 for Gaussian noise) of the linear-prediction residual of ``x`` in a ``win``-sample
    window centred on each 10 ms frame of ``frames`` (order ``order``, autocorrelation method): nan where the window
    runs off the signal or is silent.

    A voice's direct sound is excited afresh every pitch period: its residual is peaky (kurtosis over 3). A room's
    tail after the direct sound stopped is the sum of many delayed, differently weighted copies of what was said:
    its residual is near Gaussian (kurtosis near 3). The measure dereverberation maximises (Gillespie, Malvar and
    Florencio 2001; Yegnanarayana and Murthy 2000)."""
    out = np.full(len(frames), np.nan)
    w = np.hanning(win)
    for i, t in enumerate(frames):
        a = t * hop + hop // 2 - win // 2
        if a - order < 0 or a + win > len(x):
            continue
        # each window read where it lies: ``x`` may be a mix read piece by piece (a ``ChannelMean`` or ``Pcm16``);
        # the whole of it made float64 at once was 0.9 GB beside a 2-hour mono file (hostile sweep 21)
        seg = np.asarray(x[a - order:a + win], np.float64)
        y = seg[order:] * w
        r = np.correlate(y, y, "full")[win - 1:win + order]
        if r[0] <= 0.0:
            continue
        r[0] *= 1.0001  # white-noise correction: a well-posed system on a pure tone
        toe = r[np.abs(np.arange(order)[:, None] - np.arange(order)[None, :])]
        c = np.linalg.solve(toe, r[1:order + 1])
        e = np.convolve(seg, np.concatenate([[1.0], -c]), "valid")  # the residual of seg[order:]
        e = e - e.mean()
        v = float(np.mean(e * e))
        if v > 0.0:
            out[i] = float(np.mean(e ** 4)) / (v * v)
    return out


def mix_tails(level_db: np.ndarray, speech: np.ndarray, owner: np.ndarray, *, max_frames: int,
              signal: np.ndarray | None = None) -> np.ndarray | None:
    r"""(n,) bool: the frames of one signal carrying two voices (a diarized mono or shared recording's
    mix) that are a room's reverberant tail after a voice's direct sound ended, or None where the
    session shows no room (no frame changed: dry recordings keep their channels bit for bit).

    ``level_db``: the mix's frame levels as the VAD hears them (high-passed, dB); ``speech``: the
    diarizer's speech frames; ``owner``: its owner per frame (0, 1, 2 both). Ends looked at, on the
    mix alone (where the diarizer's mask put its edges does not move them):

    * *before a pause*: the end of each run of speech (the mix's VAD stopped hearing the tail);
    * *before the other voice*: where the owner changes from one voice to the other inside speech,
      the quietest frame within ``_CHANGE_LOOK`` frames of the change, where the ending voice's
      tail meets the next voice's onset.

    ``room_tail`` on the last ``max_frames`` levels before each end (``slack`` = ``_MIX_LINE_SLACK``), with
    a step (``step_db`` = ``_MIX_TAIL_STEP_DB``): the frame before the tail stands over its line, as the direct sound
    does when it stops. A voice's own slow fade lies on such a line too, with no step (espeak
    variants fade 15-20 dB over 0.1-0.2 s; held's planted ends lie at the fade's end), and is
    neither cut nor counted as the room's. The session shows a room when ``_TAIL_SEEN`` or more
    and ``_TAIL_SHARE`` of its ends before a pause end in such a tail (the ends before the other
    voice do not count: the onset after them always passes the look after); then each tail falling
    within ``_MIX_TAIL_AGREE`` times those tails' median rate is the tail's frames, from the direct
    sound's end by no more than the room's rate takes to fall ``_TAIL_HEARD_DB`` (``_heard_db``: further
    where the tail lies on a straight line after a step), to the end looked
    at (before a pause: to the pause's middle, the ending voice's half, which carried the tail's
    rest on its channel: the VAD, given its fill first, heard that rest again; before the other voice the reach
    counted from where the tail sank into the noise, ``_sunk``, not from the quietest frame; either reach then
    moved back to the direct sound's step where the levels after it fall as a tail does, ``_direct_step``). Where no
    tail ends at a pause, one ending in a level stretch up to ``_MIX_STRETCH_FRAMES`` before it is cut too
    (``_stretch_tail``);
    where none does, the tail at the pause looked for again on the levels' running median over
    ``_MIX_MEDIAN_FRAMES`` frames (a heard tail's level dips between reflections, one frame at a time, and breaks
    the line) with the direct sound's step (``_MIX_STEP_STRAIGHT_DB`` over the line) is cut too; where none of these
    falls at the room's rate, the tail looked for through the pause, the mask having ended inside it
    (``_pause_tail``, with the direct sound's step; where the session's tails needed none, with none too, falling
    within ``_TAIL_AGREE`` times the room's rate: its rate alone vouches for it), and cut through the
    pause's frames the ending voice owns (the diarizer's split, not always the pause's middle: a frame of the tail
    left to that voice's channel bridged its VAD's end over the cut); not where
    the run's last ``max_frames`` frames hold the other voice's (the fall there may be that voice's tail heard under
    the next one's first words).

    Given the ``signal`` (the mix itself), tails with no step count too where they carry no voice: the
    room is found from every tail (``room_tail`` with no step; ``_TAIL_SEEN`` or more and ``_MIX_TAIL_SHARE`` of
    the ends before a pause, ``_MIX_SLOW_SHARE`` where those tails' median fall is ``_KURT_SLOW_ROOM_DB`` a frame or
    slower: a slow tail shows 8 dB of its line only where the mask runs on long enough) when the median
    ``residual_kurtosis`` over those tails' frames (``_KURT_OVER_DB`` or more over the mix's 10th percentile) is at most
    ``_KURT_MAX`` and ``_KURT_UNDER_VOICE`` or more under the median over the ``_KURT_VOICE`` frames
    before each tail's knee (where the tails' median fall is ``_KURT_SLOW_ROOM_DB`` a frame or slower, at most
    ``_KURT_MAX`` alone: no voice's own end in the rooms and dry recordings measured fades that slowly with a
    near-Gaussian residual), and then every such tail is cut. A room's tail is the sum of many delayed
    copies of what was said (a near-Gaussian residual, kurtosis near 3); a voice's own slow fade is
    still excited pulse by pulse, its residual as peaky as the voice before it. Elsewhere only tails
    with a step are looked at, as above::

        level   ~~~~~\__                __/~~~~   (voice 0, its tail, voice 1's onset)
                        ``--..__      _/
        owner   000000000000000000011111111111
        tail         ^^^^^^^^^^^^^^^              (nobody's: each voice's channel carries the fill)
    """
    lv = np.asarray(level_db, np.float64)
    sp = np.asarray(speech, bool)
    own = np.asarray(owner)
    n = min(len(lv), len(sp), len(own))
    if n == 0 or max_frames < _TAIL_MIN_FRAMES:
        return None
    lv, sp, own = lv[:n], sp[:n], own[:n]
    x = np.concatenate([[False], sp, [False]])
    starts, ends = np.flatnonzero(~x[:-1] & x[1:]), np.flatnonzero(x[:-1] & ~x[1:])

    def tail_at(q: int, lo: int, step: float | None, levels: np.ndarray = lv):
        if q - lo < _TAIL_MIN_FRAMES + 1 or q >= n:
            return None
        a = max(lo, q - max_frames)
        got = room_tail(levels[a:q], lv[q:q + _TAIL_AFTER], step_db=step, slack=_MIX_LINE_SLACK)
        return None if got is None else (a + got[0], got[1])

    def ends_found(step: float | None, share: float):
        found, pause_rates = [], []  # (direct sound's end, rate, end looked at, last frame cut + 1)
        bare = []  # the ends before a pause with no tail there: (run's first frame, end, last frame cut + 1)
        for r, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
            if b >= n:
                continue  # the recording's end: nothing after it to look at
            t = tail_at(b, a, step)
            pause_rates.append(None if t is None else t[1])
            nxt = int(starts[r + 1]) if r + 1 < len(starts) else n
            if t is not None:
                found.append((*t, b, b + (nxt - b) // 2))
            else:
                bare.append((a, b, b + (nxt - b) // 2))
        rates = [r for r in pause_rates if r is not None]
        if len(rates) < _TAIL_SEEN or len(rates) < share * len(pause_rates):
            return None
        return found, rates, bare, len(rates) / len(pause_rates)

    got = None
    if signal is not None:  # every tail, where the tails' residual shows no voice
        got = ends_found(None, _MIX_SLOW_SHARE)
        if got is not None and got[3] < _MIX_TAIL_SHARE and float(np.median(got[1])) > _KURT_SLOW_ROOM_DB:
            got = None  # a share only a slow room's tails are let off with
        if got is not None:
            room = float(np.median(got[1]))
            heard = int(_TAIL_HEARD_DB / room)
            floor = float(np.percentile(lv, 10))
            ok = [(d, q) for d, rate, q, _ in got[0] if room / _TAIL_AGREE <= rate <= room * _TAIL_AGREE]
            tail = residual_kurtosis(signal, [t for d, q in ok for t in range(max(d, q - heard), q)
                                              if lv[t] >= floor + _KURT_OVER_DB])
            voice = residual_kurtosis(signal, [t for d, q in ok for t in range(max(0, d - _KURT_VOICE), d)
                                               if lv[t] >= floor + _KURT_OVER_DB])
            tail, voice = tail[np.isfinite(tail)], voice[np.isfinite(voice)]
            step = None
            if not len(tail) or not len(voice) or float(np.median(tail)) > _KURT_MAX \
                    or (float(np.median(voice)) - float(np.median(tail)) < _KURT_UNDER_VOICE
                        and room > _KURT_SLOW_ROOM_DB):
                got = None
    if got is None:
        step = _MIX_TAIL_STEP_DB
        got = ends_found(step, _TAIL_SHARE)
        if got is None:
            return None
    found, rates, bare, _ = got
    room = float(np.median(rates))
    smooth = _running_median(lv, _MIX_MEDIAN_FRAMES)
    floor = float(np.percentile(lv, 10))

    def agrees(t) -> bool:
        return t is not None and room / _MIX_TAIL_AGREE <= t[1] <= room * _MIX_TAIL_AGREE

    def pause_tail(a: int, b: int, stop: int):  # through the pause's frames the ending voice owns (its split)
        if own[b - 1] < 2 and (own[max(a, b - max_frames):b] == 1 - own[b - 1]).any():
            return None  # the other voice's frames in the line's window: its fall may be that voice's tail
        t = _pause_tail(lv, a, b, stop, floor, max_frames=max_frames, step_db=_MIX_STEP_STRAIGHT_DB)
        if not agrees(t) and step is None:  # no step, where the session's tails needed none: its rate alone vouches
            t = _pause_tail(lv, a, b, stop, floor, max_frames=max_frames, step_db=None)
            t = t if t is not None and room / _TAIL_AGREE <= t[1] <= room * _TAIL_AGREE else None
        if not agrees(t):
            return None
        while stop < n and not sp[stop] and own[stop] == own[b - 1]:
            stop += 1
        return (*t[:3], stop)

    for i, (d, rate, q, stop) in enumerate(found):  # a tail at a pause not falling at the room's rate
        if not agrees((d, rate)):
            found[i] = pause_tail(int(starts[np.searchsorted(ends, q)]), q, stop) or found[i]
    for a, b, stop in bare:
        t = _stretch_tail(lv, a, b, stop, room, lambda q: tail_at(q, a, step))
        if t is None and smooth is not lv:  # the line broken by one-frame dips: looked for on the running median
            t = tail_at(b, a, _MIX_STEP_STRAIGHT_DB, levels=smooth)
            t = None if t is None else (*t, b, stop)
        if not agrees(t):
            t = pause_tail(a, b, stop) or t
        if t is not None:
            found.append(t)
    changes = []  # the tails before the other voice: (direct sound's end, rate, frame it sank at, quietest frame + 1)
    for c in _voice_changes(own, sp).tolist():
        r = int(np.searchsorted(starts, c, side="right")) - 1
        a, b = int(starts[r]), int(ends[r])
        lo, hi = max(a + 1, c - _CHANGE_LOOK), min(b, c + _CHANGE_LOOK + 1)
        q = lo + int(np.argmin(lv[lo:hi])) + 1  # the quietest frame is the tail's last
        t = tail_at(q, a, step)
        if t is not None:
            changes.append((*t, _sunk(lv, t[0], q, floor), q))
    out = np.zeros(n, bool)

    def cut_from(c: int, rate: float) -> int:  # back to the direct sound's step, within this run of speech
        return _direct_step(lv, c, int(starts[np.searchsorted(starts, c, side="right") - 1]), rate)

    for d, rate, q, stop in found:
        if agrees((d, rate)):
            out[cut_from(max(d, q - int(_heard_db(lv, d, q) / room)), rate):stop] = True
    for d, rate, sunk, q in changes:  # the reach counted from where the tail sank; the line's own from d to q
        if agrees((d, rate)):
            out[cut_from(max(d, sunk - int(_heard_db(lv, d, q) / room)), rate):q] = True
    return out if out.any() else None


def onsets_after_tails(level_db: np.ndarray, owner: np.ndarray, speech: np.ndarray,
                       tails: np.ndarray | None) -> np.ndarray:
    r"""(n,) ``owner`` (0, 1, 2 both; the diarizer's, per frame) with the frames between a tail ``mix_tails`` cut
    before a voice change and the change given to the next voice where they begin with an onset: ``owner`` itself
    where ``tails`` is None. ``level_db``: the mix's frame levels as the VAD hears them (``mix_tails``').

    ``mix_tails`` ends such a tail at the quietest frame within ``_CHANGE_LOOK`` frames of the change; where that
    frame lies within ``_MIX_PAUSE_FLOOR_DB`` of the mix's 10th percentile (the tail sank into the noise: a pause the
    diarizer's mask bridged) and one of the ``_TAIL_AFTER`` frames after it stands ``_ONSET_STEP_DB`` or more over it
    (a direct sound arriving: a tail does not rise again), the frames from it to the change are the next voice's
    onset, which the diarizer's change, made on its own smoothed frames, gave to the ending voice. Its channel then
    carried the onset, and the VAD's end, bridged over the cut, fell on the change (AMI tst00 s4 shared at RT60 0.7 s,
    11.05 s: the therapist's first 13 frames at -18 to -37 dBFS given to the client after a pause the mask bridged,
    the client's end read 511 ms late; docs/speakers.md, seventy-third round). Only within one run of speech, and
    only a tail's last frame within ``_CHANGE_LOOK`` frames before the change::

        level   ~~~~~\__                __/~~~~   (voice 0, its tail, voice 1's onset)
                        ``--..__      _/
        owner   000000000000000000000000001111
        tail         ^^^^^^^^^^^^^^^
        after   000000000000000000001111111111   (the onset the next voice's)

    The level cannot tell the next voice from the ending one resuming where the diarizer's change was wrong: the
    attribution keeps a run only where the speech either side of it is heard apart (``speakers._onsets_heard_apart``;
    seventy-fourth round).
    """
    own = np.asarray(owner)
    if tails is None or _MIX_PAUSE_FLOOR_DB is None:
        return own
    lv, sp = np.asarray(level_db, np.float64), np.asarray(speech, bool)
    n = min(len(lv), len(own), len(sp), len(tails))
    floor = float(np.percentile(lv[:n], 10))  # as mix_tails'
    out = own.copy()
    for c in _voice_changes(own[:n], sp[:n]).tolist():
        lo = max(1, c - _CHANGE_LOOK)
        quiet = np.flatnonzero(~sp[lo:c])
        lo += int(quiet[-1]) + 1 if len(quiet) else 0  # this run of speech's frames alone
        cut = np.flatnonzero(tails[lo:c])
        q = lo + int(cut[-1]) + 1 if len(cut) else c  # the onset's first frame
        if q < c and lv[q - 1] <= floor + _MIX_PAUSE_FLOOR_DB \
                and (lv[q:min(c, q + _TAIL_AFTER)] >= lv[q - 1] + _ONSET_STEP_DB).any():
            out[q:c] = own[c]
    return out


def _voice_changes(owner: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """The frames (ascending indices) where ``owner`` ((n,): 0, 1, 2 both) changes from one voice to the other
    inside ``speech`` ((n,) bool: the frame and the one before it speech): the voice changes ``mix_tails`` and
    ``onsets_after_tails`` look at."""
    return np.flatnonzero((owner[1:] != owner[:-1]) & (owner[1:] < 2) & (owner[:-1] < 2)
                          & speech[1:] & speech[:-1]) + 1


# ``mix_tails``: the frames either side of a voice change where its tail meets the next onset
_CHANGE_LOOK = 15
# ``onsets_after_tails``: the step over a tail's last frame that is the next voice's direct sound arriving (the
# seventy-third round: AMI tst00 s4 shared at RT60 0.7 s, 11.42 s: 40 dB in one frame; where the ending voice's own
# quiet speech went on after the tail, AMI trn06 s3 at 1.0 s, 3.62 s, and trn06 s4 at 0.7 s, 25.30 s, 2.5-3 dB: given
# to the next voice, the first ending 280 ms early, the second lost); the 12 dB a room's heard fall is capped at too.
# Only after a tail's last frame near the floor: espeak s3 shared at 0.7 s, 5.72 s, a quiet stretch of the voice's own
# taken for a tail ended 27 dB over the floor, and the voice's next syllable, 15 dB up, went to the other voice
_ONSET_STEP_DB = _TAIL_HEARD_DB
# ... and the frame before a tail stands at least this far over its line (the direct sound's step)
_MIX_TAIL_STEP_DB = 0.0
# ... and, given the signal, the session shows a room where this share of its ends before a pause (_TAIL_SEEN of them
# at least) end in a tail, with or without a step, and the tails' residual vouches for them (_TAIL_SHARE, a half,
# before the sixty-fourth round; the tails with a step alone, and separate microphones, keep it): on AMI trn06 in
# rooms of RT60 0.4-1.0 s, 11 of the 16 sessions where no room was found showed one in 0.29-0.48 of their ends, 8 in
# 0.4-0.48 (its stretches carry their own recording's background, 15-20 dB over the mix's floor: a stretch ending in
# it steps to the floor with under 8 dB of a line). Dry sessions, AMI and espeak: 0.33 at most. 0.4 for the tails
# with a step too moved held's espeak mixes (median FTO error 39 -> 43 ms, 5 recordings worse by 20-60 ms)
_MIX_TAIL_SHARE = 0.4
# ... or this share where those tails' median fall is _KURT_SLOW_ROOM_DB a frame or slower (turn timing in a room,
# fifth pass: AMI tst00 and trn06 s3, shared, RT60 1.0 s: tails at 6 of 17-18 ends before a pause, 0.33-0.35, falling
# 0.56 / 0.72 dB a frame, their residual 2.99 / 2.95 against the voices' 3.22 / 3.20; at 0.6 dB a frame the 8 dB of
# line room_tail asks for takes 13 frames, and the mask ended 4-5 dB into the fall, where the clip's own background
# held the level, or the run ended in a quieter sound after a pause within the turn; the dry AMI sessions' tails fall
# 3.3-4.3 dB a frame, the sixty-ninth round)
_MIX_SLOW_SHARE = 0.3
# ... and, once the session shows a room, each tail falling within this times the room's median rate is cut (x1.6,
# _TAIL_AGREE, before the sixty-second round: on AMI turns in rooms of RT60 0.4-1.0 s, 30 of the 77 late ends left
# whole in a session with a room were tails found whose later half fell outside x1.6 of the room's median rate, 13 of
# them within x2.5: the slope of a heard tail's later half, 5-20 frames of a noise-like level, scatters)
_MIX_TAIL_AGREE = 2.5
# ... and the cut reaches back _MIX_HEARD_STRAIGHT_DB of the room's fall (not _TAIL_HEARD_DB) where the tail's own
# frames from its direct end lie within _MIX_STRAIGHT_DB (rms) of one line and the frame before stands
# _MIX_STEP_STRAIGHT_DB or more over it (the sixty-third round: AMI's tails are heard over 25-30 dB of their fall, the
# 12 dB cap stopped 47 of 60 cuts short; 18 dB for every tail cut espeak's ends early where the knee lay in the voice's
# own last syllable: there the frames from the knee scatter about the line (median 2.2 dB rms, against 1.4-1.6 where
# 18 dB was nearer the planted end) and the frame before stands under it (median -5 dB, against +4))
_MIX_HEARD_STRAIGHT_DB = 18.0
_MIX_STRAIGHT_DB = 1.8
_MIX_STEP_STRAIGHT_DB = 2.0
# ... and room_tail's search for a tail's line passes over one suffix off it (the sixty-third round: 20 of the late
# ends left whole in a session with a room fell under 8 dB on the line, the search stopped at the first frame off it;
# passed over without end, in the sixty-second round, the longest line took the voice in: AMI mono 1.0 s 127 -> 143 ms)
_MIX_LINE_SLACK = 1


# ``mix_tails``: where no tail ends at a pause, the nearest one ending up to this many frames before it (the sixty-sixth
# and sixty-seventh rounds: of the 60 AMI ends before a pause left whole in rooms of RT60 0.4-1.0 s, 32 fell into a
# level stretch the speech ran on through, a median 7.5 frames) ...
_MIX_STRETCH_FRAMES = 12
# ... with this many frames or more of it from the tail's end to the pause, none of them this far over the first ...
_MIX_STRETCH_MIN = 3
_MIX_STRETCH_RISE_DB = 3.0
# ... where the pause's first _MIX_STRETCH_PAUSE frames fall slower than _MIX_STRETCH_PAUSE_SHARE of the room's rate (a
# voice's own room tail begins where it stops: AMI trn06 s0's quiet last syllable, RT60 0.7 s, 2.1 times the room's
# rate through the pause; 1.0 moved held, espeak mixed s11 shared 69 -> 91 ms at 0.91 of the room's rate) ...
_MIX_STRETCH_PAUSE = 6
_MIX_STRETCH_PAUSE_SHARE = 0.9
# ... and the cut begins no more than this many frames before the pause (AMI trn06 s2, RT60 1.0 s: a short turn's tail
# found 23 frames back, 115 ms before its planted end, cut the turn into a backchannel)
_MIX_STRETCH_REACH = 15
# ``mix_tails``: where neither finds a tail at a pause, the tail looked for again on the levels' running median over
# this many frames, with a step of _MIX_STEP_STRAIGHT_DB (1: not at all; the sixty-eighth round: AMI tst00's heard
# tails at RT60 1.0 s dip 6-8 dB under their line for one frame, the line from the pause breaks after 4-12 frames and
# 2-4 dB; the new cuts on AMI and espeak in rooms begin a median 10 ms after the planted end where one is near; with
# no step two of them cut short turns 120-130 ms early, AMI trn06 s2's into a backchannel)
_MIX_MEDIAN_FRAMES = 3
# ``mix_tails``: where none of those finds a tail at a pause falling at the room's rate, the tail looked for again
# through the pause, up to its first frame this near the mix's 10th percentile, with the direct sound's step
# (``_pause_tail``; None: not at all; the seventy-first round: of AMI mono's 17 changes at RT60 1.0 s over 80 ms off
# with no tail cut, first draw, 10 ended at a pause 0-32 frames after the planted end, the tail's rest in the pause)
_MIX_PAUSE_FLOOR_DB: float | None = 6.0


def _stretch_tail(lv: np.ndarray, run_start: int, end: int, stop: int, room_db: float,
                  tail_at: Callable[[int], tuple[int, float] | None]) -> tuple[int, float, int, int] | None:
    r"""``mix_tails``' tail (direct sound's end, rate dB/frame, end looked at, last frame cut + 1) for a run of speech
    ``run_start .. end - 1`` (frames) whose end before a pause shows none, or None: the nearest ``tail_at(q)``
    (``room_tail`` ending at frame ``q``) within ``_MIX_STRETCH_FRAMES`` before ``end`` where the frames ``q ..
    end - 1`` are a level stretch (``_MIX_STRETCH_MIN`` or more, none ``_MIX_STRETCH_RISE_DB`` over the first), the
    pause's first ``_MIX_STRETCH_PAUSE`` frames (both halves: ``end .. 2 * stop - end - 1``) fall slower than
    ``_MIX_STRETCH_PAUSE_SHARE`` of ``room_db`` (the room's rate, dB per frame, > 0) and the cut reaches no more
    than ``_MIX_STRETCH_REACH`` frames before ``end``.
    The recording's own background, heard as speech after the tail fell into it (AMI tst00; docs/speakers.md,
    sixty-sixth and sixty-seventh rounds)::

        level   ~~~~~\__
                        ``--.._______      (the stretch: the speech runs on)
                                     \___  (the pause)
        cut          ^^^^^^^^^^^^^^^^^^^^  (from the direct end to the pause's middle)
    """
    for q in range(end - 1, max(run_start + _TAIL_MIN_FRAMES, end - _MIX_STRETCH_FRAMES - 1), -1):
        t = tail_at(q)
        if t is None:
            continue
        m = min(_MIX_STRETCH_PAUSE, 2 * (stop - end), len(lv) - end)
        if end - q < _MIX_STRETCH_MIN or lv[q:end].max() > lv[q] + _MIX_STRETCH_RISE_DB \
                or (m >= 3 and -np.polyfit(np.arange(m), lv[end:end + m], 1)[0] >= _MIX_STRETCH_PAUSE_SHARE * room_db) \
                or end - max(t[0], q - int(_heard_db(lv, t[0], q) / room_db)) > _MIX_STRETCH_REACH:
            return None
        return (*t, q, stop)
    return None


def _pause_tail(lv: np.ndarray, run_start: int, end: int, stop: int, floor_db: float, *, max_frames: int,
                step_db: float | None) -> tuple[int, float, int, int] | None:
    r"""``mix_tails``' tail (direct sound's end, rate dB/frame, end looked at, last frame cut + 1) for a run of speech
    ``run_start .. end - 1`` (frames) whose end before a pause shows none at the room's rate, or None: ``room_tail``
    over the run's last ``max_frames`` frames and the pause's first ones, up to the pause's first frame
    ``_MIX_PAUSE_FLOOR_DB`` or less over ``floor_db`` (the mix's 10th percentile; else up to ``stop``, the pause's
    middle), with the direct sound's step ``step_db`` over the line (``_MIX_STEP_STRAIGHT_DB``; None: no step, where the
    session's room was found from tails with no step, their residual vouching for them: there a tail whose first
    frames hold level under its later half's line, after a one-frame dip, shows no step and was left whole, AMI tst00
    s2 shared at RT60 0.7 s, 99-131 ms late; docs/speakers.md, seventy-fourth round, eighth pass). The end looked at is
    the run's own (the cut reaches back from it as from any end before a pause). The diarizer's mask ended inside the
    tail (AMI at RT60 1.0 s: 0-20 frames after the direct sound), too few of its frames before the pause to make a
    line, or on a stretch of it that does not fall at the room's rate; the ending voice's channel carried the rest of
    the tail through its half of the pause and its VAD heard it (docs/speakers.md, seventy-first round)::

        level   ~~~~~\__
                        ``--..__                 (the tail)
        mask    ^^^^^^^^^^^^^^^^``--..__         (the rest of it, in the pause)
        looked at                       ^        (the pause's first frame near the floor)
        cut          ^^^^^^^^^^^^^^^^^^^^^^^^^   (from the direct end through the ending voice's half of the pause)
    """
    if _MIX_PAUSE_FLOOR_DB is None:
        return None
    near = np.flatnonzero(lv[end:stop] <= floor_db + _MIX_PAUSE_FLOOR_DB)
    q = end + int(near[0]) if len(near) else stop
    if not end < q < len(lv) or end - run_start < _TAIL_MIN_FRAMES + 1:  # a run as short as a flicker: as tail_at
        return None
    lo = max(run_start, end - max_frames)
    t = room_tail(lv[lo:q], lv[q:q + _TAIL_AFTER], step_db=step_db, slack=_MIX_LINE_SLACK)
    return None if t is None else (lo + t[0], t[1], end, stop)  # the cut's reach counted from the mask's end


def _sunk(lv: np.ndarray, direct_end: int, end: int, floor_db: float) -> int:
    r"""The frame where a tail ending at ``end`` before the other voice's onset sank into the noise: the first of
    ``lv[direct_end:end]`` (dB) ``_MIX_PAUSE_FLOOR_DB`` or less over ``floor_db`` (the mix's 10th percentile), else
    ``end``. ``mix_tails``' cut reaches back from it, as from the mask's end at a pause (where the mix's VAD stopped
    hearing the tail): the quietest frame before the onset may lie long after the tail fell under the VAD's hearing,
    and a reach counted from there cut only the floor (AMI tst00 s4 shared at RT60 0.7 s, 11.05 s: the cut took the
    pause's last 17 frames at -53 to -62 dBFS and left its first 20, the tail at -34 to -51, to the ending voice;
    docs/speakers.md, seventy-third round)::

        level   ~~~~~\__                __/~~~~   (voice 0, its tail, voice 1's onset)
                        ``--..______      _/
        sunk                    ^               (the first frame near the floor)
        cut          ^^^^^^^^^^^^^^^^^^^^        (reaching back from there, up to the quietest frame)
    """
    if _MIX_PAUSE_FLOOR_DB is None:
        return end
    near = np.flatnonzero(lv[direct_end:end] <= floor_db + _MIX_PAUSE_FLOOR_DB)
    return direct_end + int(near[0]) if len(near) else end


def _running_median(x: np.ndarray, width: int) -> np.ndarray:
    """(n,) the running median of ``x`` over ``width`` frames (odd; the ends padded with the end values); ``x`` as
    it is where ``width`` is 1 or less or ``x`` shorter."""
    h = width // 2
    if h < 1 or len(x) < width:
        return x
    p = np.concatenate([np.repeat(x[:1], h), x, np.repeat(x[-1:], h)])
    return np.median(np.lib.stride_tricks.sliding_window_view(p, 2 * h + 1), axis=1)


def _direct_step(level_db: np.ndarray, cut: int, run_start: int, rate_db: float) -> int:
    r"""``mix_tails``' first frame cut, moved back from ``cut`` to the frame after the direct sound's last: the last
    frame ``j`` (within ``_MIX_STEP_BACK`` frames before ``cut``, ``_TAIL_MIN_FRAMES`` or more into the run of speech
    that began at ``run_start``) whose frame before stands ``_MIX_DIRECT_STEP_DB`` or more over every level from ``j``
    to ``cut`` (frames; ``level_db`` dB), where those levels (3 or more) fall at ``_MIX_STEP_FALL_SHARE`` or more of
    ``rate_db`` (the tail's own fall, ``room_tail``'s, dB per frame > 0): the direct sound stopped, and what follows
    is its tail. Else,
    or where that frame lies under ``_MIX_STEP_MIN_BACK`` frames before ``cut``, ``cut``. ``room_tail``'s knee lies
    where its later half's line begins: a tail that falls faster at first (its early reflections) or bumps 3 dB over
    that line was left to the voice (half of the ends cut too little on the three draws of room_timing: the cut at
    the knee, a median 60 ms after the planted end), and the reach counted back from the end looked at stops 12-18 dB
    into a tail heard over 30 (the other half: 50 ms after it; docs/speakers.md, seventy-seventh round)::

        level   ~~~~~~~~|                   (the voice; its last frame stands 6 dB over all that follows)
                         \__/\_``--..__      (its tail at the room's rate: a bump, a faster first fall)
        knee                     ^          (room_tail's: the later half's line begins)
        cut              ^^^^^^^^^^^^^^^^   (from the step)
    """
    for j in range(cut, max(run_start + _TAIL_MIN_FRAMES, cut - _MIX_STEP_BACK), -1):
        after = level_db[j:cut + 1]
        if level_db[j - 1] - after.max() >= _MIX_DIRECT_STEP_DB \
                and (len(after) < 3 or -_line_db(after)[0] >= _MIX_STEP_FALL_SHARE * rate_db):
            return j if cut - j >= _MIX_STEP_MIN_BACK else cut
    return cut


# ``_direct_step``: the direct sound's last frame stands this far over every level of its tail up to the cut (a
# room's reverberant level lies 7 dB under the direct and reverberant sound together at a direct-to-reverberant ratio
# of 6 dB; on the three draws of room_timing, main's cuts moved back, the end read 10 ms earlier a frame: 6 dB mends
# 89 of 363 ends cut too little and makes 7 of 562 ends cut right early, 5 dB 108 and 15, 7 dB 68 and 6) ...
_MIX_DIRECT_STEP_DB = 6.0
# ... those levels falling at this share of the tail's own rate or more (espeak's quiet last syllable after a 7-9 dB
# step falls at 0.0-0.3 of the room's: espeak s5 mono at RT60 0.4 s, 3.61 s; espeak s2 shared at 0.2 s, 7.18 s; against
# the room's median rate, not the tail's, slower tails within x2.5 of it were left: AMI tst00 s1 mono at RT60 1.0 s,
# 11.06 / 22.60 / 32.45 s, 0.29-0.31 dB a frame in a room of 0.63, and the row stayed at 81.7 ms) ...
_MIX_STEP_FALL_SHARE = 0.6
# ... within this many frames before the cut (the ends it mends: the step up to 27 frames back)
_MIX_STEP_BACK = 30
# ... and this many or more: a step 1-3 frames before the cut lies within room_tail's knee's own reach (moved there:
# 24 more ends cut too little mended, but 12 ends cut early cut further and 4 cut right made early; AMI's 0.87 s
# answers cut 2-3 frames deeper, under backchannel_max_s: on the first and third draws 9 planted changes lost, not 1)
_MIX_STEP_MIN_BACK = 4


def _heard_db(level_db: np.ndarray, direct_end: int, end: int) -> float:
    """How far (dB of the room's fall) ``mix_tails``' cut before ``end`` may reach back: ``_MIX_HEARD_STRAIGHT_DB``
    where ``level_db[direct_end:end]`` (the tail from ``room_tail``'s knee, dB per frame) lies on one line within
    ``_MIX_STRAIGHT_DB`` rms and ``level_db[direct_end - 1]`` stands ``_MIX_STEP_STRAIGHT_DB`` or more over that line
    (the direct sound's step), else ``_TAIL_HEARD_DB``. A room's tail is one exponential decay, a straight line in dB
    (Schroeder 1965); a voice's own last syllable taken into the line bends it."""
    if direct_end < 1 or end - direct_end < _TAIL_MIN_FRAMES:
        return _TAIL_HEARD_DB
    a, b, res_db = _line_db(level_db[direct_end:end])
    if res_db <= _MIX_STRAIGHT_DB and level_db[direct_end - 1] - (b - a) >= _MIX_STEP_STRAIGHT_DB:
        return _MIX_HEARD_STRAIGHT_DB
    return _TAIL_HEARD_DB


class SpeechSmoother:
    """Raw frame decisions -> final speech frames, with a fixed latency.

    Runs of raw speech separated by less than ``min_duration_off_s`` are merged;
    merged stretches shorter than ``min_duration_on_s`` are dropped; kept ones
    are padded by ``pad_onset_s`` / ``pad_offset_s``::

        raw      __||||_|||______||_________
        merged   __|||||||_______||_________   (gap < min_off filled)
        kept     __|||||||__________________   (blip < min_on dropped)
        padded   _|||||||||_________________

    Each frame's decision is final ``latency_frames`` frames later.

    A stretch with cross-talk frames inside (``push`` given ``blocked``) needs
    ``bleed_min_duration_on_s`` of raw speech frames; with ``cross_talk=True``
    (the channel has a cross-talk stage) one shorter than ``bleed_short_s``
    needs ``min_duration_on_s`` of them (leak passed as scattered frames is
    not speech however far the merge bridges them)::

        raw      ___|____|______   (2 raw frames 0.11 s apart, the other voice speaking)
        kept     _______________   (not a 0.12 s backchannel)

    With ``block_only`` (two voices cut from one signal: ``pipeline._other_voice_alone``), the blocked frames
    only stop merges: a stretch with some inside is not tested as leak (a listener's token amid the holder's
    speech is its own voice, heard at its share of the mixture, and keeps its ``min_duration_on_s``).

    With ``tail_trim`` (and ``push`` given the frames' levels), a kept stretch whose end is a
    room's reverberant tail (``room_tail``) ends where the direct sound ended, at most
    ``vad.tail_trim_max_s`` earlier: once the session's own stretch ends show a room (of the
    last ``_TAIL_ENDS`` with this one, ``_TAIL_SEEN`` or more and ``_TAIL_SHARE`` of them ending in a
    tail) and this tail falls at that room's rate (within ``_TAIL_AGREE`` times their median).
    The tail is not speech: the end a listener hears and annotators mark is the direct sound's.
    The trim adds its reach to ``latency_frames`` where the cross-talk rule's wait is shorter.
    """

    def __init__(self, config: VadConfig = VadConfig(), *, grid: Grid = GRID, cross_talk: bool = False,
                 tail_trim: bool = False, block_only: bool = False):
        self.n_on = grid.s_to_frames(config.min_duration_on_s)
        self.n_off = max(1, grid.s_to_frames(config.min_duration_off_s))
        self.pad_on = grid.s_to_frames(config.pad_onset_s)
        self.pad_off = grid.s_to_frames(config.pad_offset_s)
        self.n_block = max(1, min(grid.s_to_frames(config.bleed_min_block_s), self.n_off))
        self.n_on_xt = max(self.n_on, grid.s_to_frames(config.bleed_min_duration_on_s))
        self.n_short = grid.s_to_frames(config.bleed_short_s) if cross_talk else 0
        self.click_share = config.click_min_own_share
        self.n_trim = grid.s_to_frames(config.tail_trim_max_s) if tail_trim else 0
        self.block_only = block_only  # blocked frames stop merges only: no residue test (class doc)
        # a stretch still open this long after its start has reached either minimum (and is either longer
        # than n_short or holds all its raw frames within it): no final frame changes; a closed stretch's
        # end moves back by at most n_trim frames, none of them final yet
        self.latency_frames = self.pad_on + max(self.n_on_xt, self.n_short, self.n_trim) + self.n_off
        self.reset()

    def reset(self) -> None:
        self._n = 0          # raw frames seen
        self._out = 0        # final frames emitted
        self._cand = None    # [start, end) of the open merged stretch (raw indices)
        self._kept: list[tuple[int, int]] = []  # padded kept stretches not yet fully emitted
        self._block_run = 0  # blocked frames since the last raw speech frame
        self._blocked_at: list[int] = []  # blocked frame indices from the open stretch's start on
        self._raw_at: list[int] = []  # raw speech frame indices of the open stretch (for retract)
        self._click_at: list[int] = []  # raw frames marked as clicks, from the open stretch's start on
        self._lev = np.zeros(0)  # levels (dB) of frames _lev0.. (tail_trim: the open stretch's on)
        self._lev0 = 0
        self._tails: list[float | None] = []  # kept stretches' ends: the tail's rate (dB/frame) or None

    def _long_enough(self, start: int, end: int) -> bool:
        """A merged stretch needs ``min_duration_on_s``; one with cross-talk frames inside
        needs ``bleed_min_duration_on_s`` of raw speech frames (the pauses the merge bridges
        do not count)."""
        if end - start < self.n_on:
            return False
        if self._click_at:
            # click frames (ClickMarks) join no stretch; amid them, a stretch needs its own raw frames to be the
            # greater part (the clicks' quieter tails that the marks missed, bridged into a stretch, are not speech)
            clk = bisect.bisect_left(self._click_at, end) - bisect.bisect_left(self._click_at, start)
            if clk:
                own = bisect.bisect_left(self._raw_at, end) - bisect.bisect_left(self._raw_at, start)
                if own < self.click_share * (own + clk):
                    return False
        if end - start < self.n_short:
            # amid cross-talk, a short stretch of a few raw frames the merge bridged is leak passed as
            # scattered frames: it needs min_duration_on_s of raw speech frames
            if bisect.bisect_left(self._raw_at, end) - bisect.bisect_left(self._raw_at, start) < self.n_on:
                return False
        if not self._blocked_at or self.block_only:
            return True
        inside = bisect.bisect_left(self._blocked_at, end) - bisect.bisect_left(self._blocked_at, start)
        if not inside:
            return end - start >= self.n_on
        # speech broken by cross-talk frames is the other voice's residue unless it holds bleed_min_duration_on_s
        # of raw speech frames (the silence the merge bridges between them is not speech: two passed frames
        # 0.5 s apart with cross-talk between are leak residue, not a 0.5 s backchannel)
        own = bisect.bisect_left(self._raw_at, end) - bisect.bisect_left(self._raw_at, start)
        return own >= self.n_on_xt

    def _close(self, start: int, end: int) -> None:
        if self._long_enough(start, end):
            if self.n_trim and self._lev0 + len(self._lev) > end:
                end = self._trimmed(start, end)
            self._kept.append((max(0, start - self.pad_on), end + self.pad_off))

    def _trimmed(self, start: int, end: int) -> int:
        """``end`` of a kept stretch, moved back to its direct sound's end where it ends in the
        session's room's tail (class doc); records this end for the session's room."""
        lo = max(start, end - self.n_trim, self._lev0)
        e = end - self._lev0
        tail = room_tail(self._lev[lo - self._lev0:e], self._lev[e:e + _TAIL_AFTER])
        self._tails.append(None if tail is None else tail[1])
        past = self._tails[-_TAIL_ENDS:]  # this end's with the last ones'
        rates = [r for r in past if r is not None]
        if tail is None or len(rates) < _TAIL_SEEN or len(rates) < _TAIL_SHARE * len(past):
            return end
        room = float(np.median(rates))
        if not room / _TAIL_AGREE <= tail[1] <= room * _TAIL_AGREE:
            return end
        # at most _TAIL_HEARD_DB of the room's fall: a speaker's own falling last syllables lie on such a line too
        back = min(end - (lo + tail[0]), int(_TAIL_HEARD_DB / room))
        return max(end - back, start + self.n_on, self._out)

    def _decide(self, upto: int, *, final_end: int | None = None) -> np.ndarray:
        """Decisions for frames [self._out, upto)."""
        n = upto - self._out
        res = np.zeros(max(n, 0), dtype=bool)
        spans = list(self._kept)
        if self._cand is not None and self._long_enough(*self._cand):
            spans.append((max(0, self._cand[0] - self.pad_on), self._cand[1] + self.pad_off))
        for s, e in spans:
            if final_end is not None:
                e = min(e, final_end)
            lo, hi = max(s, self._out), min(e, upto)
            if hi > lo:
                res[lo - self._out:hi - self._out] = True
        self._out = upto
        self._kept = [(s, e) for s, e in self._kept if e > self._out]
        return res

    def push(self, raw: np.ndarray, blocked: np.ndarray | None = None,
             retract: list[tuple[int, np.ndarray]] = (), click: np.ndarray | None = None,
             level: np.ndarray | None = None) -> np.ndarray:
        """Raw (n,) bool -> final decisions for the frames that became final.

        ``click`` (n,) bool marks clicks (``ClickMarks``): those raw frames join no stretch, and a
        stretch whose extent holds any needs ``click_min_own_share`` of its raw frames unmarked.

        ``retract``: (frame index T, absolute frame indices before T) pairs
        from ``CrossTalk.retro``: after the frames before T, those frames are
        no longer speech (the cross-talk path learnt at T shows them to be
        leak); applied only to an open stretch none of whose frames is final yet.

        ``blocked`` (n,) bool marks cross-talk frames: ``n_block`` of them
        since this speaker's last raw speech frame are the other speaker, not
        a pause in this one's speech, and no merge bridges them (fewer are
        pauses between this speaker's words heard over the other's voice).

        ``level`` (n,) the frames' levels in dB (``RawVad.push_detail``'s): with ``tail_trim``,
        a room's tail at a stretch's end is not speech (class doc).
        """
        if len(retract):
            out, base = [], self._n
            for T, idx in retract:
                k = min(max(T - base, 0), len(raw))
                done = self._n - base
                if k > done:
                    out.append(self._push(raw[done:k], None if blocked is None else blocked[done:k],
                                          None if click is None else click[done:k],
                                          None if level is None else level[done:k]))
                self._retract(idx)
            done = self._n - base
            out.append(self._push(raw[done:], None if blocked is None else blocked[done:],
                                  None if click is None else click[done:], None if level is None else level[done:]))
            return np.concatenate(out)
        return self._push(raw, blocked, click, level)

    def _retract(self, idx: np.ndarray) -> None:
        """Drop the frames ``idx`` from the open stretch and rebuild it from its other raw frames."""
        if self._cand is None or self._cand[0] < self._out:
            return
        gone = set(int(i) for i in idx if self._cand[0] <= i < self._cand[1])
        if not gone:
            return
        rest = [i for i in self._raw_at if i not in gone]
        self._raw_at = rest  # what _close counts
        self._blocked_at = sorted(set(self._blocked_at) | gone)
        self._cand = None
        for i in rest:
            if self._cand is None:
                self._cand = [i, i + 1]
            elif i - self._cand[1] < self.n_off:
                self._cand[1] = i + 1
            else:
                self._close(*self._cand)
                self._cand = [i, i + 1]
        if self._cand is not None and self._n - self._cand[1] >= self.n_off:
            self._close(*self._cand)
            self._cand = None
        keep_from = self._cand[0] if self._cand is not None else self._n
        self._raw_at = [i for i in rest if i >= keep_from]
        self._blocked_at = self._blocked_at[bisect.bisect_left(self._blocked_at, keep_from):]

    def _push(self, raw: np.ndarray, blocked: np.ndarray | None, click: np.ndarray | None = None,
              level: np.ndarray | None = None) -> np.ndarray:
        n_off = self.n_off
        base = self._n
        self._n += len(raw)
        if self.n_trim and level is not None:
            if self._lev0 + len(self._lev) != base:  # a push without levels before: start afresh here
                self._lev, self._lev0 = np.zeros(0), base
            self._lev = np.concatenate([self._lev, np.asarray(level, np.float64)])
        if click is not None and click.any():
            self._click_at += (np.flatnonzero(raw & click) + base).tolist()
            raw = raw & ~click
        if blocked is None or not blocked.any():
            events = (np.flatnonzero(raw) + base).tolist()
            stops = ()
            if raw.any():
                self._block_run = 0
        else:
            # cross-talk frames since this speaker's last raw speech frame, carried across pushes
            cb = np.cumsum(blocked.astype(np.int64)) + self._block_run
            last_raw = np.maximum.accumulate(np.where(raw, np.arange(len(raw)), -1))
            run = np.where(last_raw >= 0, cb - cb[np.maximum(last_raw, 0)], cb) * blocked
            self._block_run = int(cb[-1] - (cb[last_raw[-1]] if last_raw[-1] >= 0 else 0))
            at = np.flatnonzero(run == self.n_block)
            self._blocked_at += (np.flatnonzero(blocked) + base).tolist()
            events = sorted(set((np.flatnonzero(raw) + base).tolist()) | set((at + base).tolist()))
            stops = set((at + base).tolist())
        if raw.any():
            self._raw_at += (np.flatnonzero(raw) + base).tolist()
        # walk raw speech frames: extend, merge or open the candidate stretch
        for i in events:
            if i in stops:
                if self._cand is not None:
                    self._close(*self._cand)
                    self._cand = None
            elif self._cand is None:
                self._cand = [i, i + 1]
            elif i - self._cand[1] < n_off:
                self._cand[1] = i + 1
            else:
                self._close(*self._cand)
                self._cand = [i, i + 1]
        # a candidate with a long enough silence after it is closed
        if self._cand is not None and self._n - self._cand[1] >= n_off:
            self._close(*self._cand)
            self._cand = None
        keep_from = self._cand[0] if self._cand is not None else self._n
        if self._blocked_at:
            self._blocked_at = self._blocked_at[bisect.bisect_left(self._blocked_at, keep_from):]
        if self._click_at:
            self._click_at = self._click_at[bisect.bisect_left(self._click_at, keep_from):]
        if self._raw_at and self._raw_at[0] < keep_from:
            self._raw_at = self._raw_at[bisect.bisect_left(self._raw_at, keep_from):]
        if keep_from > self._lev0 and len(self._lev):
            cut = min(keep_from - self._lev0, len(self._lev))
            self._lev, self._lev0 = self._lev[cut:], self._lev0 + cut
        return self._decide(max(self._out, self._n - self.latency_frames))

    def flush(self) -> np.ndarray:
        if self._cand is not None:
            self._close(*self._cand)
            self._cand = None
        return self._decide(self._n, final_end=self._n)


class ClickMarks:
    """Frames of clicks: keyboard clicks, taps, knocks, a pen on the desk. webrtcvad and the
    level gate take them for speech (a minute of a therapist typing notes read as 28-45 s of
    speech, ``benchmarks/vad_typing.py``).

    A click starts at a frame whose ``attack_db`` (a 2 ms block's rise over the 20 ms before it,
    ``RawVad.push_detail``) reaches ``click_attack_db``, whose power lies ``click_hf_share`` or
    more above 1.5 kHz, and whose level falls ``click_decay_db`` within the next 30 ms (within
    0.2 s after a click's frame, 5 dB and 3 dB do: a release on the press's tail, the next key);
    not within 0.25 s after five raw frames in a row with a vowel's spectrum (a plosive's release
    after its vowel), nor where three such frames follow within 0.2 s at most 10 dB under it (a
    plosive's burst and aspiration before its vowel). It goes on while the level stays under the
    start's and rises no more than 3 dB a frame, up to ``click_max_s``, and takes the frames
    within ``click_spread_s`` of its own (its release, its resonances' rises, the room's answer)
    but not a frame 10 dB louder than the click's loudest there or one of a syllable::

        level    _/\\___/\\____/‾‾‾‾‾‾‾\\___     (two clicks, then a word)
        click    |||||||||______________     (the word's onset rises slowly and stays up)

    Speech rarely does this: a vowel's onset rises over tens of ms and holds; a plosive's burst
    is followed by the vowel (of the six AMI excerpts' raw speech frames under 0.5 % are taken,
    of synthetic typing's 93-97 %). A click over someone's speech takes that speech's frames
    around it too. Frame ``i`` is judged once frame ``i + 20 + spread`` is known;
    streaming, the same for any block split.
    """

    LOOK = 3          # frames: the decay is measured over 30 ms
    WORD_LOOK = 20    # frames: a start followed this soon by a syllable near its level is a word's plosive
    WORD_RUN = 3      # ... (this many frames in a row, raw, with a vowel's spectrum, ...
    WORD_BELOW_DB = 10.0  # ... none more than this under the start's level)
    RISE_DB = 3.0     # a click's frames do not rise more than this
    LOUDER_DB = 10.0  # the spread spares a frame this much louder than the click's loudest near it
    SYLLABLE = 5      # frames: raw speech frames in a row, not a click's, with a vowel's spectrum, ...
    SYLLABLE_HF = 0.25  # (their power above 1.5 kHz under this share) ...
    CHAIN = 20        # frames: within this many after a click's frame, a click starts ...
    CHAIN_ATTACK_DB = 5.0  # ... at a weaker attack
    CHAIN_DECAY_DB = 3.0   # ... and decay
    AFTER_SPEECH = 25  # ... within this many frames before a start make it a plosive's release, not a click

    def __init__(self, config: VadConfig = VadConfig(), *, grid: Grid = GRID):
        self.attack_db = config.click_attack_db
        self.decay_db = config.click_decay_db
        self.hf_share = config.click_hf_share
        self.max_frames = max(1, grid.s_to_frames(config.click_max_s))
        self.spread = grid.s_to_frames(config.click_spread_s)
        self.ahead = max(self.LOOK, self.WORD_LOOK)
        self.look = self.ahead + self.spread  # frames after a frame's own before it is judged
        self.reset()

    def reset(self) -> None:
        self._lv = np.zeros(0, np.float64)
        self._att = np.zeros(0, np.float64)
        self._hf = np.zeros(0, np.float64)
        self._raw = np.zeros(0, bool)
        self._run = 0             # raw frames in a row with a vowel's spectrum, not a click's, to the last judged
        self._since_run = 10**9   # frames since the last such run of SYLLABLE frames ended
        self._since_click = 10**9  # frames since the last click frame (own, not spread)
        self._len = 0             # frames of the click going on (0: none)
        self._top = self._prev = 0.0
        self._own = np.zeros(self.spread, bool)  # own marks: the spread's look back, then those not yet given
        self._vowel = np.zeros(self.spread, bool)  # raw frames with a vowel's spectrum, likewise
        self._slv = np.full(self.spread, -200.0)  # their levels, likewise
        self._given = self.spread

    def push(self, raw: np.ndarray, level_db: np.ndarray, attack_db: np.ndarray, hf_share: np.ndarray, *,
             final: bool = False) -> np.ndarray:
        """Append frames' raw decisions, levels, attacks and high-frequency shares
        (``RawVad.push_detail``); returns the click flags of the frames judged (with ``final``, of
        all the rest)."""
        self._raw = np.concatenate([self._raw, np.asarray(raw, bool)])
        self._lv = np.concatenate([self._lv, np.asarray(level_db, np.float64)])
        self._att = np.concatenate([self._att, np.asarray(attack_db, np.float64)])
        self._hf = np.concatenate([self._hf, np.asarray(hf_share, np.float64)])
        n = len(self._lv) if final else max(0, len(self._lv) - self.ahead)
        later = np.concatenate([self._lv[self.LOOK:], np.full(self.LOOK, -200.0)])[:n]  # past the end: silence
        decay = self._lv[:n] - later
        hf_ok = self._hf[:n] >= self.hf_share
        starts = (self._att[:n] >= self.attack_db) & (decay >= self.decay_db) & hf_ok
        starts &= ~self._word_follows(n, starts)
        # soon after a click, a weaker one (a release on the press's tail, the next key)
        chained = (self._att[:n] >= self.CHAIN_ATTACK_DB) & (decay >= self.CHAIN_DECAY_DB) & hf_ok
        own, vowel = self._walk(n, starts, chained)
        lv = self._lv[:n]
        self._lv, self._att, self._hf, self._raw = self._lv[n:], self._att[n:], self._hf[n:], self._raw[n:]
        return self._spread(own, vowel, lv, final)

    def _word_follows(self, n: int, starts: np.ndarray) -> np.ndarray:
        """(n,) bool: which ``starts`` a word's syllable follows within ``WORD_LOOK`` frames, at
        most ``WORD_BELOW_DB`` under the start's level (a plosive's burst and aspiration before its
        vowel: "t", "ch" opening a word decay like a click, then the vowel comes back up)."""
        out = np.zeros(n, bool)
        at = np.flatnonzero(starts)
        if not len(at):
            return out
        m = len(self._lv)
        v = self._raw & (self._hf < self.SYLLABLE_HF)
        r = self.WORD_RUN
        low = np.full(m + self.WORD_LOOK + r, -np.inf)  # low[j]: the quietest of frames j..j+r-1, all vowel-like
        if m >= r:
            ok = np.ones(m - r + 1, bool)
            q = np.full(m - r + 1, np.inf)
            for d in range(r):
                ok &= v[d:m - r + 1 + d]
                q = np.minimum(q, self._lv[d:m - r + 1 + d])
            low[: m - r + 1] = np.where(ok, q, -np.inf)
        best = np.full(len(at), -np.inf)
        for d in range(1, self.WORD_LOOK - r + 2):  # runs within the look: frames i + 1 .. i + WORD_LOOK
            np.maximum(best, low[at + d], out=best)
        out[at] = best >= self._lv[at] - self.WORD_BELOW_DB
        return out

    def _quiet(self, a: int, b: int, vowel: np.ndarray) -> None:
        """``_walk``'s state over frames ``a``..``b`` where no click starts or goes on (their
        ``vowel`` flags written)."""
        n = b - a
        if n <= 0:
            return
        v = self._raw[a:b] & (self._hf[a:b] < self.SYLLABLE_HF)
        vowel[a:b] = v
        k = np.arange(n)
        last_not = np.maximum.accumulate(np.where(v, -1, k))
        run = np.where(last_not >= 0, k - last_not, self._run + k + 1)  # vowel-like frames in a row up to each
        run[~v] = 0
        full = np.flatnonzero(run >= self.SYLLABLE)
        self._since_run = int(n - full[-1]) if len(full) else self._since_run + n
        self._run = int(run[-1])
        self._since_click += n

    def _walk(self, n: int, starts: np.ndarray, chained: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The clicks' own frames and the frames with a vowel's spectrum: frame by frame where a
        click may start or goes on, in one step over the stretches between."""
        own, vowel = np.zeros(n, bool), np.zeros(n, bool)
        lv, raw, hf = self._lv[:n].tolist(), self._raw[:n].tolist(), self._hf[:n].tolist()
        st_at, ch_at = np.flatnonzero(starts), np.flatnonzero(chained)
        st_l, ch_l = starts.tolist(), chained.tolist()
        i = 0
        while i < n:
            if self._len == 0:
                # the next frame where a click may start: a start, or a chained start while the last click is near
                nxt = n
                k = int(np.searchsorted(st_at, i))
                if k < len(st_at):
                    nxt = int(st_at[k])
                k = int(np.searchsorted(ch_at, i))
                if k < len(ch_at) and self._since_click + int(ch_at[k]) - i <= self.CHAIN:
                    nxt = min(nxt, int(ch_at[k]))
                if nxt > i:
                    self._quiet(i, nxt, vowel)
                    i = nxt
                    continue
            st = st_l[i] or (ch_l[i] and self._since_click <= self.CHAIN)
            if st and self._since_run > self.AFTER_SPEECH:  # not a plosive's release after a syllable
                self._len, self._top, self._prev = 1, lv[i], lv[i]
            elif 0 < self._len < self.max_frames and lv[i] < self._top - 1.0 and lv[i] <= self._prev + self.RISE_DB:
                self._len += 1
                self._prev = lv[i]
            else:
                self._len = 0
            own[i] = self._len > 0
            self._since_click = 0 if own[i] else self._since_click + 1
            vowel[i] = raw[i] and not own[i] and hf[i] < self.SYLLABLE_HF
            if vowel[i]:
                self._run += 1
                if self._run >= self.SYLLABLE:
                    self._since_run = 0
            else:
                self._run = 0
            self._since_run += 1
            i += 1
        return own, vowel

    def _spread(self, own: np.ndarray, vowel: np.ndarray, level_db: np.ndarray, final: bool) -> np.ndarray:
        """The marks of the frames whose spread is known: their own, or within ``spread`` of a
        click's own frame, no louder than it, unless in a syllable."""
        if not self.spread:
            return own
        k = self.spread
        o = np.concatenate([self._own, own])
        vw = np.concatenate([self._vowel, vowel])
        lvb = np.concatenate([self._slv, level_db])
        start = self._given
        stop = max(start, len(o) if final else len(o) - k)
        i = np.arange(start, stop)
        # the loudest own click frame within k of each; the spread spares frames 10 dB louder (a word's onset
        # after a lip click: its fricative rises over the click)
        lo = np.concatenate([np.full(k, -np.inf), np.where(o, lvb, -np.inf), np.full(k, -np.inf)])
        top = np.full(len(i), -np.inf)
        for d in range(2 * k + 1):  # lo[i + d] is frame i + d - k
            np.maximum(top, lo[i + d], out=top)
        near = lvb[i] <= top + self.LOUDER_DB
        # the spread spares a syllable: SYLLABLE frames in a row with a vowel's spectrum
        w = self.SYLLABLE
        cv = np.concatenate([[0], np.cumsum(vw, dtype=np.int64)])
        full = np.zeros(len(vw) + w, bool)  # full[j]: frames j .. j + w - 1 all vowel-like
        full[: max(0, len(vw) - w + 1)] = (cv[w:] - cv[:-w]) == w if len(vw) >= w else False
        cf = np.concatenate([[0], np.cumsum(full, dtype=np.int64)])
        syllable = (cf[i + 1] - cf[np.maximum(i - w + 1, 0)]) > 0
        res = o[i] | (near & ~syllable)
        keep_from = max(0, stop - k)
        self._own, self._vowel, self._slv = o[keep_from:], vw[keep_from:], lvb[keep_from:]
        self._given = stop - keep_from
        return res
