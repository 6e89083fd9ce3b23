"""``prosody relabel``: the two voices of a saved session exchanged (issue 9, item 4).

When the wrong voice was named the therapist (no voice profile, the rule
"the voice heard first is the therapist" was wrong), every per-speaker figure
is right but sits under the other name. Relabelling exchanges the two
speakers' data (document and frames) and recomputes what depends on which
voice is the therapist: the warmth of the whole session, its phases and its
rolling windows, the rolling windows' cues (addressed to the therapist), and
arousal co-regulation (it reads the client-to-therapist
exchanges, which are the other direction's once the names change). Everything
else is per speaker and moves unchanged::

    before   therapist: [voice B's segments, frames, measures]   client: [voice A's]
    after    therapist: [voice A's ...]                          client: [voice B's ...]
"""
from __future__ import annotations

import copy
import dataclasses
from types import SimpleNamespace

from .engine.speakers import LONE_CANNOT_TELL, MORE_VOICES_NOTE, more_voices_text
from .errors import InputError
from .types import UNATTRIBUTED
from .measures import CueConfig, MeasuresConfig, cues, first_holder, therapist_of, warmth
from .measures.summary import _gate_components, _gate_rolling_warmth, _gate_session_warmth, _no_warmth

SWAP_NOTE = "relabelled: the two voices were exchanged by the user (prosody relabel)"
SWAPPED, SWAPPED_BACK = "swapped by the user", "swapped back by the user"


def _swap_name(x, pair):
    a, b = pair
    return b if x == a else a if x == b else x


def _swap_keys(d: dict, pair) -> dict:
    a, b = pair
    out = {}
    for k, v in d.items():
        if isinstance(k, str) and "->" in k:
            src, _, dst = k.partition("->")
            k = f"{_swap_name(src, pair)}->{_swap_name(dst, pair)}"
        out[_swap_name(k, pair)] = v
    return out


def exchange_names(doc: dict, new: dict, pair, *, in_order: bool = False) -> None:
    """In ``new`` (a deep copy of ``doc``), the two names of ``pair`` exchanged wherever ``doc`` names a speaker
    outside its measures, naming and warnings: the speakers' figures, the timed lists (segments, turns, pauses,
    events), the transitions, the attribution's channels, the audio's picks and the gains heard with
    (``heard_raised_db`` and its note). A ``pair`` of a voice's name and
    one the document does not hold renames that voice (``store.unsure``). ``in_order``: the timed lists sorted
    again by (start, end, speaker), as an exchange of two voices' names reorders items of one extent."""
    if isinstance(doc.get("speakers"), dict):
        new["speakers"] = _swap_keys(doc["speakers"], pair)
    for key in ("segments", "turns", "pauses", "events"):
        if isinstance(doc.get(key), list):
            items = [{**x, "speaker": _swap_name(x.get("speaker"), pair)} if isinstance(x, dict) else x
                     for x in doc[key]]
            new[key] = sorted(items, key=lambda x: (x["start_s"], x["end_s"], x["speaker"])) if in_order else items
    if isinstance(doc.get("transitions"), list):
        new["transitions"] = [{**t, "from_speaker": _swap_name(t.get("from_speaker"), pair),
                               "to_speaker": _swap_name(t.get("to_speaker"), pair)} if isinstance(t, dict) else t
                              for t in doc["transitions"]]
    att = new.get("attribution")
    if isinstance(att, dict) and isinstance(att.get("channels"), dict):
        att["channels"] = _swap_keys(att["channels"], pair)
    audio = new.get("audio")
    if isinstance(audio, dict) and isinstance(audio.get("picks"), dict):
        audio["picks"] = _swap_keys(audio["picks"], pair)
    if isinstance(doc.get("heard_raised_db"), dict):  # the gain each voice's speech detection heard it with
        from .session import HEARD_RAISED_MARK, heard_raised_note
        new["heard_raised_db"] = gains = _swap_keys(doc["heard_raised_db"], pair)
        # its note said again with the names exchanged, where a gain is told (an imported file's gains all 0
        # made "speech heard at : ..."; hostile sweep 25)
        if isinstance(new.get("notes"), list) and any(gains.values()):
            new["notes"] = [heard_raised_note(gains, new.get("speaker_order") or ())
                            if str(n).startswith(HEARD_RAISED_MARK) else n for n in new["notes"]]


def _swap_measure_tree(node, pair):
    """Speaker-keyed objects and speaker-valued fields exchanged; ``config`` kept (roles, not data)."""
    if isinstance(node, dict):
        node = _swap_keys(node, pair)
        return {k: (v if k == "config" else
                    _swap_name(v, pair) if isinstance(v, str) and k in ("broken_by", "speaker", "holder",
                                                                         "from_speaker", "to_speaker")
                    else _swap_measure_tree(v, pair)) for k, v in node.items()}
    if isinstance(node, list):
        return [_swap_measure_tree(v, pair) for v in node]
    return node


def _rewarm(block: dict, therapist: str | None, need_s: float | None, cfg: MeasuresConfig) -> None:
    """``block``'s warmth recomputed for ``therapist``, gated as in
    ``measures.summary``: ``need_s`` of the therapist's speech (None: a rolling
    window, gated by the caller) and enough components."""
    voice, timing = block.get("voice"), block.get("timing")
    if not isinstance(voice, dict) or therapist not in voice:
        return
    start, end = block.get("start_s"), block.get("end_s")
    if start is None or end is None:
        return
    partner_spoke = any(isinstance(v, dict) and (v.get("speech_s") or 0.0) > 0.0
                        for s, v in voice.items() if s != therapist)
    block["warmth"] = warmth(voice[therapist], timing[therapist] if isinstance(timing, dict) else None,
                             (float(end) - float(start)) / 60.0, partner_spoke=partner_spoke)
    if need_s is not None:
        _gate_session_warmth(block["warmth"], voice[therapist], need_s)
    _gate_components(block["warmth"], cfg)


def _config(d: dict) -> MeasuresConfig:
    """The session's MeasuresConfig from its stored ``measures.config`` (its scalars and
    its ``cues`` table; defaults for what is missing or malformed)."""
    names = {f.name for f in dataclasses.fields(MeasuresConfig)}
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names and not isinstance(v, dict)}
    try:
        cfg = dataclasses.replace(MeasuresConfig(), **kw)
    except (TypeError, ValueError):
        cfg = MeasuresConfig()
    cue_names = {f.name for f in dataclasses.fields(CueConfig)}
    if isinstance(d.get("cues"), dict):
        try:
            cfg = dataclasses.replace(cfg, cues=CueConfig(**{k: v for k, v in d["cues"].items() if k in cue_names}))
        except (TypeError, ValueError):
            pass
    return cfg


def _timed(doc: dict):
    """(segments, transitions) of a session document as the measures' types."""
    from .types import Segment, Transition
    segs = tuple(Segment(x["speaker"], float(x["start_s"]), float(x["end_s"])) for x in doc.get("segments") or [])
    trs = tuple(Transition(t["from_speaker"], t["to_speaker"], float(t["from_end_s"]), float(t["to_start_s"]))
                for t in doc.get("transitions") or [])
    return segs, trs


def _cues(m2: dict, doc: dict, therapist: str | None, mcfg: MeasuresConfig) -> None:
    """Each rolling window's cues recomputed for ``therapist`` from the exchanged
    document ``doc``: the cues read the window's timed items (segments with the
    look-back, transitions) and the therapist's voice and timing figures, not the
    frames (``measures.cues``), so they are the analysis' own for these names."""
    from .measures.slice import Slice, hold_start_s
    from .measures.registry import with_roles
    from .types import Event
    from .timebase import GRID
    order = tuple(doc["speaker_order"])
    segs, trs = _timed(doc)
    evs = tuple(Event(str(e["kind"]), str(e["speaker"]), float(e["start_s"]), float(e["end_s"]))
                for e in doc.get("events") or [] if isinstance(e, dict))  # the overlaps cue counts talk-overs
    first = first_holder(list(segs), order)
    cfg = with_roles(order, mcfg)
    look = GRID.s_to_frames(mcfg.lookback_s)
    for block in m2.get("rolling") or []:
        if not isinstance(block, dict) or "cues" not in block:
            continue
        voice, timing = block.get("voice"), block.get("timing")
        if therapist is None or block.get("start_s") is None or block.get("end_s") is None \
                or not isinstance(voice, dict) or therapist not in voice:
            block["cues"] = []  # the client alone: the cues are addressed to the therapist (measures.summary)
            continue
        f0, f1 = GRID.s_to_frames(float(block["start_s"])), GRID.s_to_frames(float(block["end_s"]))
        tt = bool(doc.get("turn_taking"))
        sl = Slice.cut(grid=GRID, speakers=order, frame0=f0, frame1=f1, frames={}, segments=segs, transitions=trs,
                       events=evs, turn_taking=tt, look_s=GRID.frames_to_s(max(0, f1 - look)),
                       # the floor hold's segments past the look-back, as the analysis's windows keep them
                       segments_from_s=hold_start_s(trs, first, GRID.frames_to_s(f1))
                       if tt and cfg.cues.monologue else None)
        block["cues"] = cues(sl, voice[therapist], timing[therapist] if isinstance(timing, dict) else None, cfg,
                             first, therapist=therapist)


def _coregulation(m2: dict, doc: dict, frames: dict | None, mcfg: MeasuresConfig) -> None:
    """``m2``'s arousal co-regulation (the session's and each rolling window's) recomputed
    from the exchanged document ``doc`` and ``frames``, on the slices the analysis used
    (``measures.summary.session_slice``, ``RollingMeasures._window``); without frames it
    cannot be, and says so."""
    from .measures.attunement import arousal_coregulation
    from .measures.rolling import ROLLING_N_PERMUTATIONS
    from .measures.slice import Slice
    from .session import one_signal_of
    from .timebase import GRID
    order = tuple(doc["speaker_order"])
    one = one_signal_of(doc)  # the IPU intensity of one signal's two voices: their own frames (attunement)
    segs, trs = _timed(doc)
    n = min((len(v) for f in (frames or {}).values() for v in f.values()), default=0)

    def redo(block: dict, f0: int, f1: int, look_s: float, n_perm: int) -> None:
        att = block.get("attunement")
        if not isinstance(att, dict) or "arousal_coregulation" not in att:
            return
        if frames is None:
            att["arousal_coregulation"] = {"value": None, "chance_low": None, "chance_high": None, "n": 0,
                                           "reading": "not recomputed after relabel: the session has no per-frame "
                                                      "features; analyse the recording again"}
            return
        sl = Slice.cut(grid=GRID, speakers=order, frame0=f0, frame1=f1,
                       frames={s: {k: v[f0:f1] for k, v in frames[s].items()} for s in order},
                       segments=segs, transitions=trs, turn_taking=bool(doc.get("turn_taking")), look_s=look_s,
                       one_signal=one)
        att["arousal_coregulation"] = arousal_coregulation(sl, mcfg, n_permutations=n_perm)

    redo(m2, 0, n, 0.0, mcfg.n_permutations)
    look = GRID.s_to_frames(mcfg.lookback_s)
    for block in m2.get("rolling") or []:
        if isinstance(block, dict) and block.get("start_s") is not None and block.get("end_s") is not None:
            f1 = min(n, GRID.s_to_frames(float(block["end_s"])))
            redo(block, GRID.s_to_frames(float(block["start_s"])), f1, GRID.frames_to_s(max(0, f1 - look)),
                 ROLLING_N_PERMUTATIONS)


def relabel(doc: dict, frames: dict | None) -> tuple[dict, dict | None]:
    """(document, frames) with the two speakers' data exchanged; names and their
    order stay (therapist first), the therapist's warmth is recomputed.

    ``frames``: ``frames[speaker][key]`` arrays or None. Raises InputError for a
    session that does not hold exactly two speakers."""
    order = list(doc.get("speaker_order") or ())
    _check_two_voices(doc, order)
    pair = (order[0], order[1])
    new = copy.deepcopy(doc)
    exchange_names(doc, new, pair, in_order=True)
    if isinstance(new.get("attribution"), dict):
        _relabel_attribution(doc, new, pair)
    new_frames = None if frames is None else {pair[0]: frames[pair[1]], pair[1]: frames[pair[0]]}
    if isinstance(doc.get("measures"), dict):
        new["measures"] = _relabelled_measures(doc, new, new_frames, order, pair)
    warnings = [w for w in new.get("warnings") or [] if not str(w).startswith("assumption:")]
    if SWAP_NOTE in warnings:  # relabelled twice: back to the original attribution
        warnings.remove(SWAP_NOTE)
    else:
        warnings.append(SWAP_NOTE)
    new["warnings"] = warnings
    return new, new_frames


def _check_two_voices(doc: dict, order: list) -> None:
    """A session of two voices, or one line saying why there is nothing to exchange."""
    if order == [UNATTRIBUTED]:
        att = doc.get("attribution")
        nm = att.get("naming") if isinstance(att, dict) else None
        if isinstance(nm, dict) and LONE_CANNOT_TELL in str(nm.get("rule") or ""):
            # one voice the profile could not name (fifty-third round): splitting it in two (--voices 2) was the
            # advice given, which cuts one person's speech into two voices (hostile sweep 21)
            raise InputError(f"this session's one voice was left {UNATTRIBUTED}: the voice profile could not tell "
                             "whose voice it is, and with no second voice there is nothing to exchange; if it is "
                             "the therapist's, enrol them again in the room and on the device of this session "
                             "(`prosody enrol`) and analyse the recording again")
        raise InputError(f"who spoke when is unsure in this session: its speech is one voice left {UNATTRIBUTED}, "
                         "with no second to exchange it with; `prosody analyze FILE --voices 2` splits the recording "
                         "in two (said unsure)")
    if len(order) != 2:
        raise InputError(f"the session holds {len(order)} speaker(s) ({', '.join(order)}); relabel exchanges two "
                         "voices")


def _relabel_attribution(doc: dict, new: dict, pair: tuple[str, str]) -> None:
    """The attribution record of ``new`` said relabelled (or back as found, relabelled twice): its naming's names
    and rule, no assumption left, the mixed voices' warning naming the exchanged voices."""
    att = new["attribution"]
    if isinstance(att.get("naming"), dict):
        nm = att["naming"]
        nm["names"] = [_swap_name(n, pair) for n in nm.get("names") or []]
        rule = str(nm.get("rule") or "")  # relabelled twice: back to the voices as found, said once
        for said in (SWAPPED, SWAPPED_BACK):
            rule = rule.removesuffix(f"; {said}").removesuffix(said)
        back = SWAP_NOTE in (doc.get("warnings") or [])
        nm["rule"] = f"{rule}; {SWAPPED_BACK if back else SWAPPED}".lstrip("; ")
        nm["assumption"], nm["confidence"] = False, 1.0
    att["relabelled"] = SWAP_NOTE not in (doc.get("warnings") or [])  # swapped back: the names as found
    att["warnings"] = [w for w in att.get("warnings") or [] if not str(w).startswith("assumption:")]
    dz = att.get("diarization")
    if isinstance(dz, dict) and isinstance(dz.get("mixed_voices"), list):
        dz["mixed_voices"] = [_swap_name(n, pair) for n in dz["mixed_voices"]]
        if isinstance(dz.get("voices_estimate"), int):  # the warning names the swapped voices
            text = more_voices_text(dz["voices_estimate"], dz["mixed_voices"])
            att["warnings"] = [text if str(w).startswith(MORE_VOICES_NOTE) else w for w in att["warnings"]]
            new["warnings"] = [text if str(w).startswith(MORE_VOICES_NOTE) else w
                               for w in new.get("warnings") or []]


def _relabelled_measures(doc: dict, new: dict, new_frames, order: list, pair: tuple[str, str]) -> dict:
    """The measures with the two voices exchanged: the therapist's warmth recomputed for the session, its phases
    and its rolling windows (gated as analysed), the cues said again, the arousal co-regulation recomputed."""
    m = doc["measures"]
    m2 = _swap_measure_tree(m, pair)
    mcfg = _config(m.get("config") if isinstance(m.get("config"), dict) else {})
    th = therapist_of(order, mcfg)
    whole = {"voice": m2.get("voice"), "timing": m2.get("timing"), "start_s": 0.0, "end_s": doc.get("duration_s")}
    _rewarm(whole, th, mcfg.warmth_min_session_speech_s, mcfg)
    if "warmth" in whole:
        m2["warmth"] = whole["warmth"]
    for block in m2.get("phases") or []:
        _rewarm(block, th, mcfg.warmth_min_phase_speech_s, mcfg)
        if m2.get("warmth", {}).get("not_enough") and isinstance(block.get("warmth"), dict) \
                and block["warmth"].get("score") is not None:
            _no_warmth(block["warmth"], "session: " + m2["warmth"]["not_enough"])
    trans = doc.get("transitions") or []
    for block in m2.get("rolling") or []:
        _rewarm(block, th, None, mcfg)
        if th is not None and isinstance(block.get("warmth"), dict) and block.get("start_s") is not None:
            a, b = float(block["start_s"]), float(block["end_s"])
            window = SimpleNamespace(transitions=[t for t in trans if a <= t["to_start_s"] < b],
                                     turn_taking=bool(doc.get("turn_taking")))
            _gate_rolling_warmth(block["warmth"], block["voice"][th], window, mcfg)
    _cues(m2, new, th, mcfg)
    _coregulation(m2, new, new_frames, mcfg)
    return m2
