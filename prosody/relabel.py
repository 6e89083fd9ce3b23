"""``prosody relabel``: the two voices of a saved session exchanged (issue 9, item 4).

When the wrong voice was named the therapist (no voice profile, the rule
"the voice heard first is the therapist" was wrong), every per-speaker figure
is right but sits under the other name. Relabelling exchanges the two
speakers' data (document and frames) and recomputes what depends on which
voice is the therapist: the warmth of the whole session, its phases and its
rolling windows. Everything else is per speaker and moves unchanged::

    before   therapist: [voice B's segments, frames, measures]   client: [voice A's]
    after    therapist: [voice A's ...]                          client: [voice B's ...]
"""
from __future__ import annotations

import copy
import dataclasses
from types import SimpleNamespace

from .engine.speakers import MORE_VOICES_NOTE, more_voices_text
from .errors import InputError
from .measures import MeasuresConfig, therapist_of, warmth
from .measures.summary import _gate_components, _gate_rolling_warmth, _gate_session_warmth, _no_warmth

SWAP_NOTE = "relabelled: the two voices were exchanged by the user (prosody relabel)"


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
    """The session's MeasuresConfig from its stored ``measures.config`` (scalars; defaults otherwise)."""
    names = {f.name for f in dataclasses.fields(MeasuresConfig)}
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names and not isinstance(v, dict)}
    try:
        return dataclasses.replace(MeasuresConfig(), **kw)
    except (TypeError, ValueError):
        return MeasuresConfig()


def relabel(doc: dict, frames: dict | None) -> tuple[dict, dict | None]:
    """(document, frames) with the two speakers' data exchanged; names and their
    order stay (therapist first), the therapist's warmth is recomputed.

    ``frames``: ``frames[speaker][key]`` arrays or None. Raises InputError for a
    session that does not hold exactly two speakers."""
    order = list(doc.get("speaker_order") or ())
    if len(order) != 2:
        raise InputError(f"the session holds {len(order)} speaker(s) ({', '.join(order)}); relabel exchanges two "
                         "voices")
    pair = (order[0], order[1])
    new = copy.deepcopy(doc)
    new["speakers"] = _swap_keys(doc.get("speakers") or {}, pair)
    for key in ("segments", "turns", "pauses", "events"):
        if isinstance(doc.get(key), list):
            new[key] = sorted(({**x, "speaker": _swap_name(x["speaker"], pair)} for x in doc[key]),
                              key=lambda x: (x["start_s"], x["end_s"], x["speaker"]))
    if isinstance(doc.get("transitions"), list):
        new["transitions"] = [{**t, "from_speaker": _swap_name(t["from_speaker"], pair),
                               "to_speaker": _swap_name(t["to_speaker"], pair)} for t in doc["transitions"]]
    att = new.get("attribution")
    if isinstance(att, dict):
        if isinstance(att.get("naming"), dict):
            nm = att["naming"]
            nm["names"] = [_swap_name(n, pair) for n in nm.get("names") or []]
            nm["rule"] = f"{nm.get('rule', '')}; swapped by the user".lstrip("; ")
            nm["assumption"], nm["confidence"] = False, 1.0
        if isinstance(att.get("channels"), dict):
            att["channels"] = _swap_keys(att["channels"], pair)
        att["relabelled"] = True
        att["warnings"] = [w for w in att.get("warnings") or [] if not str(w).startswith("assumption:")]
        dz = att.get("diarization")
        if isinstance(dz, dict) and isinstance(dz.get("mixed_voices"), list):
            dz["mixed_voices"] = [_swap_name(n, pair) for n in dz["mixed_voices"]]
            if isinstance(dz.get("voices_estimate"), int):  # the warning names the swapped voices
                text = more_voices_text(dz["voices_estimate"], dz["mixed_voices"])
                att["warnings"] = [text if str(w).startswith(MORE_VOICES_NOTE) else w for w in att["warnings"]]
                new["warnings"] = [text if str(w).startswith(MORE_VOICES_NOTE) else w
                                   for w in new.get("warnings") or []]
    audio = new.get("audio")
    if isinstance(audio, dict) and isinstance(audio.get("picks"), dict):
        audio["picks"] = _swap_keys(audio["picks"], pair)
    m = doc.get("measures")
    if isinstance(m, dict):
        m2 = _swap_measure_tree(m, pair)
        cfg = m.get("config") if isinstance(m.get("config"), dict) else {}
        mcfg = _config(cfg)
        th = therapist_of(order, mcfg)
        whole = {"voice": m2.get("voice"), "timing": m2.get("timing"), "start_s": 0.0,
                 "end_s": doc.get("duration_s")}
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
            if block.get("cues"):
                block["cues"] = []  # cues read the therapist's frames moment by moment: re-analyse for them
        new["measures"] = m2
    warnings = [w for w in new.get("warnings") or [] if not str(w).startswith("assumption:")]
    if SWAP_NOTE in warnings:  # relabelled twice: back to the original attribution
        warnings.remove(SWAP_NOTE)
    else:
        warnings.append(SWAP_NOTE)
    new["warnings"] = warnings
    new_frames = None if frames is None else {pair[0]: frames[pair[1]], pair[1]: frames[pair[0]]}
    return new, new_frames
