"""Who is speaking: recording layout, speaker attribution and voice profiles.

``detect_layout``  which layout the audio has: separate channels (one voice each,
                   maybe with cross-talk), shared channels (both voices on every
                   channel) or mono; from the first ``probe_s`` of the audio,
                   ``confirm_layout`` checks it over the whole session.
``attribute``      layout + diarization (shared / mono) + naming -> speaker channels
                   for ``prosody.pipeline.Pipeline`` and a ``sources`` record.
``VoiceProfile``   mean GE2E embedding and spread of one person's voice (the
                   therapist's), built from a recording of them alone
                   (``build_profile``) or a session's frames of one speaker
                   (``profile_from_frames``); ``name_voices`` says which voice
                   of a diarization is the therapist, with a confidence.

See docs/speakers.md for the API contract the commands build on.
"""
from __future__ import annotations

import bisect
import dataclasses

import math
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import numpy as np

from .diarize import (DiarizeConfig, Diarization, _utterance_tiles, audio_2d, channel_mean, diarize,
                      frame_mean_square, speech_mask, split_unsure)
from .views import ChannelMean, Pcm16, frame_rows, sounding
from .compiled import sosfilt
from .framing import rms_db
from .iir import butter_highpass_sos
from .vad import hearing_gain_db, mix_tails, onsets_after_tails
from .embedding import EMBEDDING_SIZE, N_FFT, VoiceEncoder, mel_frames, mel_frames_at
from ..config import VadConfig
from ..errors import InputError
from ..timebase import GRID
from ..types import UNATTRIBUTED

try:  # the correlation's dot products on one BLAS thread (see waveform_corr)
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

LAYOUTS = ("separate", "shared", "mono")
THERAPIST, CLIENT = "therapist", "client"
DEFAULT_NAMES = (THERAPIST, CLIENT)
NO_PROFILE_RULE = ("no voice profile: the voice heard first (the first to speak 1 s on its own) is assumed to "
                   "be the therapist")

# layout decision (calibrated in benchmarks/diarization.py)
SEPARATE_MIN_MODE_DISTANCE_DB = 12.0   # distance between the two level-difference modes of separate channels
SEPARATE_MIN_ABS_ILD_DB = 15.0         # one channel this much quieter on (almost) all speech: separate
IDENTICAL_MIN_CORR = 0.995             # waveform correlation of identical channels
OWN_VOICES_REASON = "each channel carries its own voice"  # detect_layout's reason where speech alternates
INVERTED_MAX_CORR = -0.5               # at most this: channel 2 in opposite polarity (two microphones' waveforms
                                       # correlate near 0 at lag 0 otherwise; a mix stored inverted reads -1)
OVERLAP_SHARE_GAIN = 0.5  # amplitude of each voice's share of an overlapped frame (tuned on the tune split)
# a listener's excursion inside the holder's speech (a short vocalisation in the holder's turn, at most
# LISTENER_EXCURSION_MAX_S): the holder's share as above, the listener's at -10.5 dB (``overlap_gains``;
# chosen on tune/dev of benchmarks/diarization.py)
HOLDER_OVERLAP_GAIN = 0.5
LISTENER_OVERLAP_GAIN = 0.3
LISTENER_EXCURSION_MAX_S = 1.0
# the listener's share of an excursion's mixture, measured (``overlap_gains`` given the mix's levels,
# ``listener_share``): 1 - the holder's own energy around it (its frames alone within HOLDER_AROUND_S each side,
# at least HOLDER_AROUND_MIN_FRAMES of speech) over the excursion's. The listener's gain is the root of that share
# LISTENER_SHARE_MARGIN_DB down, where that is above LISTENER_OVERLAP_GAIN: a failed interruption spoken at or above
# the listener's own level over the holder read -10.5 dB re the mixture like a soft "mm", and ``is_floor_bid``
# called 75 of 82 missed ones on benchmarks/overlap_events.py --layout mono (held-out) backchannels. The margin
# (0, -3, -5 dB tried on seeds 0-31 and diarization.py's tune split) keeps a full-level token (scenario_mixed's
# backchannels) under the bid's +1 dB; docs/speakers.md, fifty-ninth round. OVERLAP_SHARE_MEASURED False: the
# fixed gain alone, as before (for benchmarks' before / after).
HOLDER_AROUND_S = 1.0
OVERLAP_SHARE_MEASURED = True
HOLDER_AROUND_MIN_FRAMES = 20
LISTENER_SHARE_MARGIN_DB = -5.0
# an excursion of LISTENER_SHARE_LONG_S or more is read at its measured share with no margin, as separate channels
# read it: scenario_mixed's full-level tokens ("em em hmm", 3-4 nuclei) last up to 0.68 s, a failed interruption up
# to 1.2 s, and the share of the 157 failed-interruption excursions of benchmarks/overlap_events.py's tuning seeds
# is right to -4.3..+1.7 dB (5-95 %); docs/speakers.md, sixty-first round
LISTENER_SHARE_LONG_S = 0.7
LISTENER_SHARE_LONG_MARGIN_DB = 0.0


def overlap_gains(owner: np.ndarray, speech: np.ndarray | None = None,
                  levels_db: np.ndarray | None = None) -> np.ndarray:
    """(n_frames, 2) float32: the amplitude each voice's channel carries of the mixture in
    each frame it owns (1 where it owns the frame alone). A listener's excursion inside the
    holder's speech (frames not the holder's alone, at least one overlapped, at most
    ``LISTENER_EXCURSION_MAX_S`` long, between two runs of the holder's voice) gives the
    holder ``HOLDER_OVERLAP_GAIN`` on its overlapped frames and the listener
    ``LISTENER_OVERLAP_GAIN`` on all its frames (the diarizer puts some frames of a
    backchannel spoken over the holder to the listener alone); any other overlapped run
    (a change of turn through overlap) gives both ``OVERLAP_SHARE_GAIN``. Given ``speech`` (the
    speech mask on the same grid), a run the diarizer gave to the listener alone counts as an
    excursion too where the speech goes on without a pause from the holder's frame before it to
    the holder's frame after it: the holder did not stop, so the run carries the two voices'
    mixture (full-level backchannels the diarizer gave to the listener alone read louder than the
    listener's own speech, and ``is_floor_bid`` called them failed interruptions: fresh10 /
    fresh14 of benchmarks/diarization.py, docs/speakers.md thirty-ninth round); a run next to a
    pause (a vocalisation in the holder's pause) keeps the recording's level::

        owner   0000002211220000000   an excursion of voice 1 inside voice 0's speech
        gain 0  1111115500551111111   (x 0.1)
        gain 1  ------3333333------   (x 0.1; - not owned)

    Given ``levels_db`` (the mix's frame levels, dBFS), the listener's gain on an excursion is raised
    to its measured share of the mixture (``listener_share``, ``LISTENER_SHARE_MARGIN_DB`` down; an
    excursion of ``LISTENER_SHARE_LONG_S`` or more ``LISTENER_SHARE_LONG_MARGIN_DB`` down, 0 dB: no
    backchannel token of the benchmarks lasts that long) where that is more than
    ``LISTENER_OVERLAP_GAIN``.
    """
    owner = np.asarray(owner)
    g = np.ones((len(owner), 2), np.float32)
    both = owner == 2
    if not both.any() and speech is None:
        return g
    g[both] = OVERLAP_SHARE_GAIN
    max_n = GRID.s_to_frames(LISTENER_EXCURSION_MAX_S)
    sp = None if speech is None else np.asarray(speech, bool)[:len(owner)]
    found = []
    for k in (0, 1):
        x = np.concatenate([[0], (owner != k).astype(np.int8), [0]])
        starts, ends = np.flatnonzero(np.diff(x) > 0), np.flatnonzero(np.diff(x) < 0)
        found += [(b - a, a, b, k) for a, b in zip(starts, ends)
                  if 0 < a and b < len(owner) and b - a <= max_n
                  and (both[a:b].any() or (sp is not None and b < len(sp) and sp[a - 1:b + 1].all()))]
    long_n = GRID.s_to_frames(LISTENER_SHARE_LONG_S)
    for _, a, b, k in sorted(found, reverse=True):  # where two overlap, the shorter one decides
        margin_db = LISTENER_SHARE_LONG_MARGIN_DB if b - a >= long_n else LISTENER_SHARE_MARGIN_DB
        g[a:b, 1 - k] = LISTENER_OVERLAP_GAIN if levels_db is None else \
            max(LISTENER_OVERLAP_GAIN, (listener_share(owner, sp, levels_db, a, b, k)
                                        * 10.0 ** (margin_db / 10.0)) ** 0.5)
        g[a:b, k] = np.where(both[a:b], HOLDER_OVERLAP_GAIN, 1.0)
    return g


def listener_share(owner: np.ndarray, speech: np.ndarray | None, levels_db: np.ndarray, a: int, b: int,
                   holder: int) -> float:
    """The listener's share (0..1) of the mixture's energy over the excursion ``[a, b)`` inside ``holder``'s
    speech: 1 - the holder's own energy mean (its speech frames alone within ``HOLDER_AROUND_S`` either side)
    over the excursion's (its speech frames); 0 where the holder has fewer than ``HOLDER_AROUND_MIN_FRAMES``
    such frames."""
    n = min(len(owner), len(levels_db))
    w = GRID.s_to_frames(HOLDER_AROUND_S)
    sp = np.ones(n, bool) if speech is None else np.asarray(speech[:n], bool)
    idx = np.r_[max(0, a - w):min(a, n), min(b, n):min(n, b + w)]
    idx = idx[(np.asarray(owner)[idx] == holder) & sp[idx]]
    ex = np.arange(a, min(b, n))
    ex = ex[sp[ex]] if sp[ex].any() else ex
    if len(idx) < HOLDER_AROUND_MIN_FRAMES or not len(ex):
        return 0.0
    p_ex = float(np.mean(10.0 ** (np.asarray(levels_db, np.float64)[ex] / 10.0)))
    p_h = float(np.mean(10.0 ** (np.asarray(levels_db, np.float64)[idx] / 10.0)))
    return max(0.0, 1.0 - p_h / p_ex) if p_ex > 0 else 0.0


@dataclass(frozen=True)
class LayoutReport:
    """The layout found and why. ``evidence``: the figures the decision used."""

    layout: str
    confidence: float
    reason: str
    evidence: dict = field(default_factory=dict)
    probe_s: float = 0.0

    def to_dict(self) -> dict:
        return {"layout": self.layout, "confidence": round(self.confidence, 3), "reason": self.reason,
                "probe_s": round(self.probe_s, 2), "evidence": self.evidence}




def _two_means_1d(v: np.ndarray) -> tuple[float, float, float]:
    """Two modes of 1-D values (2-means from the 10th/90th percentiles): (low, high, share of low)."""
    lo, hi = np.percentile(v, [10, 90])
    for _ in range(20):
        cut = 0.5 * (lo + hi)
        a, b = v[v <= cut], v[v > cut]
        if len(a) == 0 or len(b) == 0:
            break
        lo, hi = float(np.median(a)), float(np.median(b))
    return float(lo), float(hi), float(np.mean(v <= 0.5 * (lo + hi)))


def detect_layout(audio: np.ndarray, *, sample_rate: int = GRID.sample_rate, probe_s: float | None = 60.0,
                  start_s: float = 0.0) -> LayoutReport:
    """Tell separate, shared and mono apart from ``audio[start_s : start_s + probe_s]``.

    ``audio``: (n_samples,) or (n_samples, n_channels) float at 16 kHz
    (channels beyond the first two are ignored). Over the speech frames of the
    channel mean it measures the inter-channel level difference (ILD, dB) of
    every 10 ms frame and the waveform correlation of the two channels::

        separate  one channel digital silence (every sample zero) or without
                  speech of its own at any level (hiss, hum; said so: its level
                  difference follows the other voice, no alternation), ILD has
                  two modes >= 12 dB apart (each voice loud on its own channel)
                  or one channel >= 15 dB quieter throughout
        shared    anything closer: both voices reach both channels within a few dB;
                  and identical channels (waveform correlation >= 0.995) at any
                  level difference: one mix stored twice, said in the reason
        mono      one channel
    """
    if sample_rate != GRID.sample_rate:
        raise InputError(f"sample_rate={sample_rate}: layout detection runs at {GRID.sample_rate} Hz; resample first")
    x = audio_2d(audio)
    a = int(round(start_s * sample_rate))
    b = len(x) if probe_s is None else a + int(round(probe_s * sample_rate))
    whole = a == 0 and b >= len(x)
    x = x[a:b]
    dur = len(x) / sample_rate
    if x.shape[1] == 1:
        return LayoutReport("mono", 1.0, "one channel", {"channels": 1}, dur)
    hop = GRID.hop_length
    n = len(x) // hop
    if n == 0:
        return LayoutReport("separate", 0.0, "too little audio to tell the layout; channels kept as they are", {}, dur)
    ch = x[: n * hop, :2]  # float32; the figures below in float64, a few thousand frames at a time
    # the channels' mean read a chunk at a time (an hour's would be 230 MB beside the recording)
    # a quiet recording's speech is heard raised (``vad.hearing_gain_db``; 0 at ordinary levels): unraised, speech
    # under about -70 dBFS was "too little speech to tell the layout", and a table recorder's voices were read as
    # separate channels whose cross-talk took all of them (hostile sweep 22's leftovers)
    vad = DiarizeConfig().vad
    gain = hearing_gain_db(_vad_levels_db(ChannelMean(ch), n, highpass_hz=vad.highpass_hz))
    vad = dataclasses.replace(vad, hear_gain_db=gain) if gain else vad
    speech = speech_mask(ChannelMean(ch, in_float64=True), vad)
    own = [speech_mask(ch[:, c], vad) for c in (0, 1)]
    for c in (0, 1):  # a voice on one channel only may vanish from the mean
        speech |= own[c]
    # levels without each channel's DC offset (a recorder's constant: 0.03 made the fixture's separate
    # channels read shared, both levels held up by the same constant in every pause)
    means = (_mean(ch[:, 0]), _mean(ch[:, 1]))
    p = [frame_mean_square(frame_rows(ch[:, c], n, hop), np.float64, offset=means[c]) + 1e-12 for c in (0, 1)]
    ild = 10 * np.log10(p[0] / p[1])
    corr = waveform_corr(ch[:, 0], ch[:, 1], means=means)
    if speech.sum() < GRID.s_to_frames(1.0):
        return LayoutReport("separate", 0.2, "too little speech to tell the layout; channels kept as they are",
                            {"speech_s": round(float(speech.sum()) * GRID.hop_s, 2), "corr": round(corr, 4)}, dur)
    v = ild[speech]
    lo, hi, share_lo = _two_means_1d(v)
    med = float(np.median(v))
    ev = {"speech_s": round(float(speech.sum()) * GRID.hop_s, 2), "corr": round(corr, 4),
          "ild_median_db": round(med, 2), "ild_modes_db": [round(lo, 2), round(hi, 2)],
          "ild_mode_distance_db": round(hi - lo, 2), "ild_low_mode_share": round(share_lo, 3)}
    if abs(corr) >= IDENTICAL_MIN_CORR:  # one signal stored twice, at any gain: the quieter copy is no person
        louder = "" if abs(med) < 1.0 else f", channel {2 if med > 0 else 1} {abs(med):.0f} dB quieter"
        return LayoutReport("shared", 1.0, "the two channels are identical (one mix stored twice"
                            + (", once in opposite polarity" if corr < 0 else "") + louder + ")", ev, dur)
    first = int(np.argmax(speech)) * hop  # the copy test from the first speech on (digital silence copies nothing)
    lag = copy_lag(ch[first:, 0], ch[first:, 1], sample_rate=sample_rate)
    if lag is not None:  # one mix stored twice, one copy late (two devices' buffers): no person per channel
        ev["copy_lag_ms"] = round(1000.0 * lag / sample_rate, 1)
        return LayoutReport("shared", 1.0, f"the two channels are one mix stored twice, channel {2 if lag > 0 else 1} "
                            f"{abs(1000.0 * lag / sample_rate):.0f} ms later: the voices are told apart on channel "
                            f"{1 if lag > 0 else 2} alone", ev, dur)
    # one channel silent throughout: its level difference follows the other voice's loudness (two "modes"
    # tens of dB up), which is no alternation; say what it is
    where = "throughout" if whole else f"throughout the {dur:.0f} s looked at"
    for c in (0, 1):
        if not _any_nonzero(ch[:, c]):  # a file's constant is read as zeros (its DC taken away when read)
            ev["silent_channel"] = c + 1
            return LayoutReport("separate", 0.6, f"channel {c + 1} is digital silence {where} (every sample "
                                "zero, or one constant value): separate channels with one voice speaking", ev, dur)
        loud = float(np.median(ild[speech])) * (1 if c == 1 else -1)   # dB the other channel is louder
        # no speech of its own at any level: hiss, or mains hum as loud as quiet speech, whose level
        # difference to the speech beside it has two "modes" (loud and quiet words) that are no alternation
        if not own[c].any() and own[1 - c].any():
            ev["silent_channel"] = c + 1
            level = level_words(loud)
            return LayoutReport("separate", 0.6, f"channel {c + 1} has no speech of its own and is {level} "
                                f"{where}: separate channels with one voice speaking", ev, dur)
    both_modes = min(share_lo, 1 - share_lo) >= 0.05
    if both_modes and hi - lo >= SEPARATE_MIN_MODE_DISTANCE_DB:
        conf = float(min(1.0, (hi - lo - SEPARATE_MIN_MODE_DISTANCE_DB) / 10.0 + 0.5))
        apart = f"{hi - lo:.0f} dB" if hi - lo <= 60 else "more than 60 dB"  # beyond: digital silence on one
        return LayoutReport("separate", conf, f"{OWN_VOICES_REASON}: speech alternates between "
                            f"channel levels {apart} apart", ev, dur)
    if abs(med) >= SEPARATE_MIN_ABS_ILD_DB and np.mean(np.sign(v) == np.sign(med)) >= 0.95:
        quiet = 2 if med > 0 else 1
        ev["quiet_channel"] = quiet  # both voices (if two) this much quieter there: a far microphone, a copy
        return LayoutReport("separate", 0.6, f"channel {quiet} is {abs(med):.0f} dB quieter on almost all speech: "
                            "separate channels with one voice speaking", ev, dur)
    conf = float(min(1.0, 0.5 + (SEPARATE_MIN_MODE_DISTANCE_DB - (hi - lo)) / 12.0))
    return LayoutReport("shared", conf, f"both voices reach both channels (channel level difference within "
                        f"{max(1.0, abs(lo), abs(hi)):.0f} dB)", ev, dur)


def level_words(diff_db: float, whose: str = "", *, same: str = "at the other's level") -> str:
    """``whose`` (a channel, "the client's") ``diff_db`` dB quieter (louder where negative), or ``same`` where that
    rounds to 0 dB: "0 dB quieter" was said of two channels at one level (hostile sweep 58)."""
    if round(abs(diff_db)) == 0:
        return same
    return f"{whose} {abs(diff_db):.0f} dB {'quieter' if diff_db > 0 else 'louder'}".lstrip()


def carries_own_voices(rep: LayoutReport) -> bool:
    """Whether ``detect_layout`` found each channel carrying its own voice (speech alternating between them)."""
    return rep.layout == "separate" and rep.reason.startswith(OWN_VOICES_REASON)


COPY_MAX_LAG_S = 1.0     # copy_lag looks this far either way
COPY_PROBE_S = 10.0      # over at most the first this many seconds (0.03 CPU s; 60 s took 0.25 s)


def copy_lag(a: np.ndarray, b: np.ndarray, *, sample_rate: int = GRID.sample_rate) -> int | None:
    """Samples ``b`` runs behind ``a`` (negative: ahead) where it is ``a``'s copy, late (the
    normalised cross-correlation over their overlap reaches ``IDENTICAL_MIN_CORR`` at some lag
    of 1 sample to ``COPY_MAX_LAG_S``, on the first ``COPY_PROBE_S``, and at that lag over all
    of ``a`` and ``b`` too), else None. Lag 0 is the identical-channels test (``detect_layout``)::

        a   |== mix ===========|
        b      |== mix ===========|     b = g * a delayed by `lag`: returns lag > 0

    A copy is the whole mix stored twice, so its lag holds to the end. One person speaking alone
    in a dry room reaches two microphones as a late copy of themself (a lag of the path's
    difference, under a few ms) until the other person speaks from elsewhere: a shared recording
    whose first 10 s of speech held one voice was read as one copy (fresh2 dominant s55 shared:
    its two microphones' level differences two modes 5.7 dB apart), the second microphone dropped
    and the voices diarized on one channel, 31 % of its speech given to the wrong person
    (docs/speakers.md, eightieth round, wp87)."""
    n = min(len(a), len(b), int(COPY_PROBE_S * sample_rate))
    max_lag = min(int(COPY_MAX_LAG_S * sample_rate), n // 4)
    if max_lag < 1:
        return None
    x, y = a[:n].astype(np.float64), b[:n].astype(np.float64)
    x -= x.mean()
    y -= y.mean()
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    r = np.fft.irfft(np.conj(np.fft.rfft(x, nfft)) * np.fft.rfft(y, nfft), nfft)  # r[k] = sum_t x[t] y[t + k]
    cx = np.concatenate([[0.0], np.cumsum(x * x)])
    cy = np.concatenate([[0.0], np.cumsum(y * y)])
    ks = np.arange(-max_lag, max_lag + 1)
    pos = np.clip(ks, 0, None)
    neg = np.clip(-ks, 0, None)
    ex = cx[n - pos] - cx[neg]          # x[neg : n - pos], the part of x that overlaps y shifted by k
    ey = cy[n - neg] - cy[pos]          # y[pos : n - neg]
    norm = r[ks] / np.sqrt(np.maximum(ex * ey, 1e-30))
    norm[ks == 0] = 0.0
    i = int(np.argmax(np.abs(norm)))
    if not (abs(norm[i]) >= IDENTICAL_MIN_CORR and ex[i] > 0 and ey[i] > 0):
        return None
    lag = int(ks[i])
    m = min(len(a), len(b)) - abs(lag)  # the whole overlap at that lag, read a chunk at a time
    whole = waveform_corr(_part(a, max(-lag, 0), m), _part(b, max(lag, 0), m))
    return lag if abs(whole) >= IDENTICAL_MIN_CORR else None


def _part(x, start: int, n: int):
    """``x[start:start + n]`` not yet read: a view of an array, or of a 16-bit recording's channel (a ``ChannelMean``
    of its ``Pcm16`` column, whose row slice is a view too), for ``waveform_corr`` and ``_mean`` to read a chunk
    at a time (an hour's channel is not copied whole)."""
    return ChannelMean(x.source[start:start + n]) if isinstance(x, ChannelMean) else x[start:start + n]


_CHUNK_SAMPLES = 1 << 20  # samples converted to float64 at once


def _mean(a: np.ndarray) -> float:
    """The mean of a long float32 signal, summed in float64 over chunks."""
    if len(a) == 0:
        return 0.0
    return math.fsum(float(a[i:i + _CHUNK_SAMPLES].astype(np.float64).sum())
                     for i in range(0, len(a), _CHUNK_SAMPLES)) / len(a)


def _any_nonzero(a) -> bool:
    """Whether a long signal has a sample that is not zero, read a chunk at a time."""
    return any(bool(np.any(a[i:i + _CHUNK_SAMPLES])) for i in range(0, len(a), _CHUNK_SAMPLES))


def waveform_corr(a: np.ndarray, b: np.ndarray, *, means: tuple[float, float] | None = None) -> float:
    """Pearson correlation of two equally long signals (0.0 where either is constant),
    accumulated in float64 over chunks (``np.corrcoef`` to float64 rounding, without its
    float64 copies of both signals). ``means``: their ``_mean``s where known.

    The dot products run on one BLAS thread: threaded, OpenBLAS's ``ddot`` splits a vector
    among its threads and adds their partial sums, so the last bits followed the machine's
    core count, and on a shared 2-core machine the threads' waiting took 7 x the CPU
    (16 against 2 ms on 44 s of stereo; docs/speakers.md, forty-fourth round)."""
    n = len(a)
    if n == 0:
        return 0.0
    ma, mb = means if means is not None else (_mean(a), _mean(b))
    sab, saa, sbb = [], [], []
    with threadpool_limits(limits=1, user_api="blas") if threadpool_limits is not None else nullcontext():
        for i in range(0, n, _CHUNK_SAMPLES):
            u, v = a[i:i + _CHUNK_SAMPLES].astype(np.float64), b[i:i + _CHUNK_SAMPLES].astype(np.float64)
            u -= ma
            v -= mb
            sab.append(float(u @ v))
            saa.append(float(u @ u))
            sbb.append(float(v @ v))
    saa_t, sbb_t = math.fsum(saa), math.fsum(sbb)
    if saa_t <= 0.0 or sbb_t <= 0.0:
        return 0.0
    return float(np.clip(math.fsum(sab) / math.sqrt(saa_t * sbb_t), -1.0, 1.0))


def confirm_layout(audio: np.ndarray, *, first: LayoutReport, sample_rate: int = GRID.sample_rate) -> LayoutReport:
    """The layout over the whole session; the reason says when it disagrees with ``first``."""
    whole = detect_layout(audio, sample_rate=sample_rate, probe_s=None)
    if whole.layout == first.layout:
        return replace(whole, confidence=max(whole.confidence, first.confidence))
    return replace(whole, reason=f"{whole.reason} (the first {first.probe_s:.0f} s looked {first.layout})",
                   confidence=min(whole.confidence, 0.5))


def check_channels_claim(report: LayoutReport) -> str | None:
    """Warning when ``--channels`` named one speaker per channel but the audio is shared or mono."""
    if report.layout == "separate":
        return None
    return (f"--channels names one speaker per channel, but the audio looks {report.layout}: {report.reason}; "
            "speakers are attributed by voice instead (use --layout separate to force the channel mapping)")


# --------------------------------------------------------------------------- voice profiles


@dataclass(frozen=True)
class VoiceProfile:
    """One person's voice: ``mean`` (256,) unit GE2E embedding, ``spread`` the mean
    cosine distance of their 1.5 s windows to it, from ``n_windows`` windows of
    ``speech_s`` seconds of speech."""

    mean: np.ndarray = field(repr=False)
    spread: float
    n_windows: int
    speech_s: float
    name: str = THERAPIST
    model: str = "resemblyzer-ge2e-0.1.4"

    def distance(self, embedding: np.ndarray) -> float:
        """Cosine distance of a unit embedding to this voice."""
        return float(1.0 - np.asarray(embedding, np.float32) @ self.mean)

    def to_dict(self) -> dict:
        return {"name": self.name, "model": self.model, "spread": self.spread, "n_windows": self.n_windows,
                "speech_s": self.speech_s, "mean": [round(float(v), 6) for v in self.mean]}

    @classmethod
    def from_dict(cls, d: dict) -> "VoiceProfile":
        try:
            mean = np.asarray(d["mean"], dtype=np.float32)
            prof = cls(mean=mean / max(float(np.linalg.norm(mean)), 1e-12), spread=float(d["spread"]),
                       n_windows=int(d["n_windows"]), speech_s=float(d["speech_s"]),
                       name=str(d.get("name", THERAPIST)), model=str(d.get("model", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"voice profile is malformed ({exc}); enrol the voice again") from None
        if mean.shape != (EMBEDDING_SIZE,):
            raise InputError(f"voice profile has a {mean.shape} embedding, expected ({EMBEDDING_SIZE},); enrol again")
        # a NaN in the embedding made every distance NaN: two voices named with confidence 1.0 and no warning (the
        # "neither near" test and the confidence's min both pass NaN); a zero embedding put every voice 1.0 away (a
        # lone voice named the client); a NaN or infinite spread moved the client's bar (hostile sweep 21)
        if not np.all(np.isfinite(mean)) or not float(np.linalg.norm(mean)) > 0.0:
            raise InputError("voice profile is malformed (its embedding is zero or not finite); enrol the voice again")
        if not (np.isfinite(prof.spread) and 0.0 <= prof.spread <= 2.0):
            raise InputError(f"voice profile is malformed (spread {prof.spread} is not a cosine distance within "
                             "0..2); enrol the voice again")
        return prof


MIN_PROFILE_SPEECH_S = 3.0
# cosine distance: a profile whose distances to the two voices lie closer than this names them "uncertain".
# A profile of one of the voices lies about their separation (>= 0.2 where two are found) nearer one than
# the other (0.25 on fixtures/dialogue.flac); one built from both voices 0.05 (that dialogue) or 0.00.
PROFILE_MIN_MARGIN = 0.08
# a lone voice (one diarized voice, or one channel speaking alone) and the profile: within
# LONE_VOICE_THERAPIST_WITHIN (cosine distance) it is the enrolled person, beyond ``client_bar`` (the old limit with
# its floor raised, max(LONE_VOICE_CLIENT_BEYOND, 3 x spread)) another person; between, prosody cannot tell and
# names it neither (``lone_voice_naming``). It had been one limit, max(0.2, 3 x spread) (0.27-0.37 on AMI profiles):
# a client alone was named the therapist by another person's profile (AMI, enrolled from the other half of a
# speaker's speech: 61-71 % of same-sex and 43-52 % of cross-sex lone voices). Measured (benchmarks/lone_voice.py,
# docs/speakers.md, fifty-third round), a voice to its own profile enrolled from other material: AMI 0.05-0.28
# (clean 0.05-0.15; enrolled in a room 0.16-0.28, in noise 20 dB under the speech 0.13-0.25), espeak through another
# room 0.02-0.28; another person: same sex 0.14-0.50 (tuning voices 0.19-0.40), cross sex 0.18-0.51. Two voices of
# which neither lies within LONE_VOICE_THERAPIST_WITHIN: neither is said to be near the enrolled voice (another
# person's profile: the nearer voice 0.19-0.35; the enrolled person dominant 0.07-0.13).
LONE_VOICE_THERAPIST_WITHIN = 0.15
LONE_VOICE_CLIENT_BEYOND = 0.25


def client_bar(profile: "VoiceProfile") -> float:
    """The cosine distance beyond which a lone voice is another person's: ``max(LONE_VOICE_CLIENT_BEYOND,
    3 x spread)``: every lone voice measured with its own profile from other material lay under it (AMI 122, espeak
    70; benchmarks/lone_voice.py); 0.25 keeps the fixture dialogue's client alone (0.26 from the therapist's
    profile, spread 0.08) named the client, as the old limit named it."""
    return max(LONE_VOICE_CLIENT_BEYOND, 3.0 * profile.spread)


LONE_CANNOT_TELL = "prosody cannot tell whose voice it is"  # the rule's words for a lone voice between the bars


def distance_digits(ds, bars) -> int:
    """Decimals that tell each distance of ``ds`` from each bar of ``bars`` it is not equal to: 2, or up to 6 where
    one rounds onto a bar (0.1504 had read "0.15 from the enrolled therapist, neither near it (within 0.15)", 0.2504
    "0.25 ... (beyond 0.25)"); the bars are written to as many."""
    for k in range(2, 7):
        if not any(d != b and round(d, k) == round(b, k) for d in ds for b in bars):
            break
    return k


def lone_voice_naming(distance: float, profile: "VoiceProfile", *, names: tuple[str, str],
                      what: str) -> tuple[int | None, float, str]:
    """A lone voice at cosine ``distance`` from the enrolled ``names[0]``'s ``profile``: (0 the enrolled person, 1
    the other, None neither said; the confidence; the rule's words). ``what``: the voice, as the rule names it."""
    t, c = names
    near, far = LONE_VOICE_THERAPIST_WITHIN, client_bar(profile)
    k = distance_digits([distance], [near, far])
    if distance <= near:
        return 0, float(min(1.0, 0.5 + (near - distance) / near)), \
            f"voice profile: {what} is {distance:.{k}f} from the enrolled {t} (within {near:.{k}f})"
    if distance > far:
        return 1, float(min(1.0, 0.5 + (distance - far) / far)), \
            f"voice profile: {what} is {distance:.{k}f} from the enrolled {t} (beyond {far:.{k}f})"
    return None, 0.0, (f"voice profile: {what} is {distance:.{k}f} from the enrolled {t}, neither near it (within "
                       f"{near:.{k}f}) nor clearly another voice (beyond {far:.{k}f}): {LONE_CANNOT_TELL}")


def neither_near_text(distances, t: str) -> str:
    """The warning for two voices of which neither lies near the enrolled voice."""
    k = distance_digits(distances[:2], [LONE_VOICE_THERAPIST_WITHIN])
    return (f"neither voice lies near the enrolled {t} (cosine distances {distances[0]:.{k}f} and "
            f"{distances[1]:.{k}f}; within {LONE_VOICE_THERAPIST_WITHIN:.{k}f} is near): the nearer one is named the "
            f"{t}, but the profile may be another person's, or the {t} speaks too little here to be known; which voice "
            f"is the {t} is "
            "uncertain (`prosody relabel` exchanges the two voices of a saved session)")


def profile_from_frames(samples: np.ndarray, *, speech: np.ndarray, sample_rate: int = GRID.sample_rate,
                        name: str = THERAPIST, window_s: float = 1.5, hop_s: float = 0.75) -> VoiceProfile:
    """Profile of the voice in ``samples`` (n_samples,) at its speech frames ``speech``
    ((n_samples // 160,) bool, e.g. a saved session's frames of one speaker)."""
    if sample_rate != GRID.sample_rate:
        raise InputError(f"sample_rate={sample_rate}: voice profiles need {GRID.sample_rate} Hz; resample first")
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    n = len(x) // GRID.hop_length
    speech = np.asarray(speech, bool)[:n]
    idx = np.flatnonzero(speech)
    if len(idx) * GRID.hop_s < MIN_PROFILE_SPEECH_S:
        raise InputError(f"only {len(idx) * GRID.hop_s:.1f} s of speech; a voice profile needs at least "
                         f"{MIN_PROFILE_SPEECH_S:.0f} s of the person speaking alone")
    frames = x[: n * GRID.hop_length].reshape(n, GRID.hop_length)
    rms = float(np.sqrt(np.mean(frames[speech] ** 2)))
    mel = mel_frames(x * (10 ** (-30 / 20) / max(rms, 1e-9)))[:n][idx]
    w = min(GRID.s_to_frames(window_s), len(idx))
    starts = np.arange(0, len(idx) - w + 1, max(1, GRID.s_to_frames(hop_s)))
    emb = VoiceEncoder.load().embed_windows(mel, starts=starts, n_frames=w)
    mean = emb.mean(axis=0)
    mean = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    spread = float(np.mean(1.0 - emb @ mean))
    return VoiceProfile(mean=mean, spread=spread, n_windows=len(emb), speech_s=len(idx) * GRID.hop_s, name=name)


CHANNEL_ORDER_RULE = "channel 1 is taken as the therapist, channel 2 as the client (the default order; --channels " \
                     "names them, a voice profile checks them)"
OWN_SPEECH_MIN_LEAD_DB = 6.0  # a channel's own speech for the profile: its speech frames this much above the other's


def name_channels(audio: np.ndarray, *, profile: VoiceProfile | None = None,
                  names: tuple[str, str] = DEFAULT_NAMES) -> Naming:
    """Which of two separate channels carries the therapist (``names[0]``): ``names[k]``
    is channel k's. ``audio``: (n_samples, >= 2) float at 16 kHz.

    With a voice profile: each channel's own speech (its speech frames at least
    ``OWN_SPEECH_MIN_LEAD_DB`` louder than the other channel's, so no leak of the
    other voice) is embedded as a profile is (``profile_from_frames``), and the
    channel nearer the enrolled voice is the therapist's, when the two distances
    lie ``PROFILE_MIN_MARGIN`` or more apart; nearer than that the default order
    stays and the rule says why. One channel alone with ``MIN_PROFILE_SPEECH_S``
    of its own speech (the other person silent): its voice is the therapist's
    within ``LONE_VOICE_THERAPIST_WITHIN`` of the profile, the client's beyond
    ``client_bar`` (``lone_voice_naming``, as a lone diarized voice
    is named); between, the default order stays, said uncertain. Without a
    profile: ``CHANNEL_ORDER_RULE``."""
    t, c = names
    if profile is None:
        return Naming((t, c), 0.5, CHANNEL_ORDER_RULE, True)
    x = audio_2d(audio)[:, :2].astype(np.float32)
    hop = GRID.hop_length
    n = len(x) // hop
    lv = 10 * np.log10(np.mean(np.square(x[: n * hop].reshape(n, hop, 2), dtype=np.float64), axis=1) + 1e-20)
    owns = [speech_mask(x[:, ch], DiarizeConfig().vad)[:n] & (lv[:, ch] - lv[:, 1 - ch] >= OWN_SPEECH_MIN_LEAD_DB)
            for ch in (0, 1)]
    enough = [float(o.sum()) * GRID.hop_s >= MIN_PROFILE_SPEECH_S for o in owns]
    if enough.count(True) == 1:  # one person speaks (the other's channel silent): is that voice the enrolled one?
        ch = enough.index(True)
        d1 = profile.distance(profile_from_frames(x[:, ch], speech=owns[ch]).mean)
        who, conf, rule = lone_voice_naming(d1, profile, names=names,
                                            what=f"channel {ch + 1}'s voice, the only one speaking,")
        if who is None:  # neither near the profile nor clearly another's: the default order, said uncertain
            return Naming((t, c), 0.5, f"{CHANNEL_ORDER_RULE}; {rule}", True, (d1,))
        k = ch if who == 0 else 1 - ch
        return Naming((t, c) if k == 0 else (c, t), conf, rule, False, (d1,))
    if not all(enough):
        return Naming((t, c), 0.5, f"{CHANNEL_ORDER_RULE}; the voice profile was not used: neither channel has "
                      f"{MIN_PROFILE_SPEECH_S:.0f} s of its own speech", True)
    dist = [profile.distance(profile_from_frames(x[:, ch], speech=owns[ch]).mean) for ch in (0, 1)]
    k, margin = int(np.argmin(dist)), abs(dist[0] - dist[1])
    if margin < PROFILE_MIN_MARGIN:
        return Naming((t, c), 0.5, f"{CHANNEL_ORDER_RULE}; the voice profile lies about as near both channels' "
                      f"voices (cosine distances {dist[0]:.2f} and {dist[1]:.2f})", True, tuple(dist))
    conf = float(min(1.0, 0.5 + margin / max(0.1, 2.0 * profile.spread)))
    return Naming((t, c) if k == 0 else (c, t), conf, f"voice profile: channel {k + 1}'s voice is {margin:.2f} "
                  f"closer to the enrolled {t}", False, tuple(dist))


def check_one_voice(samples: np.ndarray, *, label: str = "the recording", mix: np.ndarray | None = None
                    ) -> tuple[str, ...]:
    """Raise InputError where ``samples`` (a recording meant to hold one person alone, for
    ``prosody enrol``) holds two voices: a profile built from both would lie between them and
    could name either voice the therapist later. Two tests, the diarizer's first (two voices
    found), then, where it finds one, ``odd_piece``: a short second voice (a 1-2 s answer in
    an 8 s recording) holds too little speech for the diarizer's test and is found by its own
    embedding lying ``ENROL_PIECE_APART`` or more from the rest of the speech.
    ``samples`` of two channels or more whose first two each carry their own voice (``detect_layout``: speech
    alternating between them) hold two people whatever the mix sounds like: a 12 s dialogue of a channel each at
    8 kHz was enrolled as one voice, the diarizer finding one in its narrow-band mix (hostile sweep 54).
    Returns the warnings of a recording let through: a telephone-band one (``NARROW_BAND_BELOW_DB``), where
    neither test tells a second voice surely (that dialogue's 12 s mixed to one channel: one voice, its odd piece
    0.26 apart; hostile sweep 55), is said so."""
    x = audio_2d(samples)
    mix = x.mean(axis=1) if mix is None else mix  # ``mix``: of every channel, where ``samples`` holds the first two
    d = diarize(mix, config=DiarizeConfig(unsure_below_db=0.0))  # a split said unsure is still a second voice here
    how = ("a voice profile is built from the therapist alone; give a recording of the therapist alone, or enrol "
           "from a saved session's therapist (--from-session N); if it is the therapist alone, say so with "
           "--voices 1")
    if d.n_voices == 2:
        a, b = sorted((float(v) * d.grid.hop_s for v in d.activity.sum(axis=0)), reverse=True)
        raise InputError(f"two voices found in {label} ({a:.0f} s and {b:.0f} s of speech): {how}")
    rep = detect_layout(x[:, :2]) if x.shape[1] >= 2 else None
    if rep is not None and carries_own_voices(rep):
        raise InputError(f"two voices found in {label}, one on each channel ({rep.reason}): {how}")
    x = mix
    odd = odd_piece(x)
    if odd is not None and odd[0] >= ENROL_PIECE_APART:
        dist, start_s, end_s = odd
        raise InputError(f"{label} seems to hold two voices: its speech at {start_s:.1f}-{end_s:.1f} s sounds like "
                         f"another person (its voice lies {dist:.2f} from the rest's, where one person's pieces "
                         f"lie within {ENROL_PIECE_APART:.2f}): a voice profile is built from the "
                         "therapist alone; give a recording of the therapist alone, or enrol from a saved "
                         "session's therapist (--from-session N); if it is the therapist alone, say so with "
                         "--voices 1")
    if not d.speech_high_band_db < NARROW_BAND_BELOW_DB:
        return ()
    return (f"{label} is a telephone-band recording: almost nothing of its speech lies above 4 kHz (a phone line or "
            "an 8 kHz file), where voices differ most, so a second voice in it is found less surely (a few seconds "
            "of another person's speech can pass for the therapist's); make sure it holds the therapist alone, "
            "or enrol from a recording at its full band",)


# enrolment's test for a short second voice (odd_piece; docs/speakers.md, "Enrolment: a short second voice")
ENROL_PIECE_MAX_S = 2.0     # an utterance is cut into equal pieces of at most this (a short answer's length)
ENROL_PIECE_MIN_S = DiarizeConfig().utterance_min_s  # shorter pieces are not embedded (0.5 s)
# cosine distance from the rest at which a piece is another voice: the diarizer's own bar for two
# clusters of utterances (DiarizeConfig.utterance_decisive_apart), not tuned here
ENROL_PIECE_APART = DiarizeConfig().utterance_decisive_apart
ENROL_PIECE_MAX_SPEECH_S = 30.0  # longer recordings: not tested (the diarizer's utterance retries judge those)


def odd_piece(samples: np.ndarray, *, sample_rate: int = GRID.sample_rate) -> tuple[float, float, float] | None:
    """The piece of speech of ``samples`` ((n_samples,) float at 16 kHz) least like the rest:
    ``(distance, start_s, end_s)``, its cosine distance to the rest's voice and where it lies;
    None where the recording holds fewer than two pieces or more than
    ``ENROL_PIECE_MAX_SPEECH_S`` of speech.

    The speech (the diarizer's voice activity) is cut at its pauses into utterances, and each
    utterance into equal pieces of at most ``ENROL_PIECE_MAX_S``, so a second voice the pause
    detection joined to the first's utterance still fills most of a piece. Each piece of at
    least ``ENROL_PIECE_MIN_S`` is embedded on its own speech frames (tiles of at most 1.5 s,
    averaged, as the diarizer embeds utterances), and compared with the speech-weighted mean of
    all other pieces (left out in turn)::

        speech   [== 2.0 ==][== 2.0 ==]  [= 1.6 =]  [== 1.9 ==][= 1.7 =]
        apart        0.12       0.14        0.41        0.13       0.15    -> 1.6 s piece: 0.41

    One embedding per piece, so a voice of a single 1-2 s answer is measured where the diarizer's
    windows (1.5 s, k-means on all of them) leave it inside the first voice's speech."""
    if sample_rate != GRID.sample_rate:
        raise InputError(f"sample_rate={sample_rate}: the voice check runs at {GRID.sample_rate} Hz; resample first")
    x = np.asarray(samples, dtype=np.float32)
    hop = GRID.hop_length
    n = len(x) // hop
    speech = speech_mask(x, DiarizeConfig().vad)[:n]
    idx = np.flatnonzero(speech)
    if len(idx) * GRID.hop_s > ENROL_PIECE_MAX_SPEECH_S:
        return None
    cut = np.flatnonzero(np.diff(idx) > 1) + 1
    pa, pb = [], []
    for a, b in zip(np.concatenate([[0], cut]), np.concatenate([cut, [len(idx)]])):
        k = max(1, math.ceil((b - a) / GRID.s_to_frames(ENROL_PIECE_MAX_S)))
        edges = np.linspace(a, b, k + 1).round().astype(np.int64)
        pa += list(edges[:-1])
        pb += list(edges[1:])
    keep = [i for i in range(len(pa)) if pb[i] - pa[i] >= GRID.s_to_frames(ENROL_PIECE_MIN_S)]
    if len(keep) < 2:
        return None
    pa, pb = np.asarray(pa)[keep], np.asarray(pb)[keep]
    frames = x[: n * hop].reshape(n, hop)
    rms = float(np.sqrt(np.mean(frames[speech] ** 2)))
    melc = mel_frames_at(x, idx, gain=10 ** (-30 / 20) / max(rms, 1e-9))  # as the encoder hears it (-30 dBFS)
    tiles = _utterance_tiles(VoiceEncoder.load(), melc, pa, pb)  # as the diarizer embeds an utterance
    emb = np.stack([tiles[int(a)].mean(axis=0) for a in pa]).astype(np.float64)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    wt = (pb - pa).astype(np.float64)
    total = (emb * wt[:, None]).sum(axis=0)
    dist = np.empty(len(pa))
    for i in range(len(pa)):
        rest = total - emb[i] * wt[i]
        dist[i] = 1.0 - float(emb[i] @ rest) / max(float(np.linalg.norm(rest)), 1e-12)
    i = int(np.argmax(dist))
    return float(dist[i]), float(idx[pa[i]] * GRID.hop_s), float((idx[pb[i] - 1] + 1) * GRID.hop_s)


def build_profile(samples: np.ndarray, *, sample_rate: int = GRID.sample_rate, name: str = THERAPIST) -> VoiceProfile:
    """Profile from a recording of one person alone: (n_samples,) or (n_samples, n_channels)."""
    x = audio_2d(samples).mean(axis=1)
    return profile_from_frames(x, speech=speech_mask(x, DiarizeConfig().vad), sample_rate=sample_rate, name=name)


@dataclass(frozen=True)
class Naming:
    """Names of diarized voices: ``names[k]`` is voice k's. ``assumption``: no
    profile decided it and ``rule`` states the default used."""

    names: tuple[str, ...]
    confidence: float
    rule: str
    assumption: bool
    distances: tuple[float, ...] = ()

    def to_dict(self) -> dict:
        return {"names": list(self.names), "confidence": round(self.confidence, 3), "rule": self.rule,
                "assumption": self.assumption, "profile_distances": [round(d, 4) for d in self.distances]}


def name_voices(d: Diarization, *, profile: VoiceProfile | None = None,
                names: tuple[str, str] = DEFAULT_NAMES) -> Naming:
    """Which voice of ``d`` is the therapist (``names[0]``); the other is ``names[1]``.

    With a profile: the voice whose centroid is nearer the profile; confidence
    grows with the margin between the two distances relative to the profile's
    spread; neither voice within ``LONE_VOICE_THERAPIST_WITHIN`` of the profile:
    the nearer is named, its confidence at most 0.5 and the rule says so. A lone
    voice is the therapist within ``LONE_VOICE_THERAPIST_WITHIN``, the client
    beyond ``client_bar``, between ``UNATTRIBUTED`` (the profile
    cannot tell; ``lone_voice_naming``). Without a profile:
    ``NO_PROFILE_RULE``. The one voice of a split withheld as unsure
    (``Diarization.unsure``) is ``UNATTRIBUTED``, with a profile or without.
    """
    t, c = names
    if d.n_voices == 0:
        return Naming((t, c), 0.0, "no speech", True)
    if d.unsure:  # its one voice may be both people's: no profile or rule makes it either (types.UNATTRIBUTED)
        return Naming((UNATTRIBUTED, c), 0.0, f"{UNSURE_NOTE}: the one voice kept is left {UNATTRIBUTED}, neither "
                      f"the {t} nor the {c}", False)
    if profile is not None:
        dist = tuple(profile.distance(v) for v in d.centroids)
        if d.n_voices == 1:
            who, conf, rule = lone_voice_naming(dist[0], profile, names=names, what="the one voice")
            if who is None:  # neither the therapist nor the client: its speech is nobody's (types.UNATTRIBUTED)
                return Naming((UNATTRIBUTED, c), 0.0, f"{rule}; its speech is left {UNATTRIBUTED}", False, dist)
            return Naming((t, c) if who == 0 else (c, t), conf, rule, False, dist)
        k = int(np.argmin(dist))
        margin = abs(dist[0] - dist[1])
        conf = float(min(1.0, 0.5 + margin / max(0.1, 2.0 * profile.spread)))
        nm = (t, c) if k == 0 else (c, t)
        rule = f"voice profile: voice {k + 1} is {margin:.2f} closer to the enrolled {t}"
        if min(dist) > LONE_VOICE_THERAPIST_WITHIN:  # neither voice near the enrolled one: not claimed confident
            return Naming(nm, min(conf, 0.5), f"{rule}, but neither voice lies near it (within "
                          f"{LONE_VOICE_THERAPIST_WITHIN:.2f})", False, dist)
        return Naming(nm, conf, rule, False, dist)
    if d.n_voices == 1:
        return Naming((t, c), 0.5, f"{NO_PROFILE_RULE} (one voice found)", True)
    return Naming((t, c) if _heard_first(d) == 0 else (c, t), 0.5, NO_PROFILE_RULE, True)


FIRST_VOICE_MIN_S = 1.0  # speech of its own a voice needs to count as heard first (name_voices)


def _heard_first(d: Diarization) -> int:
    """The voice heard first: the first to have spoken ``FIRST_VOICE_MIN_S`` alone (frames only
    it holds), else the voice of the first active frame. Not simply the first active frame: mains
    hum at -35 dBFS passed the first 0.3 s of a recording as speech of the other voice, which
    named the voices the wrong way round on 8 of 12 espeak mono and shared dialogues (the hum's
    frames before the first word given to the voice that did not speak there)."""
    act = np.asarray(d.activity, bool)
    alone = act & ~act[:, ::-1]
    need = d.grid.s_to_frames(FIRST_VOICE_MIN_S)
    reached = [np.flatnonzero(np.cumsum(alone[:, k]) >= need) for k in (0, 1)]
    when = [r[0] if len(r) else np.inf for r in reached]
    if np.isfinite(min(when)):
        return int(np.argmin(when))
    first = np.flatnonzero(act.any(axis=1))
    return int(np.argmax(act[first[0]])) if len(first) else 0


def noise_floor_db(mono: np.ndarray, speech: np.ndarray) -> float:
    """The noise floor of ``mono`` (dBFS): the median level of its 10 ms frames
    outside ``speech`` ((n_frames,) bool; the 5th percentile of all frames when
    there are fewer than 20 such), within -90..-40 dBFS."""
    hop = GRID.hop_length
    n = min(len(mono) // hop, len(speech))
    if n == 0:
        return -90.0
    return _floor_of_levels(_frame_levels_db(mono, n, offset=pause_dc(mono, speech[:n])), speech[:n])


def _floor_of_levels(lv: np.ndarray, speech: np.ndarray, *, hear_gain_db: float = 0.0) -> float:
    """``noise_floor_db`` from the frames' levels ``lv`` (n,) dBFS and ``speech`` (n,) bool (its bounds
    ``hear_gain_db`` lower: a quiet recording's, ``Attribution.hear_gain_db``)."""
    quiet = lv[~speech]
    floor_db = float(np.median(quiet)) if len(quiet) >= 20 else float(np.percentile(lv, 5.0))
    return _bounded_floor(floor_db, hear_gain_db)


FILL_MIN_DB = -90.0       # a fill's level at least this (dBFS): pauses of digital silence get a floor to gate against
REAL_FLOOR_MIN_DB = -105.0  # ... unless the pauses hold noise between this and it, which the fill then matches


def _bounded_floor(floor_db: float, hear_gain_db: float = 0.0) -> float:
    """A pause floor (dBFS) held to ``FILL_MIN_DB``..-40 dBFS (both ``hear_gain_db`` lower), but one of real noise
    under ``FILL_MIN_DB``, down to ``REAL_FLOOR_MIN_DB`` (a 16-bit file's own rounding noise lies at -101 dBFS),
    kept as measured: raised to -90 dBFS there, the fill stood 10 dB over the voice's own pauses on its channel,
    over the speech detector's 9 dB gate, and was heard as speech in every gap (mono mixes over noise at -100
    dBFS: the waits 0.01 s for 0.23 planted; docs/store.md, hostile sweep 22's leftovers, "Left")."""
    lo, hi = FILL_MIN_DB - hear_gain_db, -40.0 - hear_gain_db
    if REAL_FLOOR_MIN_DB - hear_gain_db <= floor_db < lo:
        return float(floor_db)
    return float(np.clip(floor_db, lo, hi))


def _frame_levels_db(mono, n: int, *, offset: float = 0.0) -> np.ndarray:
    """(n,) float64 levels (dBFS) of the first ``n`` 10 ms frames of ``mono`` (framing.rms_db rounds
    to float32: the fill's level, and so its noise, would move), ``offset`` (``pause_dc``) taken out."""
    return 10 * np.log10(frame_mean_square(frame_rows(mono, n, GRID.hop_length), np.float64, offset=offset) + 1e-20)


PAUSE_DC_MIN = 1e-5  # a DC in the pauses under -100 dBFS is left in (none of a recording's floors lie there)
# nor one this far under the pauses' own noise: the fill's level within 1 dB of theirs (AMI's pauses: a DC 9-18 dB
# under their noise, left in; the fill within 0.5 dB)
PAUSE_DC_MIN_RE_NOISE_DB = -6.0
_PAUSE_DC_FRAMES = 4000  # pause frames whose means give it (spread over the recording, as noise_shape's)


def pause_dc(mono, speech: np.ndarray) -> float:
    """The DC offset ``mono``'s pauses sit at (the median of the means of its 10 ms frames outside
    ``speech``), or 0.0 under ``PAUSE_DC_MIN``, more than 6 dB under the pauses' own noise
    (``PAUSE_DC_MIN_RE_NOISE_DB``) or with fewer than 20 pause frames. The fill stands in
    for a voice's silence on a channel the pipeline hears through its DC blocker (``iir.DcBlocker``),
    so its floor is the pauses' level without their DC: with it, a mix whose pauses sit at a DC of
    6e-4 (-64 dBFS; ``speaker_channels.remove_dc`` leaves a mean under 1e-3 in, and takes a louder
    voice's own mean of 1.2e-3 out of a recording's digital silence, putting it there) and whose
    noise lies under -80 dBFS was filled at -64 dBFS, 16-30 dB over the silence the pipeline heard
    on the same channel: 366 and 469 frames of fill heard as speech, the therapist's wait -0.03 s for
    a planted +0.62, 3 client talk-overs for 1 (hostile sweep 22)."""
    hop = GRID.hop_length
    n = min(len(mono) // hop, len(speech))
    quiet = np.flatnonzero(~np.asarray(speech[:n], bool))
    if len(quiet) < 20:
        return 0.0
    rows = np.asarray(frame_rows(mono, n, hop)[quiet[:: max(1, len(quiet) // _PAUSE_DC_FRAMES)]], np.float64)
    dc = float(np.median(rows.mean(axis=1)))
    noise = float(np.median(rows.std(axis=1)))  # the pauses' level without their DC
    if abs(dc) < PAUSE_DC_MIN or abs(dc) < noise * 10 ** (PAUSE_DC_MIN_RE_NOISE_DB / 20):
        return 0.0  # nothing the fill's level or a step would show: the channels as they were, bit for bit
    return dc


LOCAL_FLOOR_SPAN_S = 5.0       # the pauses either side of a fill piece that give its local floor
LOCAL_FLOOR_MAX_DEV_DB = 6.0   # a local floor this far under the recording's is used instead of it
LOCAL_FLOOR_MIN_PAUSE_S = 1.0  # pause frames needed for a local floor
# where the recording's floor is raised to FILL_MIN_DB (``_fill_floors``), a piece's pauses this near it, if quieter
# than those within LOCAL_FLOOR_SPAN_S: a floor stepping up was filled at the step's level up to 5 s before it
# (hostile sweep 25: benchmarks/noise_step.py --shapes 18 -> 19 of 30, halves 25 of 30 row for row)
NEAR_FLOOR_SPAN_S = 1.0
NEAR_FLOOR_MIN_PAUSE_S = 0.3
# in a room (``room_tails`` found one), a fill piece at most this over the quietest of the pieces within the VAD
# floor's window before it (``VadConfig.floor_window_s``) where its pauses' quietest frames
# (``PAUSE_QUIET_PERCENTILE``) do not rise with it: the channel's floor stays near that piece's fill through the
# window, and the fill's loudest 10 ms frames, 3 dB over its level as the VAD hears it in pauses shaped by a
# room's tails, stay under the floor's 9 dB gate (``VadConfig.gate_db``). A rise of 6.4 dB, from a lead-in's own
# floor to the recording's, passed five fill frames as speech (AMI tst00 s5 at RT60 1.0 s: the therapist's turn
# read 1.15 s on; seventy-second round). Not where no room is found: noise that steps up (benchmarks/noise_step.py
# --shapes) held under its own pauses, 17 -> 15 of 30
FILL_RISE_MAX_DB = 3.0
PAUSE_QUIET_PERCENTILE = 10.0  # the pauses' quietest level, as the VAD floor's (``VadConfig.floor_percentile``)


def local_floors_db(mono, speech: np.ndarray, *, floor_db: float) -> np.ndarray | None:
    """Per piece of the fill (``_FILL_CHUNK`` samples) the noise floor to fill it at: the median
    level of the pauses within ``LOCAL_FLOOR_SPAN_S`` of it where that lies more than
    ``LOCAL_FLOOR_MAX_DEV_DB`` under the recording's ``floor_db`` (``noise_floor_db``), else
    ``floor_db`` itself; None where every piece keeps ``floor_db`` (the fill unchanged, bit for
    bit). Only quieter: a fill louder than the pauses around it is what is heard as speech; a
    noisier stretch (AMI dev00: 6 of 30 pieces 6-8 dB over its floor) keeps the recording's.
    A floor that changes within a session (a noisy lead-in, a fan turned off) had the fill at
    the recording's median floor everywhere: 60 s of -50 dBFS noise before a quiet dialogue
    filled its voices' silent frames 40 dB above its own pauses, heard as speech (the
    fixture's mono mix: 7 speaker changes for 14; docs/speakers.md, twenty-seventh round)."""
    n = min(len(mono) // GRID.hop_length, len(speech))
    if n == 0:
        return None
    lv = _frame_levels_db(mono, n, offset=pause_dc(mono, speech[:n]))
    return _local_floors(_stretch_medians(lv, speech[:n], len(mono)), floor_db)


def _fill_floors(mono, speech: np.ndarray, *, hear_gain_db: float = 0.0, levels: bool = False,
                 room: bool = False) -> tuple:
    """(``noise_floor_db``, ``local_floors_db``) of ``mono``, its frames' levels taken once; a quiet
    recording's (``Attribution.hear_gain_db``) bounded ``hear_gain_db`` lower, as its raised copy's are. A
    recording floor under ``FILL_MIN_DB`` kept as measured (``_bounded_floor``) is raised to it all the same where
    a stretch's pauses lie over it (a floor stepping within the file: the median of the pauses, the quieter
    stretch's, filled the noisier stretch 14 dB under its own pauses; hostile sweep 24): the quieter stretches
    then get their own floors (``local_floors_db``), as before the band was kept, each from its pauses within
    ``NEAR_FLOOR_SPAN_S`` where those are quieter (a piece before a step up took the step's floor), and a long
    turn's pieces the quieter of their neighbours' (``_nearest_medians``). ``room``: the recording shows a room's
    tails (``room_tails``), and the floors' rises are held (``_rise_held``). ``levels``: the frames' levels (dBFS,
    None where there are none) too, third."""
    n = min(len(mono) // GRID.hop_length, len(speech))
    if n == 0:
        return (-90.0 - hear_gain_db, None) + ((None,) if levels else ())
    lv = _frame_levels_db(mono, n, offset=pause_dc(mono, speech[:n]))
    floor_db = _floor_of_levels(lv, speech[:n], hear_gain_db=hear_gain_db)
    medians = _stretch_medians(lv, speech[:n], len(mono))
    lo = FILL_MIN_DB - hear_gain_db
    if floor_db < lo and any(m is not None and m >= lo for m in medians):
        floor_db = lo
        near = _stretch_medians(lv, speech[:n], len(mono), span_s=NEAR_FLOOR_SPAN_S,
                                min_pause_s=NEAR_FLOOR_MIN_PAUSE_S)
        medians = _nearest_medians([c if m is None or (c is not None and c < m) else m for m, c in zip(medians, near)])
    out = floor_db, _local_floors(medians, floor_db, hear_gain_db=hear_gain_db,
                                  quietest=_quietest(lv, speech[:n], len(mono)) if room else None)
    return out + ((lv,) if levels else ())


def _quietest(lv: np.ndarray, speech: np.ndarray, n_samples: int) -> list[float | None]:
    """Per fill piece, its pauses' quietest level (dBFS): the ``PAUSE_QUIET_PERCENTILE``th percentile of those
    from its middle to ``LOCAL_FLOOR_SPAN_S`` on (a step up in the noise shows there from the step on; None where
    they are fewer than ``NEAR_FLOOR_MIN_PAUSE_S``); from the frames' levels ``lv`` (n,) and ``speech`` (n,)
    bool."""
    return _stretch_medians(lv, speech, n_samples, min_pause_s=NEAR_FLOOR_MIN_PAUSE_S,
                            percentile=PAUSE_QUIET_PERCENTILE, ahead=True)


def _nearest_medians(medians: list[float | None]) -> list[float | None]:
    """``medians`` (``_stretch_medians``) with each piece of too few pauses of its own (None: a long turn) given
    the quieter of its nearest neighbours' that have some (a fill over its pauses is what is heard,
    ``_local_floors``). Where a floor steps over ``FILL_MIN_DB`` and the recording's is raised to it
    (``_fill_floors``), such a piece took the raised floor: a long turn over pauses at -100 dBFS, its fill 10 dB
    over them, was heard as the other voice's speech (hostile sweep 25; benchmarks/noise_step.py --shapes: 16 ->
    18 of 30 right, 19 with ``NEAR_FLOOR_SPAN_S``; the nearer neighbour's alone as many on a probe, two others)."""
    have = [i for i, m in enumerate(medians) if m is not None]
    out = list(medians)
    for i, m in enumerate(medians):
        if m is None:
            k = bisect.bisect(have, i)
            out[i] = min(medians[j] for j in have[max(0, k - 1):k + 1])
    return out


def _stretch_medians(lv: np.ndarray, speech: np.ndarray, n_samples: int, *, span_s: float = LOCAL_FLOOR_SPAN_S,
                     min_pause_s: float = LOCAL_FLOOR_MIN_PAUSE_S,
                     percentile: float | None = None, ahead: bool = False) -> list[float | None]:
    """Per fill piece (``_FILL_CHUNK`` samples) of a signal of ``n_samples``, the median level (dBFS) of the
    pauses within ``span_s`` of its middle (``ahead``: from its middle to ``span_s`` after it; ``percentile``:
    that percentile of them), None where they are fewer than ``min_pause_s``; from the frames' levels ``lv``
    (n,) and ``speech`` (n,) bool."""
    hop, n = GRID.hop_length, len(lv)
    pieces = -(-n_samples // _FILL_CHUNK)
    if n == 0:
        return []
    quiet = ~np.asarray(speech, bool)
    span, need = GRID.s_to_frames(span_s), GRID.s_to_frames(min_pause_s)
    out: list[float | None] = []
    for i in range(pieces):
        mid = (i * _FILL_CHUNK + _FILL_CHUNK // 2) // hop
        a, b = mid if ahead else max(0, mid - span), min(n, mid + span)
        q = lv[a:b][quiet[a:b]]
        if len(q) < need:
            out.append(None)
        else:
            out.append(float(np.median(q) if percentile is None else np.percentile(q, percentile)))
    return out


def _local_floors(medians: list[float | None], floor_db: float, *, hear_gain_db: float = 0.0,
                  quietest: list[float | None] | None = None) -> np.ndarray | None:
    """``local_floors_db`` from the fill pieces' pause medians (``_stretch_medians``); given the pauses'
    ``quietest`` levels (``_quietest``), a rise held where they do not rise with it (``_rise_held``)."""
    if not medians:
        return None
    out = np.full(len(medians), floor_db)
    for i, m in enumerate(medians):
        if m is not None:
            local = _bounded_floor(m, hear_gain_db)
            if local < floor_db - LOCAL_FLOOR_MAX_DEV_DB:  # only quieter: a fill above its surroundings is heard
                out[i] = local
    if np.all(out == floor_db):
        return None
    return out if quietest is None else _rise_held(out, quietest)


def _rise_held(floors_db: np.ndarray, quietest: list[float | None]) -> np.ndarray:
    """``floors_db`` (per fill piece, dBFS) each held to ``FILL_RISE_MAX_DB`` over the quietest of the pieces
    (as held) within the VAD floor's window before it, or over its pauses' ``quietest`` level (dBFS; None: too
    few pauses to tell, not held) where that is louder. A fill stepping up stood over the floor its quieter
    pieces gave its channel, and its loudest frames passed the gate as speech, where only the upper part of the
    pauses' levels rose (a room's tails in them); where their quietest frames rise too the noise itself got
    louder, and a fill held under it lets the pauses its channel keeps pass (hostile sweep 24)."""
    window = -(-GRID.s_to_frames(VadConfig().floor_window_s) * GRID.hop_length // _FILL_CHUNK)
    out = floors_db.copy()
    for i in range(1, len(out)):
        if quietest[i] is not None:
            out[i] = min(out[i], max(out[max(0, i - window):i].min(), quietest[i]) + FILL_RISE_MAX_DB)
    return out


def floor_fill(mono: np.ndarray, speech: np.ndarray, *, seed: int = 0,
               floor_db: float | None = None) -> np.ndarray:
    """(n_samples,) float32 noise at the noise floor of ``mono`` (``noise_floor_db``,
    or ``floor_db`` where the caller has it already), with the spectrum of ``mono``'s
    own pauses (``noise_shape``): what a speaker channel carries where its voice does
    not speak. Seeded, so the same input gives the same channels.

    White noise at that level, as the fill once was, is not the room's noise: against
    a room's hum or fan (most of its power low, below the voice activity's 150 Hz
    high-pass) it stands several dB above the channel's own pauses in the voice
    activity's ear: it raised the channel's floor estimate, and in a trial of a gate
    that comes down in noise on these channels it passed as speech (AMI dev01 in pink
    noise 15 dB under the speech: 543 frames of fill called the therapist's speech;
    docs/speakers.md, twentieth round; the gate stays fixed here)."""
    return _FillStream(mono, speech, seed=seed, floor_db=floor_db).take(len(mono))


class _FillStream:
    """``floor_fill``'s noise made in order, piece by piece: ``take(n)`` gives its next
    ``n`` samples (float32), the same values as the whole array's, so that an hour's
    fill is never held at once (``Attribution.voice_blocks``)."""

    def __init__(self, mono: np.ndarray, speech: np.ndarray, *, seed: int, floor_db: float | None = None,
                 floors_db: np.ndarray | None = None):
        self._left = len(mono)
        self._silent = min(len(mono) // GRID.hop_length, len(speech)) == 0
        self._ready = np.zeros(0, np.float32)
        self._piece_i = 0
        # per piece, where the floor changes within the recording (``local_floors_db``)
        self._levels = None if floors_db is None else [np.float32(10 ** (f / 20)) for f in floors_db]
        if self._silent:
            return
        self._level = np.float32(10 ** ((noise_floor_db(mono, speech) if floor_db is None else floor_db) / 20))
        self._rng = np.random.default_rng(seed)
        gain = noise_shape(mono, speech)
        self._fine = None if gain is None else \
            np.sqrt(np.interp(np.fft.rfftfreq(_FILL_CHUNK), np.fft.rfftfreq(GRID.hop_length), gain))

    def _piece(self) -> np.ndarray:
        """The next ``_FILL_CHUNK`` samples (fewer at the end): independent chunks of one
        stationary noise, each white noise filtered to the pauses' spectrum."""
        k = min(_FILL_CHUNK, self._left)
        self._left -= k
        if self._silent:
            return np.zeros(k, np.float32)
        white = self._rng.standard_normal(k, dtype=np.float32)
        if self._fine is not None:
            white = np.fft.irfft(np.fft.rfft(white, _FILL_CHUNK) * self._fine, _FILL_CHUNK)[:k].astype(np.float32)
        level = self._level if self._levels is None else self._levels[min(self._piece_i, len(self._levels) - 1)]
        self._piece_i += 1
        return white * level

    def take(self, n: int) -> np.ndarray:
        parts, have = [self._ready], len(self._ready)
        while have < n and self._left > 0:
            parts.append(self._piece())
            have += len(parts[-1])
        ready = np.concatenate(parts) if len(parts) > 1 else parts[0]
        self._ready = ready[n:]
        return ready[:n]


_FILL_CHUNK = 16384  # samples filtered at once by floor_fill


# ``room_tails``: tails with no step are cut too where their prediction residual shows no voice (fifty-second round)
_MIX_TAIL_KURTOSIS = True


def room_tails(mono, d: Diarization, *, max_s: float = VadConfig().tail_trim_max_s,
               highpass_hz: float = VadConfig().highpass_hz) -> np.ndarray | None:
    """(n_frames,) bool: the frames of the diarized mix ``mono`` that are a room's reverberant tail
    after a voice's direct sound ended (``vad.mix_tails`` on the mix's levels as the VAD hears them),
    or None where the session shows no room or ``max_s`` is 0.

    The VAD of a voice's channel heard the tail as speech 9-18 dB into its fall: every turn end in a
    room read late (+50-180 ms at RT60 0.2-1.0 s; docs/speakers.md, forty-eighth round). Found on the
    mix, before the channels are cut: an end that the diarizer's mask put early is not cut again (the
    trim on the channels themselves did; forty-ninth round)."""
    return _room_tails_levels(mono, d, max_s=max_s, highpass_hz=highpass_hz)[0]


def _room_tails_levels(mono, d: Diarization, *, max_s: float,
                       highpass_hz: float) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``room_tails`` and the mix's levels it read them from ((n_frames,) dBFS as the VAD hears them; None where
    nothing was read)."""
    n = d.n_frames
    k = GRID.s_to_frames(max_s)
    if n == 0 or k <= 0:
        return None, None
    lv = _vad_levels_db(mono, n, highpass_hz=highpass_hz)
    return mix_tails(lv, d.speech, d.owner, max_frames=k, signal=mono if _MIX_TAIL_KURTOSIS else None), lv


def _onsets_heard_apart(mono, d: Diarization, owner: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """(n,) ``moved`` (``onsets_after_tails``' owner) with each run it gave to the next voice kept only where the
    speech from the run's first frame and the speech before it lie at least the diarizer's ``separation`` apart
    (cosine distance; ``_ONSET_APART_S`` of speech frames each side, the same length, embedded as the diarizer
    embeds a window): a change of voice as large as the one between its two voices. Elsewhere ``owner`` (the
    diarizer's): the ending voice resuming after a pause the mask bridged, the diarizer's change there wrong
    (unseen_rooms' mp3 FEO072>M/MEE009 s472 mono, 27.48 s: 0.29 apart for a separation of 0.33; AMI tst00 s4 shared
    at RT60 0.7 s, 11.42 s, the next voice's: 0.49 for 0.37; docs/speakers.md, seventy-fourth round)::

        speech   ~~~~~~~~~~~~~~~~~ ___ ~~~~~~~~~~~~~~~~~~~   (a tail cut, the onset, the change)
        moved    000000000000000000000011111111111111111111
        before   |=====1 s========|                          the speech frames before the run
        onset                         |=====1 s=====|        from its first frame

    Fewer than ``_ONSET_APART_MIN_S`` of speech either side, or no separation measured: ``owner`` there."""
    own, out = np.asarray(owner), np.asarray(moved).copy()
    runs = np.flatnonzero(out != own)
    if len(runs) == 0:
        return out
    idx = np.flatnonzero(d.speech)
    w, need = GRID.s_to_frames(_ONSET_APART_S), GRID.s_to_frames(_ONSET_APART_MIN_S)
    for run in np.split(runs, np.flatnonzero(np.diff(runs) > 1) + 1):
        i = int(np.searchsorted(idx, run[0]))
        k = min(w, i, len(idx) - i)
        if k < need or not _speech_apart(mono, idx[i - k:i + k]) >= d.separation:
            out[run] = own[run]
    return out


def _speech_apart(mono, rows: np.ndarray) -> float:
    """Cosine distance between the embeddings of the first and the second half of the speech frames ``rows``
    ((2k,) ascending frame indices of ``mono``), the mel power read round them alone, at the gain that brings their
    speech to -30 dBFS (as the diarizer hears it)."""
    hop, k = GRID.hop_length, len(rows) // 2
    a = max(0, int(rows[0]) - _MEL_REACH_FRAMES)
    x = np.asarray(mono[a * hop:(int(rows[-1]) + 1 + _MEL_REACH_FRAMES) * hop], np.float32)
    r = rows - a
    rms = float(np.sqrt(np.mean(np.square(x[: (len(x) // hop) * hop].reshape(-1, hop)[r], dtype=np.float64))))
    mel = mel_frames_at(x, r, gain=10 ** (-30 / 20) / max(rms, 1e-9))
    e = VoiceEncoder.load().embed_windows(mel, starts=np.array([0, k]), n_frames=k).astype(np.float64)
    e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    return 1.0 - float(e[0] @ e[1])


# ``_onsets_heard_apart``: speech frames embedded either side of an onset: the diarizer's shorter window
# (``DiarizeConfig.finer_window_s``), the least it tells a voice in; under half of it neither side is read
_ONSET_APART_S = 1.0
_ONSET_APART_MIN_S = 0.5
# a mel frame's 25 ms window reaches this many 10 ms frames either side of its centre (``mel_frames``: 2)
_MEL_REACH_FRAMES = math.ceil(N_FFT / 2 / GRID.hop_length)


def _vad_levels_db(mono, n: int, *, highpass_hz: float = VadConfig().highpass_hz, chunk: int = 6000) -> np.ndarray:
    """(n,) levels (dBFS) of the first ``n`` 10 ms frames of ``mono`` high-passed as ``RawVad`` hears them
    (``highpass_hz``: ``VadConfig.highpass_hz``, 4th order, causal), read ``chunk`` frames at a time."""
    hop = GRID.hop_length
    sos = butter_highpass_sos(4, highpass_hz, sample_rate=GRID.sample_rate)
    zi = np.zeros((sos.shape[0], 2))
    rows = frame_rows(mono, min(n, len(mono) // hop), hop)
    out = []
    for a in range(0, len(rows), chunk):
        fr = np.asarray(rows[a:a + chunk], np.float32)
        y, zi = sosfilt(sos, fr.reshape(-1), zi)
        out.append(rms_db(y.reshape(fr.shape)))
    lv = np.concatenate(out) if out else np.zeros(0, np.float32)
    return np.concatenate([lv, np.full(n - len(lv), -120.0, np.float32)]) if len(lv) < n else lv


def noise_shape(mono: np.ndarray, speech: np.ndarray) -> np.ndarray | None:
    """Power spectrum of ``mono``'s pauses (the median over its 10 ms frames outside
    ``speech`` of each bin's power, Hann window), scaled to mean 1: (hop_length // 2 + 1,)
    float64, or None (flat) with fewer than 20 pause frames or none of them above
    digital silence."""
    hop = GRID.hop_length
    n = min(len(mono) // hop, len(speech))
    quiet = np.flatnonzero(~speech[:n])
    if len(quiet) < 20:
        return None
    frames = frame_rows(mono, n, hop)[quiet[:: max(1, len(quiet) // 4000)]].astype(np.float64) - pause_dc(mono, speech)
    p = np.median(np.abs(np.fft.rfft(frames * np.hanning(hop), axis=1)) ** 2, axis=0)
    if not np.all(np.isfinite(p)) or p.mean() <= 1e-20:
        return None
    return np.maximum(p / p.mean(), 1e-6)


def swap_names(n: Naming) -> Naming:
    """The two voices' names exchanged (``prosody relabel``)."""
    return replace(n, names=tuple(reversed(n.names)), rule=f"{n.rule}; swapped by the user",
                   assumption=False, confidence=1.0)


# --------------------------------------------------------------------------- attribution


@dataclass(frozen=True)
class Attribution:
    """How speakers were attributed in one recording.

    ``speakers``: output channel names in order (therapist first).
    ``channel_picks``: for a separate layout, the input channel of each speaker.
    """

    layout: str
    layout_report: LayoutReport
    speakers: tuple[str, ...]
    method: str
    diarization: Diarization | None = None
    naming: Naming | None = None
    channel_picks: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    inverted: bool = False  # channel 2 taken in opposite polarity before the channels are mixed
    live_channel: int | None = None  # 0-based: the one channel diarized when the other is silent
    voices_told: int | None = None  # how many voices the user said speak (``--voices``), where diarized
    # two voices: a room's tail after a voice's direct sound is cut from their channels, the end moved back by at
    # most this (``room_tails``; 0 turns it off): the user's ``vad.tail_trim_max_s``, which bounds the trim on
    # separate microphones too, and ``vad.highpass_hz``, as the VAD hears the levels (``with_vad``)
    tail_trim_max_s: float = VadConfig().tail_trim_max_s
    tail_highpass_hz: float = VadConfig().highpass_hz
    # a quiet recording's voices are heard raised by this much (``VadConfig.hear_gain_db``,
    # ``engine.vad.hearing_gain_db``): the fill's bounds lie as much lower (``_fill_floors``)
    hear_gain_db: float = 0.0
    # separate channels as the user insisted (``--layout separate``) over a recording found shared: both carry
    # both voices, each taken for the other's leak (``session.silent_speaker_warnings(channels_alike=)``)
    channels_alike: bool = False

    def with_vad(self, vad: VadConfig | None) -> "Attribution":
        """This attribution with the room-tail trim of the user's VAD settings (None: the defaults)."""
        if vad is None:
            return self
        return dataclasses.replace(self, tail_trim_max_s=vad.tail_trim_max_s, tail_highpass_hz=vad.highpass_hz)

    @property
    def channels_swapped(self) -> bool:
        """Separate channels taken the other way round by a voice profile (``name_channels``):
        the therapist on channel 2 (``--channels`` is not this: it sets the layout itself)."""
        return self.layout == "separate" and self.naming is not None and self.channel_picks == (1, 0)

    def mix(self, audio: np.ndarray) -> np.ndarray | ChannelMean:
        """(n_samples,) float: the one signal a shared or mono recording's voices are cut
        from: the live channel where the other is silent (``live_channel``), else the
        channels' in-phase mean, of two or more channels a ``ChannelMean`` (read piece by
        piece: an hour of stereo's mean is not held beside it)."""
        x = audio_2d(audio)
        if self.live_channel is not None:
            return x[:, self.live_channel]
        x = in_phase(x, self.inverted)
        return ChannelMean(x) if x.shape[1] > 1 else x[:, 0]

    def channels(self, audio: np.ndarray) -> np.ndarray:
        """(n_samples, len(speakers)) float32 speaker channels for the pipeline.

        Separate: the picked input channels. Shared / mono: the channel mean,
        kept where the speaker's voice owns the frame and silent elsewhere
        (pauses split at their middle). Frames both voices own (overlapped
        speech) carry the mixture at half its amplitude (``OVERLAP_SHARE_GAIN``,
        -6 dB): one voice's share of two, so a listener's backchannel in
        overlap is not heard louder than their own speech level just because
        the holder's voice is in the same frames (``overlap_cues.is_floor_bid``
        would call it a floor bid). The level was chosen on the tune split of
        benchmarks/diarization.py (-3 dB kept 5 of 24 backchannels fewer).
        A listener's excursion inside the holder's speech (``overlap_gains``: up
        to ``LISTENER_EXCURSION_MAX_S``, overlapped frames and any the diarizer
        gave the listener alone) gives the listener ``LISTENER_OVERLAP_GAIN``
        (-10.5 dB) on all its frames: the diarizer cannot measure the
        listener's share of the mixture, and at -6 dB an equally loud "mm hmm"
        read at -3..+2 dB re the listener's own level, so ``is_floor_bid`` called
        planted backchannels of >= 3 nuclei and >= 0.5 s floor bids (the nuclei,
        too, are the mixture's); at -10.5 dB such a short overlap is decided by
        its length, as timing alone would. Backchannel precision / recall on
        tune, dev: 0.86 / 0.75, 0.84 / 0.64 -> 0.87 / 0.83, 0.89 / 0.76 on the
        overlapped run alone (-14 dB: the same); over the whole excursion, with
        ``DiarizeConfig.second_look_nats``: 0.88 / 0.96, 0.90 / 0.83. Where the mix's levels
        say the listener holds more of the excursion's energy than that (``listener_share``: the
        holder's own level around it taken out), the listener's gain is raised to its share, 5 dB
        down (``LISTENER_SHARE_MARGIN_DB``): a failed interruption spoken over the holder is not read
        as a soft backchannel (docs/speakers.md, fifty-ninth round).

        "Silent" is the recording's own noise floor (``floor_fill``), not digital
        zeros: the pipeline's VAD gates each channel against a running noise floor
        that leaves digital silence out, so a channel of speech and zeros had a
        floor inside the speech (the owned pauses are few) and lost quiet speech
        and whole short turns (AMI dialogues: 7 of 13 speaker changes found with
        every frame attributed right)."""
        x = audio_2d(audio)
        if self.diarization is None:
            return np.ascontiguousarray(x[:, list(self.channel_picks)], dtype=np.float32)
        mono = self.mix(x)
        out = np.empty((len(mono), len(self.speakers)), dtype=np.float32)
        a = 0
        for block in self.voice_blocks(mono):
            out[a:a + len(block)] = block
            a += len(block)
        return out

    def voice_blocks(self, mono: np.ndarray, *, block_samples: int = 2 * GRID.sample_rate):
        """``channels`` of a diarized recording made block by block from its mix ``mono``
        (``mix``): (<= block_samples, len(speakers)) float32 blocks in order, the same
        values, never the whole hour at once (the pipeline reads 2 s blocks)."""
        d = self.diarization
        hop = d.grid.hop_length
        order = [self.naming.names.index(s) for s in self.speakers]
        owner = np.asarray(d.owner)
        # a room's tail after a voice's direct sound (room_tails): nobody's speech, the fill on both voices' channels
        tails, tail_lv = _room_tails_levels(mono, d, max_s=self.tail_trim_max_s, highpass_hz=self.tail_highpass_hz) \
            if len(owner) and d.n_voices == 2 else (None, None)
        # the pauses the fill is measured on: not the digital silence the mix starts and ends with (a capture's
        # zeros before and after the playback are no noise floor; ``sounding``)
        pauses_of = sounding(mono, d.speech, GRID.hop_length)
        floor_db, floors, lv = _fill_floors(mono, pauses_of, hear_gain_db=self.hear_gain_db, levels=True,
                                            room=tails is not None)
        # the next voice's onset after a tail cut before the change is that voice's (onsets_after_tails), where
        # it is heard apart from the speech before it (_onsets_heard_apart)
        owner = _onsets_heard_apart(mono, d, owner, onsets_after_tails(tail_lv, owner, d.speech, tails))
        # per frame; samples past the last frame: the last owner, gain 1
        gains = overlap_gains(owner, d.speech, lv if OVERLAP_SHARE_MEASURED else None)
        # the voices are cut from the mix without the DC its pauses sit at (``pause_dc``): the fill between
        # a voice's frames has none, and the mix's DC made a step at every frame a voice's channel changed
        # from one to the other, heard through the pipeline's DC blocker as speech (a decaying transient)
        dc = np.float32(pause_dc(mono, pauses_of))
        # each voice's fill seeded by the voice (0: the voice heard first, as the rule without a profile names the
        # therapist), not by the name it is given: a voice's channel is the same whichever voice is the therapist,
        # so a session named by a voice profile and the same audio named by the rule and then relabelled hold the
        # same frames and figures (walk60: 179.56 / 179.60 Hz, synchrony -0.15 / -0.16); named by the rule, the
        # seeds are those of the names (the therapist's 0), as before
        first = _heard_first(d) if d.n_voices == 2 else 0
        fills = [_FillStream(mono, pauses_of, seed=int(k != first), floor_db=floor_db, floors_db=floors)
                 for k in order]
        for a in range(0, len(mono), block_samples):
            b = min(len(mono), a + block_samples)
            f = np.arange(a, b) // hop
            if len(owner):
                fi = np.minimum(f, len(owner) - 1)
                own, g = owner[fi], np.where((f < len(owner))[:, None], gains[fi], np.float32(1.0))
            else:
                own, g = np.zeros(b - a, np.int8), np.ones((b - a, 2), np.float32)
            out = np.empty((b - a, len(order)), np.float32)
            m = mono[a:b] if dc == 0.0 else np.asarray(mono[a:b], np.float32) - dc
            keep = None if tails is None else ~np.where(f < len(owner), tails[fi], False)
            for j, k in enumerate(order):
                fill = fills[j].take(b - a)
                heard = own != 1 - k if keep is None else (own != 1 - k) & keep
                out[:, j] = np.where(heard, g[:, k] * m, fill) if d.n_voices == 2 or k == 0 else fill
            yield out

    def to_dict(self) -> dict:
        """The JSON ``sources`` record: layout and how speakers were attributed."""
        out = {"layout": self.layout, "layout_detection": self.layout_report.to_dict(),
               "attribution": self.method, "speakers": list(self.speakers)}
        if self.diarization is not None:
            d = self.diarization
            out["diarization"] = {"voices": d.n_voices, "separation": None if d.separation != d.separation
                                  else round(d.separation, 4), "voice_share": [round(v, 3) for v in d.voice_share],
                                  "method": d.method}
            if self.voices_told is not None:
                out["diarization"]["voices_told"] = self.voices_told
            if d.heard_two is not None:  # one voice told, two in the audio: (separation, the second's share)
                out["diarization"]["heard_two"] = {"separation": round(d.heard_two[0], 4),
                                                   "second_share": round(d.heard_two[1], 3)}
            if d.told_seed is not None:  # the one utterance that seeded the second voice told (start_s, end_s)
                out["diarization"]["told_seed_s"] = [round(t, 2) for t in d.told_seed]
            if d.unsure:  # a split in two withheld (diarize.split_unsure): the share its second voice held
                out["diarization"]["unsure"] = True
                out["diarization"]["unsure_split_share"] = round(d.unsure_share, 3)
            son = d.speech_over_noise_db
            out["diarization"]["speech_over_noise_db"] = None if son != son else round(son, 1)
            band = d.speech_high_band_db
            out["diarization"]["speech_high_band_db"] = None if band != band else round(band, 1)
            if d.more_voices:
                out["diarization"]["voices_more_than_two"] = True
                out["diarization"]["voices_estimate"] = d.more_voices
                if self.naming is not None:
                    out["diarization"]["mixed_voices"] = [self.naming.names[k] for k in (0, 1) if d.mixed[k]]
        if self.naming is not None:
            out["naming"] = self.naming.to_dict()
        if self.channel_picks:
            out["channels"] = {s: c + 1 for s, c in zip(self.speakers, self.channel_picks)}
        if self.live_channel is not None:
            out["channel_used"] = self.live_channel + 1
        if self.inverted:
            out["channel_2_inverted"] = True
        out["warnings"] = list(self.warnings)
        return out


# ``--voices 1`` where the channels are found separate (one person each): said, not used
ONE_TOLD_SEPARATE = ("--voices 1 is not used: the channels were read as separate, one person each (--layout mono "
                     "reads them as one voice)")


def attribute(audio: np.ndarray, *, sample_rate: int = GRID.sample_rate, layout: str = "auto",
              profile: VoiceProfile | None = None, channels: dict[str, int] | None = None,
              config: DiarizeConfig | None = None, names: tuple[str, str] = DEFAULT_NAMES,
              voices: int | None = None) -> Attribution:
    """Find the layout (``layout="auto"``) or take the override, then attribute speakers.

    ``voices``: how many people speak on a shared or mono recording, as the user said
    (``--voices``; None: found from the audio). Two voices told are told apart where the audio
    alone would take them for one voice in pieces (two alike voices: ``diarize``'s
    ``n_voices``), with a warning where they lie closer than voices found unprompted; where no
    split holds up even so, one voice, and a warning says why. One told is one voice. Separate
    channels carry one person each whatever it says.

    ``channels``: ``--channels`` mapping (speaker -> 0-based channel); for a
    separate layout it picks the channels (default: channel 1 therapist,
    channel 2 client); when the audio is shared or mono it is contradicted
    and a warning says so.

    One channel silent (``detect_layout``: digital silence, or no speech of its own:
    hiss, hum), or >= 15 dB quieter on almost all speech with no second level
    mode (every voice that much quieter there: a far microphone, a copy), is
    found "separate" by its levels alone, which only guesses that one person
    spoke: one microphone on one input of a two-input recorder carries both.
    Found (not asked for), the loud channel is diarized
    on its own: two voices there make the layout mono on that channel
    (``Attribution.live_channel``, ``channel_used`` in the JSON); one voice keeps
    the separate reading.
    """
    if layout not in ("auto",) + LAYOUTS:
        raise InputError(f"layout={layout!r}; use auto, separate, shared or mono")
    if voices not in (None, 1, 2):
        raise InputError(f"voices={voices!r}: give 1 or 2 (how many people speak), or leave it to the audio")
    x = audio_2d(audio)
    first = detect_layout(x, sample_rate=sample_rate, probe_s=60.0)
    report = confirm_layout(x, first=first, sample_rate=sample_rate) if len(x) > 60 * sample_rate else first
    warnings = []
    corr = report.evidence.get("corr")
    inverted = x.shape[1] >= 2 and corr is not None and corr <= INVERTED_MAX_CORR
    if inverted:  # their mean would cancel the voices: channel 2 is taken the other way round
        warnings.append(f"channel 2 is in opposite polarity to channel 1 (waveform correlation {corr:.2f}): it is "
                        "inverted before the channels are mixed (a microphone wired the other way round)")
        x = in_phase(x, True)
    used = report.layout if layout == "auto" else layout
    if used == "separate" and x.shape[1] < 2:
        raise InputError("layout=separate needs two channels; this audio has one: use --layout mono")
    if layout != "auto" and layout != report.layout:
        warnings.append(f"--layout {layout} overrides the detected layout ({report.layout}: {report.reason})")
    if channels and report.layout != "separate" and layout == "auto":
        warnings.append(check_channels_claim(report))
    d, live = None, None
    quiet = report.evidence.get("silent_channel") or report.evidence.get("quiet_channel")
    if layout == "auto" and used == "separate" and quiet:
        # one channel silent, or quieter by as much on every voice: "one voice speaking" is only a guess;
        # one microphone on one input of a two-input recorder, or a second one far from both people,
        # carries both. The loud channel's voices decide (never a --layout separate asked for)
        live = 2 - int(quiet)
        d = diarize(x[:, live], sample_rate=sample_rate, config=config, n_voices=voices)
        if d.n_voices == 2 or d.unsure:
            # two voices there; or a split withheld as unsure (the one voice may be both people's: read as one
            # channel, its voice left unattributed, never the channel's speaker by --channels)
            carries = ("carries two voices: they are told apart on that channel alone" if d.n_voices == 2 else
                       "may carry two voices: who spoke when on it is unsure")
            report = replace(report, layout="mono", reason=f"{report.reason.split(': separate')[0]}, and channel "
                             f"{live + 1} {carries}", evidence={**report.evidence, "live_channel": live + 1})
            used = "mono"
            if channels:
                warnings.append(check_channels_claim(report))
        elif profile is not None and not channels and name_voices(d, profile=profile, names=names).names[0] == \
                UNATTRIBUTED:
            # one voice alone, neither near the profile nor clearly another's: its speech is nobody's, as a lone
            # diarized voice's is (hostile sweep 21); it was read in the default order, channel 1 the therapist,
            # said uncertain (older leftovers, 2026-12-05). --channels names the channels: kept as given
            report = replace(report, layout="mono", reason=f"{report.reason.split(': separate')[0]}, and channel "
                             f"{live + 1} speaks alone, a voice the profile cannot name",
                             evidence={**report.evidence, "live_channel": live + 1})
            used = "mono"
        else:
            d, live = None, None
    lag_ms = report.evidence.get("copy_lag_ms")
    if lag_ms is not None and used == "shared" and x.shape[1] >= 2:
        # one mix stored twice, one copy late: their mean would be an echo; the earlier copy is diarized
        live = 0 if lag_ms > 0 else 1
        d = diarize(x[:, live], sample_rate=sample_rate, config=config, n_voices=voices)
    if used == "separate":  # held as 16-bit samples (Pcm16): in float32 for the channels' naming
        if voices == 1:
            warnings.append(ONE_TOLD_SEPARATE)
        return separate_attribution(np.asarray(x, dtype=np.float32), report, channels=channels, profile=profile,
                                    names=names, warnings=warnings)
    if d is None:
        mix = x if used == "shared" else channel_mean(x)
        d = diarize(mix, sample_rate=sample_rate, config=config, n_voices=voices)
    naming = name_voices(d, profile=profile, names=names)
    # no speech: no voice is assumed to be anyone's ("assumption: no speech (if that is the client: ...)" read as
    # nonsense, with a profile given too; the "never speaks" warning says it; hostile sweep 21)
    if naming.assumption and d.n_voices > 0:
        # the way out, where the assumption is wrong (a client who spoke first: every figure is the other
        # person's; user walk-through, 2026-12-04)
        # one voice found: relabel has no second voice to exchange it with, and refuses
        warnings.append(f"assumption: {naming.rule} (if that is the client: "
                        + ("`prosody relabel` exchanges the two voices of a saved session; " if d.n_voices == 2 else "")
                        + "a voice profile, `prosody enrol`, names the therapist)")
    elif len(naming.distances) == 2 and min(naming.distances) > LONE_VOICE_THERAPIST_WITHIN:
        warnings.append(neither_near_text(naming.distances, names[0]))  # another's profile, or the two alike to it
    elif len(naming.distances) == 2 and abs(naming.distances[0] - naming.distances[1]) < PROFILE_MIN_MARGIN:
        warnings.append(f"the voice profile lies about as near both voices (cosine distances "
                        f"{naming.distances[0]:.2f} and {naming.distances[1]:.2f}): which one is the "
                        f"{names[0]} is uncertain (`prosody relabel` exchanges the two voices of a saved session)")
    unnamed = not d.unsure and d.n_voices == 1 and naming.names[0] == UNATTRIBUTED  # the profile cannot tell
    if unnamed:
        warnings.append(f"whose voice this is is unsure: {naming.rule}; no figure is given as the {names[0]}'s or "
                        f"the {names[1]}'s (enrol the {names[0]} again in the room and on the device of the session "
                        "if it is theirs)")
    noisy = d.speech_over_noise_db < NOISY_SPEECH_BELOW_DB
    narrow = d.speech_high_band_db < NARROW_BAND_BELOW_DB
    if d.n_voices == 1 and voices == 1:
        warnings.append("one voice, as told by --voices 1: turn-taking measures need two voices"
                        + ("" if d.heard_two is None else told_one_heard_two_text(*d.heard_two)))
    elif d.n_voices == 1 and voices == 2:
        why = ("its frame models hear one voice" if d.separation != d.separation else
               f"the best split lies {d.separation:.2f} apart, and its frame models hear one voice")
        warnings.append(f"two voices were told (--voices 2), but no split in two holds up here ({why}): kept as "
                        "one voice, without turn-taking; its measures may mix both people (record one channel "
                        "per person)")
    elif d.unsure:
        warnings.append(unsure_text(d))
    elif d.n_voices == 1:
        warnings.append("one voice found: turn-taking measures need two voices"
                        + ("" if float(d.speech.sum()) * d.grid.hop_s < 10.0 else
                           "; if two people speak here, they could not be told apart in this noise"
                           " (say so with --voices 2, or record one channel per person)" if noisy else
                           "; if two people speak here, they could not be told apart in this telephone-band sound"
                           " (say so with --voices 2, or record one channel per person)" if narrow else
                           "; if two people speak here, their voices were too alike to tell apart "
                           + ("on one channel" if used == "mono" else "where both reach every channel")
                           + " (say so with --voices 2, or record one channel per person)"))
    cfg = config or DiarizeConfig()
    apart = cfg.two_voice_min_distance  # two voices found unprompted lie this far apart
    if d.n_voices == 2 and voices == 2 and split_unsure(d, cfg):  # the user's word stands, said unsure
        warnings.append(f"two voices, as told by --voices 2, but who spoke when is unsure: the second voice holds "
                        f"{100 * min(d.voice_share):.0f} % of the speech, too little to measure how far apart the two "
                        f"lie, and its frame models do not tell it from the first in this noise; some speech may "
                        "be given to the wrong person (record one channel per person)")
    elif d.n_voices == 2 and voices == 2 and d.told_seed is not None:
        a, b = d.told_seed
        warnings.append(f"two voices, as told by --voices 2: the second is the one utterance least like the rest "
                        f"({a:.1f}-{b:.1f} s) and what sounds like it; listen to it before trusting who spoke when")
    elif d.n_voices == 2 and voices == 2 and not d.separation >= apart:
        warnings.append(f"two voices, as told by --voices 2: they lie only {d.separation:.2f} apart, closer than "
                        f"the {apart:.2f} that makes two voices by their sound alone; listen to a few turns "
                        "(`prosody moments`) before trusting who spoke when")
    if d.more_voices:
        warnings.append(more_voices_text(d.more_voices, [naming.names[k] for k in (0, 1) if d.mixed[k]]))
    if noisy:
        warnings.append(noisy_text(d.speech_over_noise_db))
    if narrow:
        warnings.append(NARROW_BAND_TEXT)
    return Attribution(used, report, naming.names[:1] if d.unsure or unnamed else names,
                       d.method + ("" if x.shape[1] == 1 or used == "mono" else " + inter-channel level cue")
                       + ("" if voices is None or d.n_voices == 0 else f" ({voices} voice{'s' * (voices > 1)} as "
                                                                        f"told: --voices {voices})")
                       + (f"; {UNSURE_NOTE}: the speech kept as one voice" if d.unsure else ""),
                       diarization=d, naming=naming, warnings=tuple(warnings), inverted=inverted, live_channel=live,
                       voices_told=voices)


def told_one_heard_two_text(separation: float, second_share: float) -> str:
    """What is added to the --voices 1 warning where the audio alone gives two voices (``Diarization.heard_two``)."""
    return (f"; but the audio sounds like two people: analysed without --voices 1 it splits into two voices "
            f"{separation:.2f} apart, the second holding {100 * second_share:.0f} % of the speech, so the count told "
            "may be wrong, and every figure here may mix both people (analyse it again without --voices 1)")


# speech less than this far over a recording's noise (``Diarization.speech_over_noise_db``): who spoke
# when is said to be less sure. Real voices (the AMI pairs of benchmarks/diarization.py's amireal split)
# in pink, white or speech-shaped noise: 216 runs measured under 25 dB, on average 16.9 % of their
# single-speaker speech given to the wrong person; 108 at or over it, 3.1 % (as recorded: 35-44 dB,
# 1.4 %; benchmarks/diarization_noise.py; docs/speakers.md, thirty-fourth round)
NOISY_SPEECH_BELOW_DB = 25.0


# speech with less than this of its power above the telephone band (``Diarization.speech_high_band_db``):
# who spoke when is said to be less sure. Of 97 recordings (AMI and espeak dialogues, one- and two-voice
# espeak and AMI recordings), none read under it wide-band as recorded, through MP3 at 32 kbit/s, AAC at
# 24 or Opus at 12-16, or in pink, speech-shaped or white noise (where measured); one through MP3 at 16
# kbit/s (-41.0 dB: the encoder's low-pass). Through a telephone channel or GSM all did, resampled from
# 8 kHz 95, through Opus at 8 kbit/s 57. In that band the voices were told apart less surely: the AMI
# pairs 4.37 % wrong-person speech against 1.22 % (benchmarks/diarization_noise.py --phone), hard espeak
# pairs two voices found 28 of 36 against 30 and 10.75 % wrong against 5.86 %, one voice split in two
# 9 of 63 against 3 (diarization_single.py --phone); docs/speakers.md, thirty-seventh round
NARROW_BAND_BELOW_DB = -38.0

NARROW_BAND_TEXT = ("telephone-band recording: almost nothing of the speech lies above 4 kHz (a phone line or an "
                    "8 kHz file), where voices differ most; they are told apart less surely, and some speech may be "
                    "given to the wrong person (a recording of the call at its full band, or one channel per "
                    "person, helps)")


UNSURE_NOTE = "who spoke when is unsure"


def unsure_text(d: Diarization) -> str:
    """The warning for a recording whose split in two was withheld (``Diarization.unsure``)."""
    son = "" if d.speech_over_noise_db != d.speech_over_noise_db else f" ({d.speech_over_noise_db:.0f} dB over it)"
    return (f"{UNSURE_NOTE}: a second voice was heard in {100 * d.unsure_share:.0f} % of the speech, too little to "
            f"measure how far apart the two lie, and its frame models do not tell it from the first in this "
            f"noise{son}: the split would likely give speech to the wrong person, so the speech is kept as one voice "
            f"left {UNATTRIBUTED!r}, without turn-taking: its figures may mix both people, and none is given as the "
            "therapist's or the client's (no warmth, no cues; a microphone nearer the speakers, or one per person, "
            "helps; --voices 2 keeps the split)")


def noisy_text(speech_over_noise_db: float) -> str:
    """The warning for a diarized recording whose speech stands under ``NOISY_SPEECH_BELOW_DB`` over its
    noise."""
    return (f"noisy recording: the speech stands {speech_over_noise_db:.0f} dB over the noise (under "
            f"{NOISY_SPEECH_BELOW_DB:.0f} dB the voices are told apart less surely; some speech may be given to the "
            "wrong person: a microphone nearer the speakers, or one per person, helps)")


def separate_attribution(audio: np.ndarray, report: LayoutReport, *, channels: dict[str, int] | None = None,
                         profile: VoiceProfile | None = None, names: tuple[str, str] = DEFAULT_NAMES,
                         warnings=()) -> Attribution:
    """One speaker per channel: ``channels`` (``--channels``: speaker -> 0-based channel) as
    given, else ``name_channels`` (a voice profile checks the default order; the rule is
    said either way). ``audio``: (n_samples, >= 2), all or the first minutes of it."""
    warnings = list(warnings)
    naming = None
    if channels:
        spk = tuple(sorted(channels, key=lambda s: channels[s]))
        picks = tuple(channels[s] for s in spk)
    else:
        naming = name_channels(audio, profile=profile, names=names)
        k = naming.names.index(names[0])  # the therapist's channel
        spk, picks = names, (k, 1 - k)
        if k == 1:
            warnings.append(f"the voice profile names channel 2 the {names[0]} ({naming.rule}): the channels are "
                            "taken the other way round (--channels names them)")
        elif profile is not None and naming.assumption:  # a profile given, and it could not decide
            warnings.append(f"which channel is the {names[0]} is uncertain: {naming.rule}; "
                            "`prosody relabel` exchanges the two speakers of a saved session")
    return Attribution("separate", report, spk, "one speaker per channel (cross-talk rejected per frame)",
                       channel_picks=picks, warnings=tuple(warnings), naming=naming)


MORE_VOICES_NOTE = "more than two voices seem to speak here"


def more_voices_text(estimate: int, mixed_names: list[str] | tuple[str, ...]) -> str:
    """The warning for a recording where more than two people seem to speak (``Diarization.more_voices``:
    ``estimate``), the voices that seem to hold several people named (``prosody relabel`` writes it
    again with the names exchanged)."""
    return (f"{MORE_VOICES_NOTE} (about {estimate}): prosody measures two people; the figures of "
            f"{' and '.join(mixed_names)} may mix several people (record one channel per person)")


def in_phase(x: np.ndarray, inverted: bool) -> np.ndarray:
    """(n_samples, n_channels) ``x`` with channel 2 negated where ``inverted`` (else ``x`` itself);
    of a ``Pcm16``, the same samples read so (no float32 copy)."""
    if not inverted or x.shape[1] < 2:
        return x
    if isinstance(x, Pcm16):
        return x.inverted(1)
    y = np.array(x, dtype=np.float32, copy=True)
    y[:, 1] *= -1.0
    return y
