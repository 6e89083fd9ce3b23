"""Who is speaking, online: one mixed signal and the therapist's voice profile
-> therapist / other / unsure per 10 ms frame, with a fixed latency (issue 9, item 5).

A streaming stage for live capture from one mono or shared device. It is
*provisional*: on save, the whole recording is attributed again
(``prosody.engine.speakers.attribute``), and that attribution is the one kept.

Per frame of the mix (the channel mean), all on the one 10 ms grid::

    samples -> RawVad (webrtcvad + level gate, causal)        raw speech: which frames feed the voice
            -> SpeechSmoother (short on/off, fixed latency)    speech: which frames get a speaker
            -> mel power of the 25 ms ending at the frame's end (causal; the encoder's front end)
    once step_s of new raw speech frames came in, or step_s after the last new one (a pause):
            GE2E embedding e (prosody.engine.embedding) of the last window_s of raw speech frames
            joined end to end (pauses left out), level-normalised to -30 dBFS
            -> every recluster_windows windows (from min_windows on): two clusters of the
               last max_windows window embeddings (cosine k-means, as diarization's); the
               cluster whose centroid is nearer the profile is the therapist, the other the
               other voice; fewer than min_separation apart (cosine distance), or the two
               centroids' similarities to the profile less than min_profile_margin apart
               (one voice split in two, or a voice too like the therapist's), or the
               nearer centroid further than max_profile_distance (cosine) from the
               profile (neither voice the enrolled therapist's: another person alone,
               or two people neither of whom enrolled): this clustering names nobody,
               and the voices of the last one that did stay (none yet: nobody named)
            -> score = similarity to the therapist's centroid - similarity to the other's
    each frame, latency_s after its end:
            mean score of the windows that hold it and were computed by then
            >= therapist_min_score   therapist
            <= other_max_score       other
            else (or no window held it)  unsure;      non-speech frames: silence
            a speech frame no window held (a pause the raw VAD left out inside a
            stretch of speech) takes the last scored frame's score of the same
            stretch, up to bridge_s before it (earlier frames only: fixed latency)

A timeline (``L`` = latency, ``W`` = window; windows every step)::

    frame f        |
    windows        [=====W=====]  computed at f      (holds f as its newest frame)
                      [=====W=====]  computed at f + step
    decided        ..............L..|  label of f out at f + L, from the windows above

Windows are counted on the speech itself (not at fixed grid frames), so the
same dialogue started later on the grid gets the same windows and the same
labels moved by the offset; every state is carried between pushes, so any
block split gives exactly the labels of the whole signal.
Thresholds are calibrated in ``benchmarks/online_attribution.py`` on many
espeak-ng voices, levels, rooms, noises and seeds (tuned on one split,
reported on another).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..config import VadConfig
from ..errors import ConfigError, InputError
from ..timebase import GRID, Grid
from .diarize import kmeans2
from .embedding import N_FFT, VoiceEncoder, periodic_hann
from .framing import Framer
from .vad import RawVad, SpeechSmoother

try:  # single-threaded BLAS: the encoder's small products burn several times the CPU when threaded
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

SILENCE, THERAPIST, OTHER, UNSURE = 0, 1, 2, 3
LABELS = ("silence", "therapist", "other", "unsure")
METHOD = "online (provisional): GE2E windows, two voices clustered as they come, named by the voice profile"
_TARGET_MS = 10 ** (-30 / 10)   # mean square of speech at -30 dBFS, the encoder's training level


@dataclass(frozen=True)
class OnlineAttributionConfig:
    """``window_s``: speech per embedding window (pauses left out); a window
    needs at least ``min_window_s``. ``step_s``: a window once this much
    new raw speech came in, or this long after the last of it. ``latency_s``: each frame's label is out
    this long after its end. ``therapist_min_score`` / ``other_max_score``:
    the frame's mean score at or above which it is the therapist's, at or
    below which it is the other person's (between: unsure). The voices:
    ``min_windows``, ``recluster_windows``, ``max_windows``,
    ``min_separation``, ``min_profile_margin``, ``max_profile_distance`` (module docstring; the last
    measured in docs/speakers.md, fifty-fifth round: the therapist's nearer centroid lay 0.04-0.24 from the
    profile on the tune split, up to 0.27 on held; another person's 0.19-0.41 on AMI).
    ``bridge_s``: a speech frame that no window holds (a short pause inside a stretch of speech) takes the score of
    the last scored frame of its stretch up to this long before. ``vad``: the speech mask.
    Defaults: calibrated in ``benchmarks/online_attribution.py`` (tune split)."""

    window_s: float = 1.0
    min_window_s: float = 0.5
    step_s: float = 0.2
    latency_s: float = 1.0
    therapist_min_score: float = 0.0
    other_max_score: float = -0.04
    min_windows: int = 10
    recluster_windows: int = 5
    max_windows: int = 600
    min_separation: float = 0.08
    min_profile_margin: float = 0.04
    max_profile_distance: float = 0.27
    bridge_s: float = 0.3
    vad: VadConfig = field(default_factory=lambda: VadConfig(min_duration_on_s=0.05, min_duration_off_s=0.2))

    def validate(self, grid: Grid = GRID) -> "OnlineAttributionConfig":
        if not 0.3 <= self.min_window_s <= self.window_s <= 3.0:
            raise ConfigError(f"window_s={self.window_s}, min_window_s={self.min_window_s}: need "
                              "0.3 <= min_window_s <= window_s <= 3 s")
        if not grid.hop_s <= self.step_s <= self.window_s:
            raise ConfigError(f"step_s={self.step_s} must be within {grid.hop_s}..window_s={self.window_s} s")
        if not -2.0 <= self.other_max_score <= self.therapist_min_score <= 2.0:
            raise ConfigError(f"other_max_score={self.other_max_score} must be <= "
                              f"therapist_min_score={self.therapist_min_score}, both within -2..2")
        if not (2 <= self.min_windows <= self.max_windows and self.recluster_windows >= 1
                and 0.0 <= self.min_separation < 1.0):
            raise ConfigError(f"min_windows={self.min_windows}, max_windows={self.max_windows}, recluster_windows="
                              f"{self.recluster_windows}, min_separation={self.min_separation}: need 2 <= "
                              "min_windows <= max_windows, recluster_windows >= 1, 0 <= min_separation < 1")
        if not 0.0 <= self.min_profile_margin < 2.0:
            raise ConfigError(f"min_profile_margin={self.min_profile_margin}: need 0 <= min_profile_margin < 2")
        if not 0.0 < self.max_profile_distance <= 2.0:
            raise ConfigError(f"max_profile_distance={self.max_profile_distance}: need 0 < max_profile_distance <= 2")
        self.vad.validate()
        smoother = SpeechSmoother(self.vad, grid=grid).latency_frames
        if grid.s_to_frames(self.latency_s) < max(smoother, grid.s_to_frames(self.step_s)):
            raise ConfigError(f"latency_s={self.latency_s} must be at least the speech smoother's "
                              f"{grid.frames_to_s(smoother):.2f} s and step_s={self.step_s}")
        if not 0.0 <= self.bridge_s <= self.latency_s:
            raise ConfigError(f"bridge_s={self.bridge_s}: need 0 <= bridge_s <= latency_s")
        return self


@dataclass(frozen=True)
class OnlineLabels:
    """Labels decided by one push: frames ``start_frame ..`` on the grid.
    ``label``: (n,) int8 of ``SILENCE``/``THERAPIST``/``OTHER``/``UNSURE``;
    ``score``: (n,) float32 mean window score (therapist minus other voice,
    see the module docstring; NaN: silence or no window)."""

    start_frame: int
    label: np.ndarray = field(repr=False)
    score: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.label)


class OnlineAttributor:
    """The streaming stage: ``push(samples) -> OnlineLabels``, ``flush()``, ``reset()``.

    ``samples``: (n_samples,) float mono mix at 16 kHz (a shared device's
    channels averaged by the caller). ``profile``: the therapist's
    ``VoiceProfile``. Labels of frame ``f`` come out once frame
    ``f + latency_frames`` is in (``flush`` decides the rest).
    """

    def __init__(self, profile, config: OnlineAttributionConfig | None = None, *, grid: Grid = GRID,
                 encoder: VoiceEncoder | None = None):
        if profile is None:
            raise InputError("online attribution needs a voice profile (`prosody enrol`)")
        self.config = (config or OnlineAttributionConfig()).validate(grid)
        self.grid = grid
        self.profile_mean = np.asarray(profile.mean, np.float32)
        self.encoder = encoder or VoiceEncoder.load()
        self.latency_frames = grid.s_to_frames(self.config.latency_s)
        self.window_frames = grid.s_to_frames(self.config.window_s)
        self.min_window_frames = grid.s_to_frames(self.config.min_window_s)
        self.step_frames = grid.s_to_frames(self.config.step_s)
        basis = self.encoder.weights["mel_basis"]
        self._basis_t = np.ascontiguousarray(basis.T, dtype=np.float32)
        self._window = periodic_hann()
        self.reset()

    @property
    def latency_s(self) -> float:
        return self.grid.frames_to_s(self.latency_frames)

    def reset(self) -> None:
        self._framer = Framer(grid=self.grid)
        self._vad = RawVad(self.config.vad, grid=self.grid)
        self._smoother = SpeechSmoother(self.config.vad, grid=self.grid)
        self._tail = np.zeros(N_FFT - self.grid.hop_length, np.float32)  # samples before the next frame
        self._n = 0                   # frames in
        self._decided = 0             # frames labelled
        self._speech = np.zeros(0, bool)      # smoothed speech of frames [_decided, ...)
        self._sum = np.zeros(0, np.float64)   # per undecided frame: summed window score
        self._cnt = np.zeros(0, np.int32)
        self._buf_mel = np.zeros((0, self._basis_t.shape[1]), np.float32)  # last window of raw speech frames
        self._buf_ms = np.zeros(0, np.float64)
        self._buf_idx = np.zeros(0, np.int64)
        self._count = 0               # raw speech frames since the last window
        self._quiet = 0               # frames since the last raw speech frame
        self._last_sim = float("nan")  # score of the last scored frame of the current speech stretch
        self._since = 0                # frames since that frame
        self.n_windows = 0
        self._n_seen = 0
        self._windows: deque = deque(maxlen=self.config.max_windows)
        self._voices: tuple[np.ndarray, np.ndarray] | None = None   # (therapist, other) unit centroids

    def _score(self, e: np.ndarray) -> float:
        """One window's score (NaN: the voices are not told apart yet); the voices are
        clustered again every ``recluster_windows`` windows (module docstring)."""
        cfg = self.config
        self._windows.append(e.astype(np.float32))
        self._n_seen += 1
        n = self._n_seen
        if n >= cfg.min_windows and (n - cfg.min_windows) % cfg.recluster_windows == 0:
            voices = self._cluster()
            if voices is not None:   # once told apart, the voices stay until a clustering that passes replaces them
                self._voices = voices
        if self._voices is None:
            return float("nan")
        t, o = self._voices
        return float(e @ t) - float(e @ o)

    def _cluster(self) -> tuple[np.ndarray, np.ndarray] | None:
        x = np.stack(self._windows)
        lab = kmeans2(x, n_init=3)
        if np.bincount(lab, minlength=2).min() < 2:
            return None
        c = [x[lab == k].mean(axis=0) for k in (0, 1)]
        c = [v / max(float(np.linalg.norm(v)), 1e-12) for v in c]
        if 1.0 - float(c[0] @ c[1]) < self.config.min_separation:
            return None   # one voice so far (or two too alike to tell): nobody named
        sim = [float(v @ self.profile_mean) for v in c]
        t = int(np.argmax(sim))
        if sim[t] - sim[1 - t] < self.config.min_profile_margin:
            return None   # both clusters as near the profile: one voice split in two, or a voice like the therapist's
        if 1.0 - sim[t] > self.config.max_profile_distance:
            return None   # neither cluster near the profile: not the enrolled therapist's voice
        return c[t], c[1 - t]

    @property
    def other_voice_known(self) -> bool:
        """Two voices are told apart (the other voice has been heard)."""
        return self._voices is not None

    # -- frames ---------------------------------------------------------------------------------
    def _mel(self, frames: np.ndarray) -> np.ndarray:
        """(n, 40) mel power of the N_FFT samples ending at each frame's end."""
        x = np.concatenate([self._tail, frames.reshape(-1)])
        self._tail = x[len(x) - len(self._tail):].copy()
        hop = self.grid.hop_length
        win = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::hop][:len(frames)]
        spec = np.fft.rfft(win * self._window, axis=1)
        power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
        # one vector-matrix product per frame: a matrix product over the block may round
        # differently with the block's size, and any block split must give the same bits
        out = np.empty((len(frames), self._basis_t.shape[1]), np.float32)
        for i in range(len(frames)):
            out[i] = power[i] @ self._basis_t
        return out

    def _window_embedding(self) -> np.ndarray:
        mel, ms = self._buf_mel, self._buf_ms
        scale = _TARGET_MS / max(float(np.mean(ms)), 1e-12)
        if threadpool_limits is not None:
            with threadpool_limits(limits=1, user_api="blas"):
                e = self.encoder.embed_windows(mel * np.float32(scale), starts=[0], n_frames=len(mel))[0]
        else:  # pragma: no cover
            e = self.encoder.embed_windows(mel * np.float32(scale), starts=[0], n_frames=len(mel))[0]
        return e

    def _take(self, frames: np.ndarray, raw: np.ndarray, mel: np.ndarray, first: int) -> None:
        """Frames ``first ..`` (raw speech, mel): into the window buffer; a window once
        ``step_frames`` new raw speech frames came in, or ``step_frames`` after the last
        new one (a pause): counted on the speech itself, not on the absolute grid, so
        where the dialogue starts on the grid does not move the windows."""
        n = len(frames)
        ms = np.mean(np.square(frames, dtype=np.float64), axis=1)
        step = self.step_frames
        due = []
        count, quiet = self._count, self._quiet
        for i in range(n):
            if raw[i]:
                count, quiet = count + 1, 0
            else:
                quiet += 1
            if count and (count >= step or quiet == step):
                due.append(i)
                count = 0
        self._count, self._quiet = count, quiet
        pos = 0
        for stop in due + [None]:
            end = n if stop is None else stop + 1
            sel = np.flatnonzero(raw[pos:end]) + pos
            if len(sel):
                self._buf_mel = np.concatenate([self._buf_mel, mel[sel]])[-self.window_frames:]
                self._buf_ms = np.concatenate([self._buf_ms, ms[sel]])[-self.window_frames:]
                self._buf_idx = np.concatenate([self._buf_idx, first + sel])[-self.window_frames:]
            pos = end
            if stop is None:
                break
            k_end = first + stop
            if len(self._buf_idx) < self.min_window_frames:
                continue
            e = self._window_embedding()
            score = self._score(e)
            self.n_windows += 1
            # the frames whose label is still open at this window: f + latency >= k_end
            # (a fixed rule on frame indices, so any block split gives the same sums)
            held = self._buf_idx[self._buf_idx >= k_end - self.latency_frames] - self._decided
            if score == score:
                self._sum[held] += score
                self._cnt[held] += 1

    def _decide(self, upto: int) -> OnlineLabels:
        """Label frames [_decided, upto)."""
        start = self._decided
        m = max(0, min(upto, start + len(self._speech)) - start)
        speech = self._speech[:m]
        cnt, s = self._cnt[:m], self._sum[:m]
        sim = np.where(speech & (cnt > 0), s / np.maximum(cnt, 1), np.nan).astype(np.float32)
        cfg = self.config
        self._bridge(speech, cnt, sim)
        label = np.full(m, SILENCE, np.int8)
        label[speech] = UNSURE
        with np.errstate(invalid="ignore"):
            label[speech & (sim >= cfg.therapist_min_score)] = THERAPIST
            label[speech & (sim <= cfg.other_max_score)] = OTHER
        self._speech, self._sum, self._cnt = self._speech[m:], self._sum[m:], self._cnt[m:]
        self._decided += m
        return OnlineLabels(start, label, sim)

    def _bridge(self, speech: np.ndarray, cnt: np.ndarray, sim: np.ndarray) -> None:
        """Fill, in place, the score of speech frames no window held from the
        last scored frame of the same speech stretch at most ``bridge_s``
        before (state carried between calls: any block split, same labels)."""
        limit = self.grid.s_to_frames(self.config.bridge_s)
        last, since = self._last_sim, self._since
        if limit > 0:
            for i in range(len(sim)):
                if not speech[i]:
                    last, since = float("nan"), 0
                elif cnt[i] > 0:
                    last, since = float(sim[i]), 0
                else:
                    since += 1
                    if since <= limit and last == last:
                        sim[i] = last
        self._last_sim, self._since = last, since

    def _push_frames(self, frames: np.ndarray) -> None:
        first = self._n
        self._n += len(frames)
        self._sum = np.concatenate([self._sum, np.zeros(len(frames))])
        self._cnt = np.concatenate([self._cnt, np.zeros(len(frames), np.int32)])
        if not len(frames):
            return
        raw = self._vad.push(frames)
        self._speech = np.concatenate([self._speech, self._smoother.push(raw)])
        self._take(frames, raw, self._mel(frames), first)

    # -- stage ----------------------------------------------------------------------------------
    def push(self, samples: np.ndarray) -> OnlineLabels:
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            raise InputError(f"samples of shape {x.shape}: give the mono mix, shape (n_samples,)")
        self._push_frames(self._framer.push(x))
        return self._decide(self._n - self.latency_frames)

    def flush(self) -> OnlineLabels:
        """The last partial frame (zero padded) and every frame still undecided."""
        self._push_frames(self._framer.flush())
        self._speech = np.concatenate([self._speech, self._smoother.flush()])
        return self._decide(self._n)
