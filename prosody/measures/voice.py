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
    fr = sl.frames[speaker]
    sp = fr["is_speech"]
    f0 = fr["f0_hz"]
    voiced = sp & np.isfinite(f0)
    speech_s = float(sp.sum()) * sl.grid.hop_s
    out: dict = {"speech_s": round(speech_s, 3)}
    b = base or SpeakerBaseline(None, None, None, None, None, None, None)
    vf = f0[voiced]
    pitch_ok = enough_voiced(len(vf), int(sp.sum()))  # also pace: nuclei are voiced (slice.MIN_VOICED_SHARE)
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
    bin_frames = max(1, sl.grid.s_to_frames(cfg.stable_bin_s))
    with np.errstate(divide="ignore", invalid="ignore"):
        f0_st_all = np.where(voiced, 12 * np.log2(np.where(voiced, f0, 1.0) / 100.0), 0.0)
    out["f0_instability_st"] = _per_bin_sd(f0_st_all, voiced, bin_frames) if pitch_ok else None
    lv = fr["rms_db"]
    own = sl.level_speech(speaker)  # of two voices cut from one signal, not the frames both hold (the mixture's)
    if own.sum() >= 10 and b.level_median_db is not None:
        out["level_rel_db"] = float(median(lv[own]) - b.level_median_db)
        out["level_raised_share"] = float(np.mean(lv[own] > b.level_median_db + cfg.level_raised_db))
    else:
        out["level_rel_db"] = out["level_raised_share"] = None
    # a bin where the two voices' frames outnumber the voice's own alone tells nothing of its own steadiness
    out["level_instability_db"] = _per_bin_sd(lv, own, bin_frames, of=sp)
    # rate
    a, e = sl.start_s, sl.end_s
    nuc = sl.nuclei_of(speaker)
    holds = _clip(_holds(sl, speaker, first), a, e) if sl.turn_taking else None
    segs = [s for s in sl.segments if s.speaker == speaker]
    if holds is None:  # one channel: the floor inside the slice (a rolling window's segments reach back to its
        # look-back, for the floor holder; one open past its end reads the same, live)
        inside = [s for s in segs if s.end_s > a]
        floor_s = (min(inside[-1].end_s, e) - max(inside[0].start_s, a)) if inside else 0.0
    else:
        floor_s = sum(y - x for x, y in holds)
    # Speech rate and articulation rate count the same nuclei (de Jong & Wempe 2009): the articulation
    # rate over the speech time, the speech rate over the time they were spoken in, pauses included:
    # the time holding the floor (own turns with their pauses) and any own speech outside it
    # (backchannels, talk-overs). The union is taken frame by frame, so it is never shorter than the
    # speech time and the speech rate never exceeds the articulation rate:
    #
    #   own speech   |==|  |=====|   |===|        |=|        (| = speech frames)
    #   floor holds        [=============]                   (a turn with its pause)
    #   speech-rate time |==|  [=============]        |=|
    span = sp.copy()
    n_fr = len(span)
    spans = holds if holds is not None else ([(max(segs[0].start_s, a), min(segs[-1].end_s, e))] if segs else [])
    for x, y in spans:
        i0 = min(max(sl.grid.s_to_frames(x) - sl.frame0, 0), n_fr)
        i1 = min(max(sl.grid.s_to_frames(y) - sl.frame0, 0), n_fr)
        span[i0:i1] = True
    span_s = float(span.sum()) * sl.grid.hop_s
    # the articulation rate's time is phonation (de Jong & Wempe): speech less its pauses of 0.3 s or more and
    # its quiet edges, which the speech detector holds as speech (slice.phonation)
    phon = sl.phonation_of(speaker)
    phon_s = float(phon.sum()) * sl.grid.hop_s
    rate_ok = rate_time_ok(speech_s, phon_s) and pitch_ok
    out["speech_rate_syl_s"] = len(nuc) / span_s if rate_ok else None
    out["articulation_rate_syl_s"] = len(nuc) / phon_s if rate_ok else None
    if out["articulation_rate_syl_s"] is not None and b.articulation_rate_syl_s:
        out["articulation_rate_rel"] = out["articulation_rate_syl_s"] / b.articulation_rate_syl_s - 1.0
    else:
        out["articulation_rate_rel"] = None
    # rushed: phonation time in segments articulated > rushed_ratio x baseline
    if b.articulation_rate_syl_s and rate_ok:
        rushed = 0.0
        for s in segs:
            x, y = max(s.start_s, a), min(s.end_s, e)
            i0 = min(max(sl.grid.s_to_frames(x) - sl.frame0, 0), n_fr)
            i1 = min(max(sl.grid.s_to_frames(y) - sl.frame0, 0), n_fr)
            seg_s = float(phon[i0:i1].sum()) * sl.grid.hop_s
            if seg_s < 0.3:
                continue
            n = sl.count_nuclei(speaker, x, y)
            if n / seg_s > cfg.rushed_ratio * b.articulation_rate_syl_s:
                rushed += seg_s
        out["rushed_share"] = min(1.0, rushed / phon_s)
    else:
        out["rushed_share"] = None
    # pauses inside own turns
    ps = [p for p in sl.pauses if p.speaker == speaker]
    if sl.turn_taking:
        out["pause_rate_per_min"] = len(ps) / (floor_s / 60.0) if floor_s >= 10.0 else None
        out["pause_median_s"] = float(median([p.end_s - p.start_s for p in ps])) if ps else None
    else:  # one channel: silences between own segments, inside the slice's floor (not the look-back's)
        gaps = [y.start_s - x.end_s for x, y in zip(segs, segs[1:]) if x.end_s > a]
        out["pause_rate_per_min"] = len(gaps) / (floor_s / 60.0) if floor_s >= 10.0 else None
        out["pause_median_s"] = float(median(gaps)) if gaps else None
    # arousal (Bone et al. 2014)
    parts = {}
    if pitch_ok and b.f0_median_hz and b.f0_spread_st:
        parts["pitch_z"] = float(median(12 * np.log2(vf / b.f0_median_hz)) / b.f0_spread_st)
    if own.sum() >= 10 and b.level_median_db is not None and b.level_spread_db:
        parts["intensity_z"] = float((median(lv[own]) - b.level_median_db) / b.level_spread_db)
    if sp.sum() >= 10 and b.hf500_median_db is not None and b.hf500_spread_db:
        parts["hf500_z"] = float((median(fr["hf500_db"][sp]) - b.hf500_median_db) / b.hf500_spread_db)
    out["arousal_z"] = float(np.mean(list(parts.values()))) if parts else None
    out["arousal_parts"] = {k: _r(v) for k, v in parts.items()}
    return {k: (_r(v) if isinstance(v, float) else v) for k, v in out.items()}
