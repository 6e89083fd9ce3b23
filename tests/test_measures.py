"""Measures with planted truth: dialogues built with known structure, and the
warmth composite's direction per component."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from prosody.measures import (MEASURES, first_holder, WARMTH_COMPONENTS, CueConfig, MeasuresConfig, docs_markdown,
                              session_slice, summarize, warmth)
from prosody.session import analyze_blocks
from tests.conftest import REPO

SPK = ("therapist", "client")
T, C = SPK


# --------------------------------------------------------------------------
# dialogue building: utterances placed relative to the previous floor end
def build(plan, *, seed=0, **mix):
    """``plan``: list of (speaker, text, offset_s, role, kwargs). ``offset_s`` is
    relative to the end of the previous floor utterance (negative: overlap)."""
    from tests.dialogue import Utterance, build_dialogue, default_voice, synthesize
    utts, floor_end = [], 0.5
    for i, (spk, text, off, role, kw) in enumerate(plan):
        start = 0.5 if i == 0 else floor_end + off
        y = synthesize(text, voice=default_voice(spk), pitch=kw.get("pitch"), speed_wpm=kw.get("speed_wpm"))
        utts.append(Utterance(speaker=spk, text=text, start_s=round(start, 3), role=role, **kw))
        if role in ("turn", "interruption"):
            floor_end = start + len(y) / 16000
    return build_dialogue(utts, seed=seed, **mix)


THER = ("How have you been since we last met?", "What was that like for you?", "Tell me more about that.",
        "That sounds really difficult.", "What did you notice in your body?", "How did you respond?")
THER_LONG = ("It sounds like you have been carrying a lot on your own lately and that must be exhausting",
             "I wonder whether part of you feels that nobody really noticed how hard you were trying")
CLI = ("It was a hard week.", "I felt tired all the time.", "I did not sleep well.", "My sister called me.",
       "I went for a long walk.", "Work was very stressful.")


def needs(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")


@pytest.fixture(scope="module")
def dialogue_a():
    """Therapist talks most (long sentences), answers after exactly 0.1 s or
    0.9 s, interrupts the client three times (0.5 s overlaps)."""
    needs("espeak-ng")
    plan, gaps = [], [0.1, 0.9]
    k = 0
    for i in range(12):
        plan.append((C, CLI[i % len(CLI)], 0.6, "turn", {}))
        if i in (3, 6, 9):
            plan.append((T, THER[i % len(THER)], -0.5, "interruption", {}))
        else:
            plan.append((T, THER_LONG[i % 2], gaps[k % 2], "turn", {}))
            k += 1
    d = build(plan, seed=1)
    s = analyze_blocks([d.audio], SPK, measures=MeasuresConfig(network_delay_ms=100.0,
                                                                 cues=CueConfig(quick_answers=True)))
    return d, s


def planted_share(d):
    tt = sum(b - a for a, b in d.truth.segments(T))
    cc = sum(b - a for a, b in d.truth.segments(C))
    return tt / (tt + cc)


def test_talk_share_within_two_points(dialogue_a):
    d, s = dialogue_a
    m = s.measures.timing
    assert planted_share(d) > 0.6
    assert abs(m[T]["talk_share"] - planted_share(d)) <= 0.02
    assert abs(m[C]["talk_share"] - (1 - planted_share(d))) <= 0.02


def test_gaps_before_answering_within_50ms(dialogue_a):
    d, s = dialogue_a
    planted = [t.offset_s for t in d.truth.transitions if t.to_speaker == T and t.kind == "gap"]
    assert sorted(set(round(x, 2) for x in planted)) == [0.1, 0.9]
    got = [t.offset_s for t in s.turns.transitions if t.to_speaker == T and t.offset_s > 0]
    assert len(got) == len(planted)
    assert np.max(np.abs(np.array(got) - np.array(planted))) <= 0.05
    all_planted = [t.offset_s for t in d.truth.transitions if t.to_speaker == T]
    assert abs(s.measures.timing[T]["gap_median_s"] - np.median(all_planted)) <= 0.05


def test_interruptions_counted_exactly(dialogue_a):
    _, s = dialogue_a
    m = s.measures.timing
    assert m[T]["interruptions"] == 3 and m[C]["interruptions"] == 0
    assert m[T]["failed_interruptions"] == 0 and m[C]["failed_interruptions"] == 0


def test_network_delay_corrects_client_gaps_only(dialogue_a):
    _, s = dialogue_a
    m = s.measures.timing
    assert m[C]["gap_median_corrected_s"] == pytest.approx(m[C]["gap_median_s"] - 0.2, abs=1e-3)
    assert "gap_median_corrected_s" not in m[T]


def test_overlap_and_quick_answer_cues(dialogue_a):
    _, s = dialogue_a
    kinds = {c["kind"] for w in s.rolling for c in w.cues}
    assert "overlaps" in kinds          # 3 interruptions within two minutes
    assert "monologue" not in kinds     # no turn reaches 90 s


def test_rolling_timing_equals_offline_recomputation(dialogue_a):
    _, s = dialogue_a
    cfg = MeasuresConfig(network_delay_ms=100.0)
    for w in s.rolling:
        sl = session_slice(s, w.start_s, w.end_s)
        off = summarize(sl, __import__("prosody.measures", fromlist=["x"]).session_baseline(s), cfg,
                        with_attunement=False, first=first_holder(s.segments, s.speakers))
        for spk in SPK:
            for key in ("talk_share", "turns_per_min", "longest_monologue_s", "gap_median_s", "overlaps",
                        "interruptions", "failed_interruptions", "backchannels"):
                assert w.timing[spk][key] == off["timing"][spk][key], (w.end_s, spk, key)


@pytest.fixture(scope="module")
def dialogue_speedup_pitch(tmp_path_factory):
    """The therapist speeds up in the last third (espeak 175 -> 260 wpm) and,
    separately, raises pitch by 3 semitones in the last third (sox pitch 300)."""
    needs("espeak-ng")
    needs("sox")
    plan = []
    for i in range(18):
        fast = i >= 12
        plan.append((C, CLI[i % len(CLI)], 0.7, "turn", {}))
        plan.append((T, THER[i % len(THER)], 0.7, "turn", {"speed_wpm": 260 if fast else 175}))
    d = build(plan, seed=2)
    s = analyze_blocks([d.audio], SPK, measures=MeasuresConfig(window_s=20.0))
    # pitch raise: therapist channel from two thirds on, shifted +300 cents by sox
    tmp = tmp_path_factory.mktemp("pitch")
    audio = np.array(d.audio)
    cut = int(len(audio) * 2 / 3)
    sf.write(tmp / "in.wav", audio[:, 0], 16000, subtype="FLOAT")
    subprocess.run(["sox", str(tmp / "in.wav"), str(tmp / "out.wav"), "pitch", "300"], check=True)
    shifted, _ = sf.read(tmp / "out.wav", dtype="float32")
    audio[cut:, 0] = shifted[cut:len(audio)]
    s_pitch = analyze_blocks([audio], SPK)
    return d, s, s_pitch


def test_speeding_up_in_last_third(dialogue_speedup_pitch):
    _, s, _ = dialogue_speedup_pitch
    ph = {p["name"]: p for p in s.measures.phases}
    open_rate = ph["opening"]["voice"][T]["articulation_rate_syl_s"]
    close_rate = ph["closing"]["voice"][T]["articulation_rate_syl_s"]
    assert close_rate > 1.25 * open_rate, (open_rate, close_rate)
    # the client's pace did not change
    c_open, c_close = ph["opening"]["voice"][C]["articulation_rate_syl_s"], ph["closing"]["voice"][C]["articulation_rate_syl_s"]
    assert abs(c_close / c_open - 1) < 0.15
    # a 20 s rolling window at the end sees the therapist above the running baseline
    late = [w for w in s.rolling if w.end_s > 0.95 * s.duration_s]
    assert late[-1].voice[T]["articulation_rate_rel"] > 0.15


def test_raising_pitch_three_semitones(dialogue_speedup_pitch):
    _, s, sp = dialogue_speedup_pitch
    ph0 = {p["name"]: p for p in s.measures.phases}
    ph1 = {p["name"]: p for p in sp.measures.phases}
    # same audio before the cut: opening unchanged; closing raised by 3 st relative to the opening
    rise = ph1["closing"]["voice"][T]["f0_median_rel_st"] - ph1["opening"]["voice"][T]["f0_median_rel_st"]
    rise0 = ph0["closing"]["voice"][T]["f0_median_rel_st"] - ph0["opening"]["voice"][T]["f0_median_rel_st"]
    assert abs((rise - rise0) - 3.0) <= 0.3, (rise, rise0)
    # and the client's pitch is untouched
    assert abs(ph1["closing"]["voice"][C]["f0_median_rel_st"] - ph0["closing"]["voice"][C]["f0_median_rel_st"]) < 0.1
    # the warmth component for raised pitch moves the documented way
    comp = lambda sess: {c["name"]: c for c in {p["name"]: p for p in sess.measures.phases}["closing"]["warmth"]["components"]}  # noqa: E731
    assert comp(sp)["pitch_raised_share"]["value"] > comp(s)["pitch_raised_share"]["value"] + 0.3
    assert comp(sp)["pitch_raised_share"]["contribution"] < comp(s)["pitch_raised_share"]["contribution"]


def _mirror_dialogue(mirror: bool, seed: int):
    rng = np.random.default_rng(seed)
    plan = []
    for i in range(22):
        p_client = int(rng.integers(5, 95))
        p_ther = p_client if mirror else int(rng.integers(5, 95))
        plan.append((C, CLI[i % len(CLI)], 0.6, "turn", {"pitch": p_client}))
        plan.append((T, THER[i % len(THER)], 0.6, "turn", {"pitch": p_ther}))
    d = build(plan, seed=seed)
    return analyze_blocks([d.audio], SPK).measures.attunement


def test_mirrored_pitch_is_entrainment_in_that_direction_only():
    needs("espeak-ng")
    a = _mirror_dialogue(True, seed=3)
    follow = a["by_direction"]["client->therapist"]
    lead = a["by_direction"]["therapist->client"]
    assert follow["synchrony"]["pitch"]["reading"] == "synchronous beyond chance"
    assert follow["proximity"]["pitch"]["reading"] == "more alike than chance"
    # the client does not follow the therapist: the other direction reads as chance
    assert lead["synchrony"]["pitch"]["reading"] == "within chance"
    assert lead["proximity"]["pitch"]["reading"] == "within chance"


def test_unmirrored_pitch_reads_as_chance():
    needs("espeak-ng")
    a = _mirror_dialogue(False, seed=3)
    for direction in ("client->therapist", "therapist->client"):
        assert a["by_direction"][direction]["synchrony"]["pitch"]["reading"] == "within chance"
        assert a["by_direction"][direction]["proximity"]["pitch"]["reading"] == "within chance"
    assert a["synchrony"]["pitch"]["reading"] == "within chance"


def test_silence_broken_by_client_and_monologue_cue():
    needs("espeak-ng")
    plan = [(T, THER_LONG[0], 0.0, "turn", {}), (T, THER_LONG[1], 0.4, "turn", {}),
            (T, THER[0], 0.4, "turn", {}), (T, THER_LONG[0], 0.4, "turn", {}),
            (C, CLI[0], 3.0, "turn", {}), (T, THER[1], 0.5, "turn", {})]
    # the planner treats same-speaker "turns" as continuing the floor
    d = build(plan, seed=4, min_pause_s=0.3)
    s = analyze_blocks([d.audio], SPK, measures=MeasuresConfig(cues=CueConfig(monologue_s=12.0)))
    sil = s.measures.silences
    assert len(sil) == 1 and sil[0]["broken_by"] == C and abs(sil[0]["duration_s"] - 3.0) <= 0.05
    assert s.measures.timing[C]["silences_broken"] == 1
    mono = [w for w in s.rolling if any(c["kind"] == "monologue" for c in w.cues)]
    assert mono, "a monologue longer than the threshold gives a cue"
    assert all(w.end_s >= 12.0 for w in mono)


# --------------------------------------------------------------------------
# warmth: each component moves the score in its documented direction
BASE_VOICE = {"pitch_raised_share": 0.1, "level_raised_share": 0.1, "f0_instability_st": 2.0,
              "level_instability_db": 4.0, "rushed_share": 0.1}
BASE_TIMING = {"gap_median_s": 0.3, "interruptions": 1, "failed_interruptions": 0}


@pytest.mark.parametrize("component", [c[0] for c in WARMTH_COMPONENTS])
def test_warmth_component_direction(component):
    spec = {c[0]: c for c in WARMTH_COMPONENTS}[component]
    warm, cool = spec[3], spec[4]
    voice, timing = dict(BASE_VOICE), dict(BASE_TIMING)
    base = warmth(voice, timing, minutes=20.0)
    # move the component one step toward its cool anchor, all else equal
    if component == "talk_over_per_10min":
        timing["interruptions"] += 3
    elif component in timing:
        timing[component] += 0.25 * (cool - warm)
    else:
        voice[component] += 0.25 * (cool - warm)
    moved = warmth(voice, timing, minutes=20.0)
    assert moved["score"] < base["score"]
    c0 = {c["name"]: c for c in base["components"]}[component]
    c1 = {c["name"]: c for c in moved["components"]}[component]
    assert c1["contribution"] < c0["contribution"]
    others = [c["name"] for c in base["components"] if c["name"] != component]
    for name in others:
        assert {c["name"]: c for c in moved["components"]}[name]["contribution"] == \
            {c["name"]: c for c in base["components"]}[name]["contribution"]
    assert c0["source"] and c0["direction"]


def test_warmth_leaves_out_missing_components():
    w = warmth(dict(BASE_VOICE, rushed_share=None), None, minutes=10.0)
    assert w["n_components"] == 4
    assert abs(sum(c["contribution"] for c in w["components"] if c["contribution"] is not None) - w["score"]) < 1e-3
    assert "not a clinical judgement" in w["note"]


# --------------------------------------------------------------------------
def test_docs_match_code():
    assert (REPO / "docs" / "measures.md").read_text(encoding="utf-8") == docs_markdown(), \
        "regenerate with: python -m prosody.measures > docs/measures.md"
    text = docs_markdown()
    for m in MEASURES:
        assert f"`{m.name}`" in text


@pytest.mark.parametrize("uri", ["dev00", "dev01"])
def test_ami_two_party_mono_measures_plausible(corpus, uri):
    x, sr = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
    s = analyze_blocks([x[:, None]], ("therapist",))
    m = s.measures
    v = m.voice["therapist"]
    assert m.timing is None and m.attunement is None and m.silences is None
    assert all(w.timing is None and w.attunement is None for w in m.rolling)
    assert m.warmth["n_components"] == 5  # voice components only: no turn-taking claims
    assert 0 <= m.warmth["score"] <= 100
    assert 1.0 <= v["f0_sd_st"] <= 8.0 and 5.0 <= v["f0_range_st"] <= 30.0
    assert 2.0 <= v["articulation_rate_syl_s"] <= 8.0
    assert abs(v["f0_median_rel_st"]) < 0.2 and abs(v["level_rel_db"]) < 0.2  # session baseline
    for w in m.rolling:
        for key in ("f0_median_rel_st", "level_rel_db", "arousal_z"):
            val = w.voice["therapist"][key]
            assert val is None or np.isfinite(val)


def test_rolling_warmth_is_null_until_the_window_holds_enough_speech(dialogue_a):
    """Planted: the therapist's speech per window from the dialogue's truth. A
    window with clearly less than the minimum shows no warmth (and says why);
    one with clearly more (and speaker changes) shows a score."""
    from prosody.measures import warmth_min_speech_s
    d, s = dialogue_a
    cfg = MeasuresConfig()
    need = warmth_min_speech_s(cfg)
    segs = d.truth.segments(T)
    n_null = n_scored = 0
    for w in s.rolling:
        a, b = w.start_s, w.end_s
        planted = sum(max(0.0, min(y, b) - max(x, a)) for x, y in segs)
        if planted < need - 1.5:
            assert w.warmth["score"] is None and "not enough speech yet" in w.warmth["not_enough"], w.end_s
            n_null += 1
        elif planted > need + 1.5 and len([t for t in s.turns.transitions if a <= t.to_start_s < b]) >= 2:
            assert w.warmth["score"] is not None, (w.end_s, planted)
            n_scored += 1
    assert n_null >= 2 and n_scored >= 5, (n_null, n_scored)
    # the first window (5 s) can say nothing; the session figure is unaffected
    assert s.rolling[0].warmth["score"] is None and s.measures.warmth["score"] is not None
    # the live view says so instead of a number
    from prosody_cli.liveview import _rolling_lines
    text = "\n".join(t.plain for t in _rolling_lines(s.rolling[0], 100))
    assert "not enough speech yet" in text and "/100" not in text


def test_session_warmth_is_null_without_enough_therapist_speech():
    """Planted: 20 s of two-channel noise with one 0.4 s tone burst on the
    therapist's channel (no speech to speak of). Every component would read "as
    usual" and no talk-over would score full points: the session and its phases
    show no warmth and say why, and the terminal view says so instead of 100."""
    rng = np.random.default_rng(4)
    sr = 16000
    audio = (rng.standard_normal((20 * sr, 2)) * 1e-3).astype(np.float32)
    t = np.arange(int(0.4 * sr)) / sr
    audio[5 * sr:5 * sr + len(t), 0] += (0.3 * np.sin(2 * np.pi * 180 * t) * np.hanning(len(t))).astype(np.float32)
    s = analyze_blocks([audio], SPK)
    w = s.measures.warmth
    assert w["score"] is None and w["not_enough"].startswith("not enough speech"), w
    assert all(c["contribution"] is None for c in w["components"])
    assert all(p["warmth"]["score"] is None for p in s.measures.phases)
    from prosody_cli.view import warmth_lines
    text = "\n".join(t.plain for t in warmth_lines(w, "session"))
    assert "Warmth –" in text and "not enough speech" in text and "100" not in text
