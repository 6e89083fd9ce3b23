"""Summaries: all measures over a Slice, over a whole session and its phases."""
from __future__ import annotations

from ..types import Segment
from .attunement import attunement
from .baseline import Baseline, speaker_baseline
from .cues import cues
from .registry import DISCLAIMER, MeasuresConfig, disclaimer_for, no_therapist_note, therapist_of, with_roles
from .results import Measures, RollingWindow
from .slice import Slice, _r, own_level_speech
from .timing import silences, timing_measures
from .voice import voice_measures
from .warmth import warmth


# summaries
def first_holder(segments: list[Segment], speakers: tuple[str, ...]) -> Segment | None:
    """The segment that opens the floor before the first speaker change: the
    first segment (as in ``TurnTracker``); ties go to the earlier speaker."""
    if not segments:
        return None
    order = {s: i for i, s in enumerate(speakers)}
    return min(segments, key=lambda s: (s.start_s, order.get(s.speaker, len(order))))


def summarize(sl: Slice, baseline: Baseline, cfg: MeasuresConfig, *, with_attunement: bool = True,
              with_cues: bool = False, n_permutations: int | None = None, first: Segment | None = None,
              min_speech_s: float | None = None) -> dict:
    """All measures over one stretch of time. Without cues (a session or a
    phase) the warmth needs ``min_speech_s`` of therapist speech (default the
    session's ``warmth_min_session_speech_s``)."""
    cfg = with_roles(sl.speakers, cfg)  # other names than therapist / client: their roles, by name
    minutes = (sl.end_s - sl.start_s) / 60.0
    voice = {spk: voice_measures(sl, spk, baseline.of(spk), cfg, first) for spk in sl.speakers}
    timing = {spk: timing_measures(sl, spk, cfg, first) for spk in sl.speakers} if sl.turn_taking else None
    th = therapist_of(sl.speakers, cfg)
    out = {"start_s": _r(sl.start_s), "end_s": _r(sl.end_s), "baseline": baseline.kind, "voice": voice,
           "timing": timing}
    if th is None:
        # the client alone: warmth and the cues addressed to "you" are the therapist's, never the client's
        out["warmth"] = no_therapist_warmth(sl.speakers)
        if with_attunement and sl.turn_taking:
            out["attunement"] = attunement(sl, cfg, n_permutations=n_permutations, by_direction=not with_cues)
        if with_cues:
            out["cues"] = []
        return out
    # components that measure behaviour toward the other person need the other person to have spoken
    partner_spoke = any((voice[s].get("speech_s") or 0.0) > 0.0 for s in sl.speakers if s != th)
    out["warmth"] = warmth(voice[th], timing[th] if timing else None, minutes, partner_spoke=partner_spoke)
    if with_attunement and sl.turn_taking:
        # rolling windows (with_cues) carry the pooled figures only; sessions also per direction
        out["attunement"] = attunement(sl, cfg, n_permutations=n_permutations, by_direction=not with_cues)
    if with_cues:
        _gate_rolling_warmth(out["warmth"], voice[th], sl, cfg)
        _gate_components(out["warmth"], cfg)
        out["cues"] = cues(sl, voice[th], timing[th] if timing else None, cfg, first, therapist=th)
    else:
        _gate_session_warmth(out["warmth"], voice[th],
                             cfg.warmth_min_session_speech_s if min_speech_s is None else min_speech_s)
        _gate_components(out["warmth"], cfg)
    return out


def warmth_min_speech_s(cfg: MeasuresConfig) -> float:
    """Therapist speech a rolling window needs before it shows warmth:
    ``warmth_min_speech_s``, at most a third of the window."""
    return min(cfg.warmth_min_speech_s, cfg.window_s / 3.0)


def _gate_rolling_warmth(w: dict, voice_th: dict, sl: Slice, cfg: MeasuresConfig) -> None:
    """A rolling window's warmth says nothing until the window holds enough of
    the therapist's speech (and speaker changes): early in a session the running
    baseline is the window itself, so every component reads "as usual" and the
    score would read ~100. Then ``score`` is None and ``not_enough`` says why."""
    speech_s = voice_th.get("speech_s") or 0.0
    n_ex = len(sl.transitions)
    need_s = warmth_min_speech_s(cfg)
    short = [f"{speech_s:.0f} s of therapist speech (needs {need_s:.0f} s)"] if speech_s < need_s else []
    if sl.turn_taking and n_ex < cfg.warmth_min_exchanges:
        short.append(f"{n_ex} speaker changes (needs {cfg.warmth_min_exchanges})")
    if short:
        _no_warmth(w, "not enough speech yet: " + ", ".join(short) + " in the window")


def _gate_session_warmth(w: dict, voice_th: dict, need_s: float) -> None:
    """A session's or phase's warmth needs ``need_s`` of the therapist's
    speech: on less (a recording of noise, a session where only the client
    spoke) every component reads "as usual" against a baseline made of that
    same speech, no interruption counts as a perfect score, and the warmth
    would read ~100 on nothing."""
    speech_s = voice_th.get("speech_s") or 0.0
    if speech_s < need_s:
        _no_warmth(w, f"not enough speech: {speech_s:.1f} s of therapist speech (needs {need_s:.0f} s)")


def _gate_components(w: dict, cfg: MeasuresConfig) -> None:
    """A warmth made of fewer than ``warmth_min_components`` components (the
    others without data, e.g. no one to answer or talk over) says so instead
    of scoring the few that are left as the whole."""
    if w.get("score") is not None and w["n_components"] < cfg.warmth_min_components:
        _no_warmth(w, f"not enough data: {w['n_components']} of {len(w['components'])} warmth components have data "
                      f"(needs {cfg.warmth_min_components})")


def no_therapist_warmth(speakers) -> dict:
    """The warmth block of a recording without a therapist (``therapist_of``):
    no score, no components (their values would be another voice's), and why."""
    return {"score": None, "components": [], "n_components": 0, "note": disclaimer_for(speakers),
            "not_enough": no_therapist_note(speakers)}


def _no_warmth(w: dict, why: str) -> None:
    w["score"] = None
    w["n_components"] = 0
    for c in w["components"]:
        c["weight"], c["contribution"] = 0.0, None
    w["not_enough"] = why


def session_slice(session, t0_s: float | None = None, t1_s: float | None = None) -> Slice:
    """A Slice of a built Session (``prosody.session.Session``)."""
    g = session.grid
    f0 = 0 if t0_s is None else g.s_to_frames(t0_s)
    f1 = session.n_frames if t1_s is None else min(session.n_frames, g.s_to_frames(t1_s))
    tt = session.turn_taking
    return Slice.cut(
        grid=g, speakers=session.speakers, frame0=f0, frame1=f1,
        frames={s: {k: v[f0:f1] for k, v in session.frames[s].items()} for s in session.speakers},
        segments=session.segments, transitions=session.turns.transitions if tt else (),
        events=session.turns.events if tt else (), pauses=session.turns.pauses if tt else (),
        nuclei=session.nuclei, turn_taking=tt, one_signal=getattr(session, "one_signal", False),
    )


def voice_quality_measures(chunks, speakers, t0_s: float = 0.0, t1_s: float | None = None) -> dict:
    """Jitter, shimmer, HNR and CPPS per speaker over the voiced runs starting
    in [t0_s, t1_s) (``engine.voice_quality.summarize_chunks``)."""
    from ..engine.voice_quality import summarize_chunks
    return {spk: summarize_chunks(c for c in chunks if c.speaker == spk and c.start_s >= t0_s
                                  and (t1_s is None or c.start_s < t1_s)) for spk in speakers}


def session_baseline(session) -> Baseline:
    one = getattr(session, "one_signal", False)
    return Baseline("session", tuple(
        (s, speaker_baseline(session.frames[s], sum(1 for x, _ in session.nuclei if x == s), grid=session.grid,
                             level_speech=own_level_speech(session.frames, s, session.speakers, one_signal=one)))
        for s in session.speakers))


def session_measures(session, cfg: MeasuresConfig | None = None, *, profile: Baseline | None = None,
                     rolling: tuple[RollingWindow, ...] = ()) -> Measures:
    """The ``measures`` block of a session: whole session, phases, rolling."""
    cfg = cfg or MeasuresConfig()
    base = profile or session_baseline(session)
    whole = session_slice(session)
    first = first_holder(whole.segments, whole.speakers)
    top = summarize(whole, base, cfg, first=first)
    d = session.duration_s
    phases = []
    for name, (x, y) in zip(("opening", "middle", "closing"),
                            ((0.0, cfg.phase_edges[0]), cfg.phase_edges, (cfg.phase_edges[1], 1.0))):
        sl = session_slice(session, x * d, y * d)
        ph = summarize(sl, base, cfg, with_attunement=False, first=first, min_speech_s=cfg.warmth_min_phase_speech_s)
        if top["warmth"].get("not_enough") and ph["warmth"].get("score") is not None:
            _no_warmth(ph["warmth"], "session: " + top["warmth"]["not_enough"])
        ph["name"] = name
        phases.append(ph)
    vq = session.voice_quality
    if vq:
        for ph, (x, y) in zip(phases, ((0.0, cfg.phase_edges[0]), cfg.phase_edges, (cfg.phase_edges[1], 1.0))):
            ph["voice_quality"] = voice_quality_measures(vq, session.speakers, x * d, y * d if y < 1.0 else None)
    timing = top["timing"]
    sil = silences(whole, cfg) if session.turn_taking else None
    if session.turn_taking:
        for spk in session.speakers:
            timing[spk]["silences_broken"] = sum(1 for s in sil if s["broken_by"] == spk)
    return Measures(
        disclaimer=disclaimer_for(session.speakers),
        baseline=base,
        network_delay_ms=cfg.network_delay_ms,
        network_delay_note=("client gaps corrected by the round trip (2 x one-way delay): the client heard the "
                            "therapist late and the answer arrived late; therapist gaps need no correction"
                            if cfg.network_delay_ms > 0 else
                            "no network delay given (--network-delay-ms 0): gaps as recorded, none corrected"),
        voice=top["voice"],
        timing=timing,
        warmth=top["warmth"],
        attunement=top.get("attunement"),
        voice_quality=voice_quality_measures(vq, session.speakers) if vq else None,
        silences=None if sil is None else tuple(sil),
        phases=tuple(phases),
        rolling=tuple(rolling),
        config=cfg,
    )
