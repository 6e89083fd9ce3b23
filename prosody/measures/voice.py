"""Voice measures of one speaker over a Slice: pitch, level, rate, pauses,
arousal, each relative to the speaker's baseline."""
from __future__ import annotations

import numpy as np

from ..quantile import median, percentile
from ..types import Segment
from .baseline import SpeakerBaseline
from .registry import MeasuresConfig
from .slice import Slice, _clip, _holds, _per_bin_sd, _r, enough_voiced, rate_time_ok


def voice_measures(sl: Slice, speaker: str, base: SpeakerBaseline | None, cfg: MeasuresConfig,
                   first: Segment | None) -> dict:
    """One speaker's voice measures over the slice (docs/measures.md), each relative to ``base`` where it has
    the figure: pitch, level, rate, pauses, arousal. ``first``: the speaker's segment open at the slice's
    start (its floor hold reaches into the slice)."""
    fr = sl.frames[speaker]
    sp = fr["is_speech"]
    voiced = sp & np.isfinite(fr["f0_hz"])
    speech_s = float(sp.sum()) * sl.grid.hop_s
    b = base or SpeakerBaseline(None, None, None, None, None, None, None)
    vf = fr["f0_hz"][voiced]
    pitch_ok = enough_voiced(len(vf), int(sp.sum()))  # also pace: nuclei are voiced (slice.MIN_VOICED_SHARE)
    own = sl.level_speech(speaker)  # of two voices cut from one signal, not the frames both hold (the mixture's)
    bin_frames = max(1, sl.grid.s_to_frames(cfg.stable_bin_s))
    segs = [s for s in sl.segments if s.speaker == speaker]
    holds = _clip(_holds(sl, speaker, first), sl.start_s, sl.end_s) if sl.turn_taking else None
    out: dict = {"speech_s": round(speech_s, 3)}
    out.update(_pitch_measures(fr["f0_hz"], voiced, b, cfg, pitch_ok=pitch_ok, bin_frames=bin_frames))
    out.update(_level_measures(fr["rms_db"], own, sp, b, cfg, bin_frames=bin_frames))
    out.update(_rate_measures(sl, speaker, segs, holds, b, cfg, speech_s=speech_s, pitch_ok=pitch_ok))
    out.update(_pause_measures(sl, speaker, segs, holds))
    out.update(_arousal(fr, vf, own, sp, b, pitch_ok=pitch_ok))
    return {k: (_r(v) if isinstance(v, float) else v) for k, v in out.items()}


def _pitch_measures(f0: np.ndarray, voiced: np.ndarray, b: SpeakerBaseline, cfg: MeasuresConfig, *,
                    pitch_ok: bool, bin_frames: int) -> dict:
    """Median pitch against the baseline (st), the share raised, the spread and range of the voice's own pitch
    (st), its instability (the per-bin sd, st); None where too little is voiced."""
    vf = f0[voiced]
    out: dict = {}
    if pitch_ok and b.f0_median_hz:
        st = 12 * np.log2(vf / b.f0_median_hz)
        out["f0_median_rel_st"] = float(median(st))
        out["pitch_raised_share"] = float(np.mean(st > cfg.pitch_raised_st))
    else:
        out["f0_median_rel_st"] = out["pitch_raised_share"] = None
    if pitch_ok:
        st_own = 12 * np.log2(vf / median(vf))
        out["f0_sd_st"] = float(np.std(st_own))
        out["f0_range_st"] = float(percentile(st_own, 95) - percentile(st_own, 5))
    else:
        out["f0_sd_st"] = out["f0_range_st"] = None
    with np.errstate(divide="ignore", invalid="ignore"):
        f0_st_all = np.where(voiced, 12 * np.log2(np.where(voiced, f0, 1.0) / 100.0), 0.0)
    out["f0_instability_st"] = _per_bin_sd(f0_st_all, voiced, bin_frames) if pitch_ok else None
    return out


def _level_measures(lv: np.ndarray, own: np.ndarray, sp: np.ndarray, b: SpeakerBaseline, cfg: MeasuresConfig, *,
                    bin_frames: int) -> dict:
    """Typical level against the baseline (dB) and the share raised, over the voice's own-level speech frames
    ``own``; its instability per bin (dB)."""
    out: dict = {}
    if own.sum() >= 10 and b.level_median_db is not None:
        out["level_rel_db"] = float(median(lv[own]) - b.level_median_db)
        out["level_raised_share"] = float(np.mean(lv[own] > b.level_median_db + cfg.level_raised_db))
    else:
        out["level_rel_db"] = out["level_raised_share"] = None
    # a bin where the two voices' frames outnumber the voice's own alone tells nothing of its own steadiness
    out["level_instability_db"] = _per_bin_sd(lv, own, bin_frames, of=sp)
    return out


def _slice_frames(sl: Slice, x_s: float, y_s: float, n_frames: int) -> slice:
    """Times ``x_s``..``y_s`` as a slice of the slice's frame arrays (clipped to 0..n_frames)."""
    i0 = min(max(sl.grid.s_to_frames(x_s) - sl.frame0, 0), n_frames)
    i1 = min(max(sl.grid.s_to_frames(y_s) - sl.frame0, 0), n_frames)
    return slice(i0, i1)


def _rate_measures(sl: Slice, speaker: str, segs: list[Segment], holds, b: SpeakerBaseline, cfg: MeasuresConfig,
                   *, speech_s: float, pitch_ok: bool) -> dict:
    """Speech rate, articulation rate (syl/s) and its ratio to the baseline less 1, and the share of phonation
    rushed (in segments articulated over ``cfg.rushed_ratio`` x the baseline rate).

    Speech rate and articulation rate count the same nuclei (de Jong & Wempe 2009): the articulation rate over
    phonation (speech less its pauses of 0.3 s or more and its quiet edges, which the speech detector holds as
    speech: ``slice.phonation``), the speech rate over the time they were spoken in, pauses included: the time
    holding the floor (own turns with their pauses) and any own speech outside it (backchannels, talk-overs). The
    union is taken frame by frame, so it is never shorter than the speech time and the speech rate never exceeds
    the articulation rate::

        own speech   |==|  |=====|   |===|        |=|        (| = speech frames)
        floor holds        [=============]                   (a turn with its pause)
        speech-rate time |==|  [=============]        |=|
    """
    a, e = sl.start_s, sl.end_s
    nuc = sl.nuclei_of(speaker)
    span = sl.frames[speaker]["is_speech"].copy()
    n_fr = len(span)
    spans = holds if holds is not None else ([(max(segs[0].start_s, a), min(segs[-1].end_s, e))] if segs else [])
    for x, y in spans:
        span[_slice_frames(sl, x, y, n_fr)] = True
    span_s = float(span.sum()) * sl.grid.hop_s
    phon = sl.phonation_of(speaker)
    phon_s = float(phon.sum()) * sl.grid.hop_s
    rate_ok = rate_time_ok(speech_s, phon_s) and pitch_ok
    out: dict = {"speech_rate_syl_s": len(nuc) / span_s if rate_ok else None,
                 "articulation_rate_syl_s": len(nuc) / phon_s if rate_ok else None}
    if out["articulation_rate_syl_s"] is not None and b.articulation_rate_syl_s:
        out["articulation_rate_rel"] = out["articulation_rate_syl_s"] / b.articulation_rate_syl_s - 1.0
    else:
        out["articulation_rate_rel"] = None
    if not (b.articulation_rate_syl_s and rate_ok):
        out["rushed_share"] = None
        return out
    rushed = 0.0
    for s in segs:
        x, y = max(s.start_s, a), min(s.end_s, e)
        seg_s = float(phon[_slice_frames(sl, x, y, n_fr)].sum()) * sl.grid.hop_s
        if seg_s < 0.3:
            continue
        if sl.count_nuclei(speaker, x, y) / seg_s > cfg.rushed_ratio * b.articulation_rate_syl_s:
            rushed += seg_s
    out["rushed_share"] = min(1.0, rushed / phon_s)
    return out


def _pause_measures(sl: Slice, speaker: str, segs: list[Segment], holds) -> dict:
    """Pauses inside the speaker's own turns: per minute of floor held (10 s or more) and their median (s). One
    channel (no turn-taking): the silences between own segments inside the slice's floor (not the look-back's)."""
    a, e = sl.start_s, sl.end_s
    if holds is None:  # one channel: the floor inside the slice (a rolling window's segments reach back to its
        # look-back, for the floor holder; one open past its end reads the same, live)
        inside = [s for s in segs if s.end_s > a]
        floor_s = (min(inside[-1].end_s, e) - max(inside[0].start_s, a)) if inside else 0.0
    else:
        floor_s = sum(y - x for x, y in holds)
    if sl.turn_taking:
        lengths = [p.end_s - p.start_s for p in sl.pauses if p.speaker == speaker]
    else:
        lengths = [y.start_s - x.end_s for x, y in zip(segs, segs[1:]) if x.end_s > a]
    return {"pause_rate_per_min": len(lengths) / (floor_s / 60.0) if floor_s >= 10.0 else None,
            "pause_median_s": float(median(lengths)) if lengths else None}


def _arousal(fr: dict, vf: np.ndarray, own: np.ndarray, sp: np.ndarray, b: SpeakerBaseline, *,
             pitch_ok: bool) -> dict:
    """Arousal (Bone et al. 2014): the mean of the z-scores of median pitch, intensity (own-level frames) and
    HF500 against the baseline's spreads, with its parts."""
    parts = {}
    if pitch_ok and b.f0_median_hz and b.f0_spread_st:
        parts["pitch_z"] = float(median(12 * np.log2(vf / b.f0_median_hz)) / b.f0_spread_st)
    lv = fr["rms_db"]
    if own.sum() >= 10 and b.level_median_db is not None and b.level_spread_db:
        parts["intensity_z"] = float((median(lv[own]) - b.level_median_db) / b.level_spread_db)
    if sp.sum() >= 10 and b.hf500_median_db is not None and b.hf500_spread_db:
        parts["hf500_z"] = float((median(fr["hf500_db"][sp]) - b.hf500_median_db) / b.hf500_spread_db)
    return {"arousal_z": float(np.mean(list(parts.values()))) if parts else None,
            "arousal_parts": {k: _r(v) for k, v in parts.items()}}
