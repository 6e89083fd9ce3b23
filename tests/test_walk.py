"""A user's walk-through (2026-12-04): what a therapist, a supervisor and the live view are told,
checked against planted truth (docs/store.md, "A user's walk-through")."""
from __future__ import annotations

import pytest

from prosody.measures import CueConfig, MeasuresConfig, cues
from prosody.measures.slice import Slice
from prosody.timebase import GRID
from prosody.types import Event, Segment

T, C = "therapist", "client"


def _cue_slice(segments, events, *, end_s, window_s=60.0, look_s=120.0) -> Slice:
    """A rolling window as the live view's measures cut it: [end - 60 s, end), looking back 120 s."""
    return Slice.cut(grid=GRID, speakers=(T, C), frame0=GRID.s_to_frames(end_s - window_s),
                     frame1=GRID.s_to_frames(end_s), frames={T: {}, C: {}}, segments=tuple(segments),
                     transitions=(), events=tuple(events), turn_taking=True, look_s=end_s - look_s)


def _overlap_cue(sl):
    got = [c for c in cues(sl, {}, {}, MeasuresConfig(therapist=T, client=C, cues=CueConfig()), None, therapist=T)
           if c["kind"] == "overlaps"]
    return got[0] if got else None


def test_overlaps_cue_counts_talking_over_the_client_not_listening_sounds():
    """The live cue "overlaps" (on by default) fired on a therapist's "mm-hm"s: it counted every
    segment of the therapist's that started while the client spoke, so three backchannels inside
    the client's speech in two minutes told the therapist "3 overlaps in the last 2 minutes", a
    warning for listening. Planted: the client talks 10-70 s; the therapist says "mm-hm" inside it
    at 20, 35 and 50 s (backchannels), then talks over the client at 80, 95 and 110 s
    (interruptions; one tried and gave up at 95: a failed interruption)."""
    client = [Segment(C, 10.0, 70.0), Segment(C, 78.0, 82.0), Segment(C, 93.0, 97.0), Segment(C, 108.0, 112.0)]
    mmhm = [Segment(T, t, t + 0.5) for t in (20.0, 35.0, 50.0)]
    over = [Segment(T, 80.0, 86.0), Segment(T, 95.0, 96.0), Segment(T, 110.0, 116.0)]
    events = [Event("backchannel", T, t, t + 0.5) for t in (20.0, 35.0, 50.0)] + [
        Event("interruption", T, 80.0, 86.0), Event("failed_interruption", T, 95.0, 96.0),
        Event("interruption", T, 110.0, 116.0)]
    segs = sorted(client + mmhm + over, key=lambda s: s.start_s)
    # three "mm-hm"s in two minutes: no cue (the old rule: "3 overlaps in the last 2 minutes")
    assert _overlap_cue(_cue_slice(segs, events, end_s=60.0)) is None
    assert _overlap_cue(_cue_slice(segs, events, end_s=75.0)) is None
    # two talk-overs (and the three "mm-hm"s): still none
    assert _overlap_cue(_cue_slice(segs, events, end_s=100.0)) is None
    # the third talk-over (the first one 80 s, 40 s before: outside the 60 s window, inside the 2 minutes)
    cue = _overlap_cue(_cue_slice(segs, events, end_s=120.0))
    assert cue is not None and cue["value"] == 3
    assert cue["message"] == "you talked over the client, or tried to, 3 times in 2 minutes"
    # and two minutes after the first, it has left the count
    assert _overlap_cue(_cue_slice(segs, events, end_s=205.0)) is None
    # the client's own talk-overs are not the therapist's
    swapped = [Event(e.kind, C, e.start_s, e.end_s) for e in events]
    assert _overlap_cue(_cue_slice(segs, swapped, end_s=120.0)) is None


@pytest.fixture(scope="module")
def listening_then_talking_over(tmp_path_factory):
    """An espeak dialogue: the client talks in long sentences and the therapist says "mm-hm" softly
    inside three of them (about 30 s apart), then talks over the client three times."""
    import shutil
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")
    from tests.dialogue import (BACKCHANNEL_TOKENS, CLIENT_LONG_SENTENCES, THERAPIST_INTERRUPTIONS, _Planner,
                                build_dialogue)
    p = _Planner(11)
    p.turn(C, p.pick(C, CLIENT_LONG_SENTENCES), 0.0)
    for i in range(9):
        if i in (1, 4, 7):
            p.inside(T, p.pick(T, BACKCHANNEL_TOKENS, max_s=0.6), "backchannel", lead_s=1.0, tail_s=0.8, gain_db=-8)
        p.turn(C, p.pick(C, CLIENT_LONG_SENTENCES), 0.5)
    for k in range(3):
        p.interruption(T, THERAPIST_INTERRUPTIONS[k % 2], 0.6)
        p.turn(C, p.pick(C, CLIENT_LONG_SENTENCES), 0.8)
    return build_dialogue(p.utterances, noise_db=-70.0, seed=11)


def test_overlaps_cue_on_a_planted_dialogue(listening_then_talking_over):
    """The same through the whole pipeline (as `prosody analyze` and `prosody live` run it): no
    overlaps cue while the therapist only says "mm-hm"; it fires after the third talk-over starts, within
    10 s of its end."""
    from prosody.session import analyze_blocks
    d = listening_then_talking_over
    truth = d.truth
    assert len([e for e in truth.backchannels if e.speaker == T]) == 3
    third = sorted((e.start_s, e.end_s) for e in truth.interruptions if e.speaker == T)[2]
    s = analyze_blocks([d.audio], (T, C))
    assert s.to_json_dict()["speakers"][T]["backchannels"] == 3  # found as such: they are what is planted
    fired = [w.end_s for w in s.rolling if any(c["kind"] == "overlaps" for c in w.cues)]
    assert fired, "the overlaps cue never fired"
    assert third[0] < fired[0] <= third[1] + 10.0, (fired[0], third)


def test_relabel_recomputes_the_overlaps_cue_from_the_talk_overs(listening_then_talking_over, tmp_path):
    """`prosody relabel` recomputes each rolling window's cues for the voice now named the therapist;
    the overlaps cue reads the talk-overs (events), which it now has: saved with the channels named
    the wrong way round and relabelled, the session's cues are those of the recording analysed with
    the right names (the cue fires after the third planted talk-over)."""
    import json

    import soundfile as sf

    from tests.conftest import run_cli
    d = listening_then_talking_over
    wav, store = tmp_path / "d.wav", tmp_path / "st"
    sf.write(wav, d.audio, d.sample_rate, subtype="PCM_16")
    rc, _, err = run_cli("analyze", str(wav), "--json", str(tmp_path / "right.json"), "--quiet", "--no-progress")
    assert rc == 0, err
    rc, _, err = run_cli("analyze", str(wav), "--channels", "therapist=right,client=left", "--save", "--store",
                         str(store), "--quiet", "--no-progress")
    assert rc == 0, err
    rc, _, err = run_cli("relabel", "1", "--store", str(store))
    assert rc == 0, err
    rc, _, err = run_cli("export", "1", "--store", str(store), "--format", "json", "-o", str(tmp_path / "after.json"))
    assert rc == 0, err
    right = json.loads((tmp_path / "right.json").read_text())["measures"]["rolling"]
    after = json.loads((tmp_path / "after.json").read_text())["measures"]["rolling"]
    cues_right = [(w["end_s"], w["cues"]) for w in right]
    assert any(any(c["kind"] == "overlaps" for c in cs) for _, cs in cues_right)
    assert [(w["end_s"], w["cues"]) for w in after] == cues_right


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory):
    """The bundled dialogue saved into a store (session 1): one planted talk-over of the client
    by the therapist (27.64 s), its only moment to review."""
    from tests.conftest import FIXTURES, run_cli
    store = tmp_path_factory.mktemp("walk") / "st"
    rc, _, err = run_cli("analyze", str(FIXTURES / "dialogue.flac"), "--save", "--store", str(store), "--therapist",
                         "ann", "--client", "C7", "--quiet", "--no-progress")
    assert rc == 0, err
    return store


def test_one_moment_is_said_in_the_singular(fixture_store, tmp_path):
    """`show` said "1 moments to review" and the report "1 moments, best first"."""
    import json

    from tests.conftest import run_cli
    rc, out, err = run_cli("moments", "1", "--json", "--store", str(fixture_store))
    assert rc == 0, err
    ms = json.loads(out)
    assert [(m["kind"], round(m["start_s"])) for m in ms] == [("interruption", 28)]  # planted 27.64 s
    rc, out, err = run_cli("show", "1", "--store", str(fixture_store))
    assert rc == 0, err
    assert "1 moment to review: talked over the client 1" in " ".join(out.split())
    rc, _, err = run_cli("report", "1", "--store", str(fixture_store), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    assert "<p>1 moment, best first" in (tmp_path / "r.html").read_text()


def _text(html: str) -> str:
    import html as html_mod
    import re
    return " ".join(html_mod.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_attunement_features_and_warmth_components_are_named_in_plain_words(fixture_store, tmp_path):
    """The terminal summary calls the attunement features pitch, loudness and pace; the report,
    `show`, `compare`, `trend` and the live view said "intensity" and "rate" (the JSON keys), the
    report's attunement table "proximity" / "synchrony" / "convergence" bare, and its rolling warmth
    chart and definitions named the components by their identifiers ("pitch raised share",
    "f0 instability st", "talk over per 10min")."""
    from tests.conftest import run_cli
    rc, _, err = run_cli("report", "1", "--store", str(fixture_store), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    html = (tmp_path / "r.html").read_text()
    att = _text(html[html.index('<section id="attunement">'):html.index('<section id="phases">')])
    for kind in ("Alike at turn exchanges (proximity)", "Moving together (synchrony)",
                 "Becoming alike (convergence)"):
        for feat in ("pitch", "loudness", "pace"):
            assert f"{kind} {feat} " in att
    assert "intensity" not in att and " rate " not in att
    warmth = _text(html[html.index('<section id="warmth">'):html.index('<section id="attunement">')])
    legend = warmth[warmth.index("Rolling warmth components"):]
    for words in ("Pitch raised above your baseline", "Volume unsteadiness", "Talking over the client, or trying to"):
        assert words in legend
    assert "pitch raised share" not in legend and "instability" not in legend and "10min" not in legend
    defs = _text(html[html.index('<section id="definitions">'):])
    assert "warmth: Pitch unsteadiness" in defs and "f0 instability" not in defs
    # show: the planted fixture's one attunement figure beyond chance (convergence of loudness, -0.53)
    rc, out, err = run_cli("show", "1", "--store", str(fixture_store))
    assert rc == 0, err
    assert "attunement beyond chance: becoming alike (convergence): loudness -0.53" in " ".join(out.split())
    # compare (and trend: the same table): the rows by their plain names
    rc, out, err = run_cli("compare", "1", "--store", str(fixture_store), "-o", str(tmp_path / "c.html"))
    assert rc == 0, err
    page = _text((tmp_path / "c.html").read_text())
    assert "Alike at turn exchanges: loudness" in page and "Becoming alike: pace" in page
    assert "intensity" not in page and "exchanges: rate" not in page


def test_live_view_names_the_attunement_features_as_the_summary_does():
    import os

    from rich.console import Console

    from cli.liveview import _rolling_lines
    from prosody.measures import RollingWindow
    cell = {"value": -0.56, "chance_low": -0.55, "chance_high": 0.5}
    rw = RollingWindow(start_s=0.0, end_s=60.0, baseline="running", voice={}, timing=None, warmth=None,
                       attunement={"n_exchanges": 9, **{k: {"pitch": cell, "intensity": cell, "rate": cell}
                                                        for k in ("proximity", "synchrony", "convergence")}},
                       cues=())
    con = Console(width=80, record=True, color_system=None, file=open(os.devnull, "w"))
    for line in _rolling_lines(rw, 80):
        con.print(line)
    text = con.export_text()
    assert "pitch -0.56↓" in text and "loudness -0.56↓" in text and "pace -0.56↓" in text
    assert "intensity" not in text and "rate" not in text


@pytest.mark.parametrize("width", [80, 60])
def test_live_view_shows_a_long_cue_not_a_bare_ellipsis(width):
    """On the full-screen view (80 x 24) a cue longer than what its line had after the label was
    moved to a second line and, cues having one line, shown as "cues       …": the planted talk-overs'
    cue fired and the therapist saw nothing of it (pty replay of a planted dialogue, 2026-12-04)."""
    import os

    from rich.console import Console

    from cli.liveview import _rolling_lines
    from prosody.measures import RollingWindow
    msg = "you talked over the client, or tried to, 3 times in 2 minutes"
    rw = RollingWindow(start_s=0.0, end_s=60.0, baseline="running", voice={}, timing=None, warmth=None,
                       attunement=None, cues=({"kind": "overlaps", "message": msg, "value": 3},
                                             {"kind": "quick_answers", "message": "you answered within 200 ms (or in overlap) 3 times "
                                              "running", "value": 3}))
    con = Console(width=width, record=True, color_system=None, file=open(os.devnull, "w"))
    for line in _rolling_lines(rw, width):
        con.print(line)
    lines = [x for x in con.export_text().split("\n") if x.startswith("cues")]
    assert len(lines) == 1 and len(lines[0]) <= width
    shown = lines[0][len("cues"):].strip()
    assert shown.endswith("…") and len(shown) > 20 and msg.startswith(shown[:-1]), lines


def test_withheld_warmth_is_said_not_scored_and_draws_no_empty_chart(listening_then_talking_over, tmp_path):
    """The therapist of the planted dialogue speaks about 6 s (three "mm-hm"s, three talk-overs): too
    little for a warmth score (10 s) and for any rolling window's (20 s). The terminal printed each
    component's value and, beside it, "no data"; the report drew the rolling warmth chart and its
    components' chart, axes and legends without a line, under "N window(s) show no warmth: not enough
    speech yet (first: 0:05, not enough speech yet: ...)"."""
    import json

    import soundfile as sf

    from tests.conftest import run_cli
    d = listening_then_talking_over
    therapist_s = sum(b - a for a, b in d.truth.therapist_segments)
    assert 4.0 < therapist_s < 10.0
    wav, store = tmp_path / "d.wav", tmp_path / "st"
    sf.write(wav, d.audio, d.sample_rate, subtype="PCM_16")
    rc, _, err = run_cli("analyze", str(wav), "--save", "--store", str(store), "--quiet", "--no-progress")
    assert rc == 0, err
    rc, out, err = run_cli("show", "1", "--store", str(store))
    assert rc == 0, err
    text = " ".join(out.split())
    assert "Warmth – (relative to" in text
    assert "Pitch raised above your baseline: " in text and "of your speech not scored" in text
    rc, _, err = run_cli("report", "1", "--store", str(store), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    html = (tmp_path / "r.html").read_text()
    warmth = html[html.index('<section id="warmth">'):html.index('<section id="attunement">')]
    rc, _, err = run_cli("export", "1", "--store", str(store), "--format", "json", "-o", str(tmp_path / "s.json"))
    assert rc == 0, err
    m = json.loads((tmp_path / "s.json").read_text())["measures"]
    valued = [c for c in m["warmth"]["components"] if c["value"] is not None]
    assert len(valued) >= 5 and text.count("not scored") == len(valued)
    assert text.count("no data") == len(m["warmth"]["components"]) - len(valued)  # those without a value
    windows = m["rolling"]
    assert windows and all(w["warmth"]["score"] is None for w in windows)
    assert "<svg" not in warmth and "No rolling warmth chart: no window of the session has a score." in warmth
    assert f"{len(windows)} of {len(windows)} windows show no warmth score" in _text(warmth)


def test_metadata_without_save_says_what_to_do(tmp_path):
    """README: `prosody analyze table.m4a --save --therapist ann` uses ann's voice profile. Without
    --save it was refused with "--therapist describe a saved session: add --save" (the verb in the
    plural, and no word of --profile, which names the therapist without saving)."""
    from tests.conftest import FIXTURES, one_line_error, run_cli
    rc, _, err = run_cli("analyze", str(FIXTURES / "dialogue.flac"), "--therapist", "ann", "--store",
                         str(tmp_path / "st"), "--quiet", "--no-progress")
    one_line_error(rc, err)
    assert "--therapist describes a saved session: add --save (--profile NAME names the therapist by a voice " \
           "profile without saving)" in err
    rc, _, err = run_cli("analyze", str(FIXTURES / "dialogue.flac"), "--client", "C7", "--tag", "x", "--store",
                         str(tmp_path / "st"), "--quiet", "--no-progress")
    one_line_error(rc, err)
    assert "--client, --tag describe a saved session: add --save" in err and "--profile" not in err


def test_a_client_who_speaks_first_is_named_the_therapist_and_told_how_to_undo_it(tmp_path):
    """Mono, no voice profile: the voice heard first is taken for the therapist. Planted: the client
    speaks first (a recording started as the client talks), so every figure was the other person's,
    under a warning that named the assumption but not the way out. It now names `prosody relabel`,
    which gives the planted figures back."""
    import json
    import shutil

    import soundfile as sf
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")
    from tests.conftest import run_cli
    from tests.dialogue import (CLIENT_LONG_SENTENCES, THERAPIST_SENTENCES, _Planner, build_dialogue, mix_room)
    p = _Planner(5)
    for k in range(6):
        p.turn(C, p.pick(C, CLIENT_LONG_SENTENCES), 0.7)
        p.turn(T, p.pick(T, THERAPIST_SENTENCES), 0.6)
    d = build_dialogue(p.utterances, noise_db=None, seed=5)
    y, _ = mix_room(d, layout="mono", seed=2)
    wav, store = tmp_path / "m.wav", tmp_path / "st"
    sf.write(wav, y, d.sample_rate, subtype="PCM_16")
    share = {s: sum(b - a for a, b in d.truth.segments(s)) for s in (T, C)}
    truth_t = share[T] / (share[T] + share[C])
    assert truth_t < 0.4
    rc, _, err = run_cli("analyze", str(wav), "--save", "--store", str(store), "--quiet", "--no-progress")
    assert rc == 0, err
    assert "the voice heard first" in err and "`prosody relabel` exchanges the two voices" in err
    def therapist_share():
        rc, _, e = run_cli("export", "1", "--store", str(store), "--format", "json", "-o", str(tmp_path / "s.json"))
        assert rc == 0, e
        return json.loads((tmp_path / "s.json").read_text())["speakers"][T]["talk_share"]
    assert abs(therapist_share() - (1 - truth_t)) < 0.05  # the client's figures, named the therapist's
    rc, _, err = run_cli("relabel", "1", "--store", str(store))
    assert rc == 0, err
    assert abs(therapist_share() - truth_t) < 0.05


def test_a_run_of_talk_overs_is_not_said_to_be_answers_within_200_ms():
    """The quick-answers cue and moment count an answer in overlap (offset under 0.2 s, negative
    included). Planted: the therapist talks over the client three times in a row (offsets -0.6 s);
    the live view said "you answered within 200 ms 3 times running", and the moment "You answered
    within 200 ms 3 times in a row", of answers that came before the client had stopped."""
    from prosody.measures.slice import Slice
    from prosody.moments import MomentsConfig, candidates
    from prosody.types import Transition
    trs = []
    for i in range(3):
        a = 10.0 + 10.0 * i
        trs += [Transition(C, T, a, a - 0.6), Transition(T, C, a + 2.0, a + 3.0)]
    sl = Slice(grid=GRID, speakers=(T, C), frame0=0, frame1=GRID.s_to_frames(60.0), frames={T: {}, C: {}},
               segments=(), transitions=tuple(trs), transitions_all=tuple(trs), events=(), pauses=(), nuclei=(),
               turn_taking=True)
    cfg = MeasuresConfig(therapist=T, client=C, cues=CueConfig(monologue=False, overlaps=False, quick_answers=True))
    got = [c["message"] for c in cues(sl, {}, {}, cfg, None, therapist=T)]
    assert got == ["you answered within 200 ms (or in overlap) 3 times running"]
    doc = {"speaker_order": [T, C], "turn_taking": True, "segments": [],
           "transitions": [{"from_speaker": t.from_speaker, "to_speaker": t.to_speaker, "from_end_s": t.from_end_s,
                            "to_start_s": t.to_start_s, "offset_s": t.offset_s} for t in trs]}
    quick = [c for c in candidates(doc, cfg=MomentsConfig()) if c.kind == "quick_answers"]
    assert [c.what for c in quick] == ["You answered within 200 ms of the client stopping, or in overlap, "
                                       "3 times in a row"]


def test_a_moments_numbers_are_said_in_words(fixture_store, tmp_path):
    """`moments` and the report's "why this moment" showed a moment's numbers by their JSON keys:
    "(overlap_s 0.69, failed 0)", "overlap s 0.69, failed 0". The bundled dialogue's planted
    talk-over (27.64 s, 0.67 s of overlap) reads in words now; `moments --json` keeps the keys."""
    import json

    from tests.conftest import run_cli
    rc, out, err = run_cli("moments", "1", "--json", "--store", str(fixture_store))
    assert rc == 0, err
    (m,) = json.loads(out)
    assert set(m["numbers"]) == {"overlap_s", "failed"} and abs(m["numbers"]["overlap_s"] - 0.67) <= 0.05
    ov = f"{m['numbers']['overlap_s']:g}"
    rc, out, err = run_cli("moments", "1", "--store", str(fixture_store))
    assert rc == 0, err
    text = " ".join(out.split())
    assert f"(talking at once {ov} s, took the floor)" in text and "overlap_s" not in text and "failed 0" not in text
    rc, _, err = run_cli("report", "1", "--store", str(fixture_store), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    html = (tmp_path / "r.html").read_text()
    assert f"<br>talking at once {ov} s, took the floor" in html and "overlap s " not in html


def test_one_speaker_is_not_told_to_record_a_channel_each(tmp_path):
    """`prosody analyze memo.m4a --speaker therapist` (README: mono, one speaker): the note said
    "one channel: turn-taking between two people needs one channel per speaker, so turns,
    transitions and events are not reported (null)", though two voices on one channel are told
    apart (without --speaker), and "(null)" is the JSON's word; the terminal also explained counts
    "per 10 minutes" that it does not show. Planted: the bundled mono therapist recording."""
    from tests.conftest import FIXTURES, run_cli
    rc, out, err = run_cli("analyze", str(FIXTURES / "mono_therapist.wav"), "--speaker", "therapist",
                           "--no-progress")
    assert rc == 0, err
    text = " ".join(out.split())
    assert "note: one speaker: turn-taking needs two people's speech told apart (a channel each, or two voices " \
           "found in shared or mono audio), so turns, speaker changes and listening sounds are not reported" in text
    assert "(null)" not in text and "one channel per speaker" not in text and "per 10 minutes" not in text
    assert "A semitone is one piano key" in text
    store = tmp_path / "st"
    rc, _, err = run_cli("analyze", str(FIXTURES / "mono_therapist.wav"), "--speaker", "therapist", "--save",
                         "--store", str(store), "--quiet", "--no-progress")
    assert rc == 0, err
    rc, _, err = run_cli("report", "1", "--store", str(store), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    page = _text((tmp_path / "r.html").read_text())
    assert "One speaker: turn-taking needs two people's speech told apart" in page
    assert "one channel per speaker" not in page and "(null)" not in page


def test_compare_says_what_st_is(fixture_store):
    """`prosody compare` writes pitch variation as "1.5 st" to save room; nothing on the page said
    what "st" is (the summary and the report say "semitones")."""
    from tests.conftest import run_cli
    rc, out, err = run_cli("compare", "1", "--store", str(fixture_store))
    assert rc == 0, err
    text = " ".join(out.split())
    assert "Therapist: pitch variation" in text and " st " in text.split("Therapist: pitch variation")[1][:30]
    assert "st: semitones (one piano key; 2 are a clearly audible step)" in text


def test_the_one_voice_assumption_does_not_offer_relabel(monkeypatch):
    """One voice found (no profile): the assumption's way out names `prosody enrol` only; `relabel`
    has no second voice to exchange it with and refuses such a session."""
    import numpy as np
    import prosody.engine.speakers as speakers
    from tests.test_diarize_unsure import _planted
    d = _planted(n_voices=1, share=0.0, son=40.0)
    monkeypatch.setattr(speakers, "diarize", lambda audio, **kw: d)
    x = (np.random.default_rng(0).standard_normal(1000 * 160) * 0.01).astype(np.float32)
    said = [w for w in speakers.attribute(x).warnings if w.startswith("assumption:")]
    assert len(said) == 1 and "prosody enrol" in said[0] and "relabel" not in said[0], said


# -- walk58 (2026-12-07): one computation, many views, against the planted truth ----------------------------------

def _planted_fixture(delay_s: float = 0.0) -> dict:
    """The bundled dialogue's planted figures: talk shares, each speaker's median wait before answering (the
    client's less the call's round trip ``2 x delay_s``) and the share of answers within 0.2 s."""
    import json
    from statistics import median

    from tests.conftest import FIXTURES
    t = json.loads((FIXTURES / "dialogue.truth.json").read_text())
    speech = {s: sum(b - a for a, b in t["segments"][s]) for s in (T, C)}
    offs = {s: [x["offset_s"] for x in t["transitions"] if x["to_speaker"] == s] for s in (T, C)}
    return {"share": {s: speech[s] / sum(speech.values()) for s in (T, C)},
            "wait": {s: median(offs[s]) for s in (T, C)},
            "wait_less_delay": median(offs[C]) - 2 * delay_s,
            "quick": {s: sum(o < 0.2 for o in offs[s]) / len(offs[s]) for s in (T, C)}}


def _browser_text(page, tmp_path) -> str:
    """A page as a person reads it: headless Chromium's innerText (the report tests' browser), no console
    message, error or request."""
    import os

    from tests.test_report import CHROMIUM, _cdp_render
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found")
    r = _cdp_render(page.resolve(), tmp_path / (page.stem + ".png"), extra_js="document.body.innerText")
    assert r["requests"] == [] and r["console"] == [] and r["exceptions"] == [] and r["log_errors"] == [], r
    return r["facts"]["extra"]


def _row(text: str, label: str) -> list[str]:
    """The cells after ``label`` on its row: a terminal row (cells two spaces apart) or a browser's table row
    (the label, then the cells tab-separated on the next line)."""
    import re
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == label and i + 1 < len(lines):  # the browser: a <details> label, cells below
            return [c.strip() for c in lines[i + 1].split("\t") if c.strip()]
        if line.startswith(label + " ") or line.startswith(label + "\t"):
            return [c.strip() for c in re.split(r"\t| {2,}", line[len(label):]) if c.strip()]
    raise AssertionError(f"no row {label!r} in:\n{text}")


@pytest.fixture(scope="module")
def delay_store(tmp_path_factory):
    """The bundled dialogue as a video call (`--network-delay-ms 100`), saved (session 1)."""
    from tests.conftest import FIXTURES, run_cli
    store = tmp_path_factory.mktemp("walk58") / "st"
    rc, _, err = run_cli("analyze", str(FIXTURES / "dialogue.flac"), "--network-delay-ms", "100", "--save",
                         "--store", str(store), "--therapist", "ann", "--client", "C7", "--quiet", "--no-progress")
    assert rc == 0, err
    return store


def test_the_report_shows_the_timing_rows_and_the_wait_less_the_call_delay_as_show_does(delay_store, tmp_path):
    """`show` (and the terminal summary) gave turns per minute, the longest stretch holding the floor, the
    client's wait less the call's delay, answers within 0.2 s and silences broken; the report gave none of
    them, so a video call's page said the client waited +0.40 s where `show` said +0.20 s without the
    call's delay (planted 0.41 s, 0.21 s less the 2 x 100 ms round trip)."""
    from tests.conftest import run_cli
    truth = _planted_fixture(delay_s=0.1)
    rc, shown, err = run_cli("show", "1", "--store", str(delay_store))
    assert rc == 0, err
    rc, _, err = run_cli("report", "1", "--store", str(delay_store), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    page = _browser_text(tmp_path / "r.html", tmp_path)
    for label in ("Turns per minute", "Longest stretch holding the floor", "Wait, minus the call delay",
                  "Answers within 0.2 s", "Silences (2 s or more) broken", "Wait before answering"):
        assert _row(page, label) == _row(shown, label), label
    wait_less = _row(page, "Wait, minus the call delay")
    assert wait_less[0] == "–" and abs(float(wait_less[1].removesuffix(" s")) - truth["wait_less_delay"]) <= 0.05
    quick = [float(v.removesuffix(" %")) / 100 for v in _row(page, "Answers within 0.2 s")]
    assert quick == pytest.approx([round(truth["quick"][s], 2) for s in (T, C)], abs=0.006)
    assert "A call delay of 100 ms (one way) was given" in page


def test_report_and_compare_definitions_are_the_registrys(fixture_store, tmp_path):
    """The report's and the compare / trend pages' definitions were their own words beside the registry's
    (docs/measures.md) and had drifted: "articulation rate: syllable nuclei / speech time" for a figure over
    phonation time (speech time less its pauses and quiet edges), the longest monologue without the silence
    that ends it, proximity and convergence described as other computations, a backchannel as any listener
    segment under 0.8 s. Each now reads the registry's formula."""
    from prosody.measures import MEASURES
    from tests.conftest import run_cli
    formula = {d.name: d.formula for d in MEASURES}
    rc, _, err = run_cli("report", "1", "--store", str(fixture_store), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    rc, _, err = run_cli("compare", "1", "--store", str(fixture_store), "-o", str(tmp_path / "c.html"))
    assert rc == 0, err
    for name in ("r", "c"):
        defs = _text((tmp_path / f"{name}.html").read_text()).split("Definitions and sources")[-1]
        for measure in ("voice.articulation_rate_syl_s", "timing.longest_monologue_s", "timing.turns_per_min",
                        "attunement.proximity", "attunement.synchrony", "attunement.convergence"):
            assert formula[measure] in defs, (name, measure)
        assert "syllable nuclei / speech time" not in defs and "difference of absolute differences" not in defs
    defs = _text((tmp_path / "r.html").read_text()).split("Definitions and sources")[-1]
    assert formula["timing.backchannels"] in defs and "listener segment < 0.8 s" not in defs


def test_every_view_gives_the_planted_figures_for_the_same_speaker_and_follows_relabel_and_delete(
        fixture_store, tmp_path):
    """One figure, many views: talk share and waits in `show`, the JSON export, `compare`, `trend` and the
    report (in Chromium) are the planted ones (to 0.01 and 0.05 s), in the same rounding, for the same
    speaker; after `relabel` every view has the two exchanged, and after `delete` none has the session."""
    import json
    import shutil

    from tests.conftest import run_cli
    truth = _planted_fixture()
    store = tmp_path / "st"
    shutil.copytree(fixture_store, store)

    def views(swapped: bool):
        th, cl = (C, T) if swapped else (T, C)
        rc, shown, err = run_cli("show", "1", "--store", str(store))
        assert rc == 0, err
        rc, out, err = run_cli("export", "1", "--store", str(store), "--format", "json", "-o",
                               str(tmp_path / f"e{swapped}.json"))
        assert rc == 0, err
        doc = json.loads((tmp_path / f"e{swapped}.json").read_text())
        rc, compared, err = run_cli("compare", "1", "--store", str(store))
        assert rc == 0, err
        rc, trend, err = run_cli("trend", "--therapist", "ann", "--store", str(store))
        assert rc == 0, err
        rc, _, err = run_cli("report", "1", "--store", str(store), "-o", str(tmp_path / f"r{swapped}.html"))
        assert rc == 0, err
        page = _browser_text(tmp_path / f"r{swapped}.html", tmp_path)
        share = doc["speakers"][T]["talk_share"]
        assert share == pytest.approx(truth["share"][th], abs=0.01)
        for s, planted in ((T, th), (C, cl)):
            assert doc["speakers"][s]["gap_median_s"] == pytest.approx(truth["wait"][planted], abs=0.05)
        pct, waits = f"{share * 100:.0f} %", [f"{doc['speakers'][s]['gap_median_s']:+.2f} s" for s in (T, C)]
        assert _row(shown, "Share of the talking")[0] == _row(page, "Share of the talking")[0] == pct
        assert _row(shown, "Wait before answering") == _row(page, "Wait before answering") == waits
        assert " ".join(compared.split()).count(f"Therapist: share of the talking │ {pct}") == 1
        assert f"Therapist: wait before answering │ {waits[0]}" in " ".join(compared.split())
        assert f"Client: wait before answering │ {waits[1]}" in " ".join(compared.split())
        row = next(line.split() for line in trend.splitlines() if line.split()[:1] == ["1"])
        assert row[4:7] == [f"{share * 100:.0f}%", waits[0].removesuffix(" s"), waits[1].removesuffix(" s")]
        assert "therapist: share of the talking" in page and pct in page.split("therapist: share of the talking")[0]

    views(swapped=False)
    rc, _, err = run_cli("relabel", "1", "--store", str(store))
    assert rc == 0, err
    views(swapped=True)
    rc, _, err = run_cli("delete", "1", "--store", str(store))
    assert rc == 0, err
    rc, listed, _ = run_cli("sessions", "--store", str(store))
    rc_trend, trend, _ = run_cli("trend", "--therapist", "ann", "--store", str(store))
    assert " 1 " not in listed and "C7" not in listed and "C7" not in trend
    for cmd in (("show", "1"), ("compare", "1"), ("moments", "1"), ("report", "1", "-o", str(tmp_path / "x.html"))):
        rc, _, err = run_cli(*cmd, "--store", str(store))
        assert rc != 0 and "no session '1'" in err, (cmd, err)


def test_compare_page_and_terminal_give_each_figure_in_one_unit_and_rounding(fixture_store, tmp_path):
    """`compare` on the terminal and its page (`-o`, in Chromium) gave one figure in two roundings and units:
    pitch variation 1.4 st / 1.35, loudness -24 dBFS / -24.2, pace 5.4 syll./s / 5.41 (syl/s), a talk-over
    1 (13.1/10 min) / 1. Every row now reads the same (the terminal says "st" for room, the page
    "semitones"); the planted talk share and waits on both."""
    import re

    from tests.conftest import run_cli
    truth = _planted_fixture()
    rc, out, err = run_cli("compare", "1", "--store", str(fixture_store), "-o", str(tmp_path / "c.html"))
    assert rc == 0, err
    page = _browser_text(tmp_path / "c.html", tmp_path)
    page = page[page.index("Measures by session"):page.index("Client feedback and notes")]
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == 2 and cells[0] and cells[1]:
            rows[cells[0]] = cells[1]
    assert len(rows) >= 25, rows
    for label, cell in rows.items():
        if label in ("therapist", "client", "session no.", "speakers", "Supervisor notes"):
            continue
        got = re.search(re.escape(label) + r"\s*\t?\s*\n?\t?([^\t\n]+)", page)
        assert got, label
        assert got.group(1).strip() == cell.replace(" st", " semitones").removesuffix("*"), (label, got.group(1))
    assert float(rows["Therapist: share of the talking"].removesuffix(" %")) / 100 == pytest.approx(
        truth["share"][T], abs=0.01)
    for who, s in (("Therapist", T), ("Client", C)):
        assert abs(float(rows[f"{who}: wait before answering"].removesuffix(" s")) - truth["wait"][s]) <= 0.05


def test_compare_and_trend_give_a_calls_wait_less_its_delay(delay_store, tmp_path):
    """`show` and the report give a video call's client wait as measured and less the call's delay; `compare`
    (terminal and page) and `trend` gave the raw one only, the delay unsaid (planted 0.41 s, 0.21 s less the
    2 x 100 ms round trip)."""
    from tests.conftest import run_cli
    truth = _planted_fixture(delay_s=0.1)
    rc, shown, err = run_cli("show", "1", "--store", str(delay_store))
    assert rc == 0, err
    less = _row(shown, "Wait, minus the call delay")[1]
    assert abs(float(less.removesuffix(" s")) - truth["wait_less_delay"]) <= 0.05
    rc, out, err = run_cli("compare", "1", "--store", str(delay_store), "-o", str(tmp_path / "c.html"))
    assert rc == 0, err
    assert f"Client: wait, minus the call delay │ {less}" in " ".join(out.split())
    assert _row(_browser_text(tmp_path / "c.html", tmp_path), "Client: wait, minus the call delay") == [less]
    rc, out, err = run_cli("trend", "--therapist", "ann", "--store", str(delay_store))
    assert rc == 0, err
    said = " ".join(out.split())
    assert f"session 1: a call (100 ms each way), the client's wait {less} less its delay" in said
    assert "c.wait is as measured, with the call's delay in it" in said


# -- walk59 (2026-12-07): walk58's leftovers, one figure in one rounding ------------------------------------------

def test_a_moments_headline_and_its_numbers_say_one_figure():
    """A moment said "0.6 s of talking at once" with "talking at once 0.56 s" in its reason, "You held the floor
    for 62 s" with "length 62.4 s", "8 s of silence" with "length 7.6 s", warmth "fell to 42" with "warmth 42.4".
    Planted: the client talks 10-19.96 s, the therapist starts at 19.4 s (0.56 s of talking at once) and holds the
    floor 62.4 s; 7.6 s of silence; rolling warmth 60.2, 42.4, 60.6, 59.8 (median 59.8, 17.4 below)."""
    from prosody.moments import candidates, numbers_text
    doc = {"speaker_order": [T, C], "turn_taking": True,
           "segments": [{"speaker": C, "start_s": 10.0, "end_s": 19.96}, {"speaker": T, "start_s": 19.4, "end_s": 81.8},
                        {"speaker": C, "start_s": 89.4, "end_s": 95.0}],
           "turns": [{"speaker": T, "start_s": 19.4, "end_s": 81.8}],
           "events": [{"kind": "interruption", "speaker": T, "start_s": 19.4, "end_s": 81.8}],
           "measures": {"rolling": [{"start_s": 10.0 * i, "end_s": 10.0 * i + 60.0, "warmth": {"score": s}}
                                    for i, s in enumerate((60.2, 42.4, 60.6, 59.8))]}}
    got = {c.kind: (c.what, numbers_text(tuple(c.numbers.items()))) for c in candidates(doc)}
    assert got["interruption"] == ("You started speaking while the client was talking and took the floor "
                                   "(0.56 s of talking at once)", "talking at once 0.56 s, took the floor")
    assert got["monologue"] == ("You held the floor for 62 s without the client taking a turn", "length 62 s")
    assert got["silence"] == ("8 s of silence, broken by the client", "length 8 s")
    assert got["warmth_dip"][0].startswith("Rolling warmth fell to 42 (18 points below the session's median 60)")
    assert got["warmth_dip"][1] == "warmth 42, the session's median 60"


def test_the_planted_talk_over_is_one_figure_in_moments_json_terminal_and_report(fixture_store, tmp_path):
    """The bundled dialogue's planted talk-over (27.64 s, 0.67 s of talking at once): `moments --json`, `moments`
    and the report's moment give its headline and its reason with the same figure."""
    import json

    from tests.conftest import run_cli
    rc, out, err = run_cli("moments", "1", "--json", "--store", str(fixture_store))
    assert rc == 0, err
    (m,) = json.loads(out)
    ov = f"{m['numbers']['overlap_s']:g}"
    assert abs(m["numbers"]["overlap_s"] - 0.67) <= 0.05 and f"({ov} s of talking at once)" in m["what"]
    rc, out, err = run_cli("moments", "1", "--store", str(fixture_store))
    assert rc == 0, err
    said = " ".join(out.split())
    assert f"({ov} s of talking at once)" in said and f"talking at once {ov} s" in said
    rc, _, err = run_cli("report", "1", "--store", str(fixture_store), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    page = _text((tmp_path / "r.html").read_text())
    assert f"({ov} s of talking at once)" in page and f"talking at once {ov} s" in page
    assert " s of talking at once" not in page.replace(f"({ov} s of talking at once)", "")


def test_the_reports_attunement_table_rounds_as_show_and_compare(fixture_store, tmp_path):
    """The report's attunement table gave three decimals (-0.534) where `show` and `compare` give two (-0.53):
    every cell of it, value and chance interval, in the rounding of ``Metric.text``. Planted fixture: the one
    figure beyond chance, convergence of loudness, -0.53 in all three."""
    import json
    import re

    from prosody.report.html import COMPARE_METRICS
    from tests.conftest import run_cli
    rc, _, err = run_cli("export", "1", "--store", str(fixture_store), "--format", "json", "-o",
                         str(tmp_path / "s.json"))
    assert rc == 0, err
    att = json.loads((tmp_path / "s.json").read_text())["measures"]["attunement"]
    rc, _, err = run_cli("report", "1", "--store", str(fixture_store), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    html = (tmp_path / "r.html").read_text()
    table = _text(html[html.index('<table class="attunement">'):html.index("</table>", html.index(
        '<table class="attunement">'))])
    assert not re.search(r"[+-]\d\.\d{3}", table), table
    metric = {m.key: m for m in COMPARE_METRICS}
    for kind in ("proximity", "synchrony", "convergence"):
        for feat, v in att[kind].items():
            key = f"attunement.{kind}.{feat}.value"
            cell = metric[key].text({key: v["value"]})
            assert cell in table, (kind, feat, cell)
    conv = metric["attunement.convergence.intensity.value"].text({"attunement.convergence.intensity.value":
                                                                   att["convergence"]["intensity"]["value"]})
    assert conv == "-0.53"
    rc, out, err = run_cli("show", "1", "--store", str(fixture_store))
    assert rc == 0, err
    assert f"becoming alike (convergence): loudness {conv}" in " ".join(out.split())
    rc, out, err = run_cli("compare", "1", "--store", str(fixture_store))
    assert rc == 0, err
    assert f"Becoming alike: loudness │ {conv}" in " ".join(out.split())
    assert f"Becoming alike (convergence) loudness {conv} " in table


def test_batch_table_gives_a_calls_wait_less_its_delay(tmp_path):
    """`batch`'s table gave a video call's client wait as measured only (planted 0.41 s; `show`, the report and
    `compare` say 0.21 s less the 2 x 100 ms round trip). Two columns at its end now, `network_delay_ms` and
    `client.gap_median_corrected_s`, empty without a delay; every earlier column keeps its place, and a table
    written before them is still the batch's own (written again in place, not kept beside)."""
    import shutil

    from prosody.batch.runner import TABLE_COLUMNS, TABLE_MARK, _TABLE_NAMES_BEFORE_DELAY, read_table_csv
    from prosody.fileio import write_private
    from tests.conftest import FIXTURES, run_cli
    truth = _planted_fixture(delay_s=0.1)
    names = [c for c, _ in TABLE_COLUMNS]
    assert names[:len(_TABLE_NAMES_BEFORE_DELAY)] == list(_TABLE_NAMES_BEFORE_DELAY)
    assert names[len(_TABLE_NAMES_BEFORE_DELAY):] == ["network_delay_ms", "client.gap_median_corrected_s", "layout"]
    shutil.copy(FIXTURES / "dialogue.flac", tmp_path / "d.flac")
    store, table = tmp_path / "st", tmp_path / "t"
    # a table as a batch wrote it before the two columns: the batch writes its own anew, in place
    write_private(tmp_path / "t.csv", ",".join(_TABLE_NAMES_BEFORE_DELAY) + "\r\n", whose=TABLE_MARK)
    rc, _, err = run_cli("batch", str(tmp_path / "d.flac"), "--network-delay-ms", "100", "--store", str(store),
                         "--table", str(table), "--no-parquet", "--therapist", "ann", "--client", "C7")
    assert rc == 0, err
    assert not list(tmp_path.glob("t.kept-*"))
    (row,) = read_table_csv(tmp_path / "t.csv")
    assert row["network_delay_ms"] == 100.0
    assert abs(row["client.gap_median_corrected_s"] - truth["wait_less_delay"]) <= 0.05
    assert row["client.gap_median_corrected_s"] == pytest.approx(row["client.gap_median_s"] - 0.2, abs=1e-6)
    rc, shown, err = run_cli("show", "1", "--store", str(store))
    assert rc == 0, err
    assert _row(shown, "Wait, minus the call delay")[1] == f"{row['client.gap_median_corrected_s']:+.2f} s"
    # the ledger's row of a batch before the two columns (the session skipped as done): rebuilt, not left empty
    import json
    import sqlite3
    db = sqlite3.connect(store / "batch.sqlite")
    (old,) = db.execute("SELECT row FROM done").fetchone()
    db.execute("UPDATE done SET row=?", (json.dumps({k: v for k, v in json.loads(old).items()
                                                     if k not in ("network_delay_ms",
                                                                  "client.gap_median_corrected_s")}),))
    db.commit()
    db.close()
    rc, _, err = run_cli("batch", str(tmp_path / "d.flac"), "--network-delay-ms", "100", "--store", str(store),
                         "--table", str(table), "--no-parquet")
    assert rc == 0, err
    assert read_table_csv(tmp_path / "t.csv") == [row]
    # no delay: both empty
    rc, _, err = run_cli("batch", str(tmp_path / "d.flac"), "--store", str(tmp_path / "st2"), "--table",
                         str(tmp_path / "u"), "--no-parquet")
    assert rc == 0, err
    (row,) = read_table_csv(tmp_path / "u.csv")
    assert row["network_delay_ms"] is None and row["client.gap_median_corrected_s"] is None


def test_trend_sends_voice_quality_to_the_view_that_has_it(fixture_store, tmp_path):
    """`trend`'s voice-quality table said "see `prosody show ID`"; `show` has no voice quality (the report has,
    per phase): the pointer names the report, whose table gives the figures `trend` gives."""
    from tests.conftest import run_cli
    rc, out, err = run_cli("trend", "--therapist", "ann", "--store", str(fixture_store))
    assert rc == 0, err
    said = " ".join(out.split())
    assert "`prosody report ID` gives them per phase" in said and "see `prosody show ID`" not in said
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["id", "jitter"])
    jitter = lines[head + 1].split()[1]  # session 1's
    rc, shown, err = run_cli("show", "1", "--store", str(fixture_store))
    assert rc == 0, err
    assert "jitter" not in shown.lower()
    rc, _, err = run_cli("report", "1", "--store", str(fixture_store), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    html = (tmp_path / "r.html").read_text()
    assert f"{jitter} %" in _text(html[html.index('<table class="voice-quality">'):])
