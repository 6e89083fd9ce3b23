"""More than two voices in one shared / mono recording (diarize._more_voices): the diarizer finds at
most two voices, so a third person's speech goes to one of them; the check says so, names the
voice that mixes people (Attribution.warnings, the JSON sources) and changes nothing else.
Planted truth: espeak-ng dialogues of two and three voices taking turns, AMI tst00 (four people)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from prosody.engine.diarize import DiarizeConfig, _distinct_turns, _voice_turns, diarize
from prosody.engine.speakers import MORE_VOICES_NOTE, attribute
from tests.dialogue import CLIENT_SENTENCES, THERAPIST_SENTENCES, Espeak, _espeak

SR = 16000
VOICES = ("en+m3", "en-us+f4", "en+klatt2")  # three people GE2E and the frame models tell apart


def _turns(n_voices: int, *, seed: int, n_turns: int = 36, texts: list[str] | None = None
           ) -> tuple[np.ndarray, list[list[tuple[float, float]]]]:
    """``n_voices`` of VOICES taking turns (never the same twice in a row), gaps 0.3-0.9 s, dry,
    each voice at its own level, each turn a sentence drawn from ``texts`` (default: the therapist's
    and client's); (n_samples,) float32 and each voice's (start_s, end_s)."""
    exe = Espeak.find().exe
    rng = np.random.default_rng(seed)
    texts = texts or THERAPIST_SENTENCES + CLIENT_SENTENCES
    who = [int(rng.integers(n_voices))]
    while len(who) < n_turns:
        who.append(int(rng.choice([v for v in range(n_voices) if v != who[-1]])))
    level_db = rng.uniform(-26, -20, n_voices)
    pieces = []
    for v in who:
        y = _espeak(exe, texts[int(rng.integers(len(texts)))], voice=VOICES[v], pitch=None, speed_wpm=None,
                    sample_rate=SR).astype(np.float64)
        pieces.append((v, y / np.sqrt(np.mean(y ** 2)) * 10 ** (level_db[v] / 20)))
    out = np.zeros(sum(len(y) for _, y in pieces) + SR * (n_turns + 1))
    segs: list[list[tuple[float, float]]] = [[] for _ in range(n_voices)]
    t = SR // 2
    for v, y in pieces:
        out[t:t + len(y)] += y
        segs[v].append((t / SR, (t + len(y)) / SR))
        t += len(y) + int(rng.uniform(0.3, 0.9) * SR)
    out = out[: t + SR // 2] + rng.standard_normal(t + SR // 2) * 10 ** (-60 / 20)
    return out.astype(np.float32), segs


def test_voice_turns_cut_at_pauses_and_changes():
    """Planted: speech frames 0-299 voice 0, a pause, 300-499 voice 0, 500-549 both voices (left
    out), 550-799 voice 1; windows of 100 frames every 50. Turns: (0, 0, 300), (0, 300, 500),
    (1, 550, 800), each embedded by the mean of the windows wholly inside it."""
    idx = np.concatenate([np.arange(300), np.arange(400, 900)])
    own = np.array([0] * 500 + [2] * 50 + [1] * 250, np.int8)
    starts = np.arange(0, 701, 50)
    emb = np.zeros((len(starts), 4), np.float32)
    emb[:, 0] = starts  # each window's embedding points along its start
    emb[:, 1] = 1.0
    turns = _voice_turns(own, idx, emb, starts, 100, {}, 0, 100)
    assert [(v, a, b) for v, a, b, _ in turns] == [(0, 0, 300), (0, 300, 500), (1, 550, 800)]
    for v, a, b, e in turns:
        inside = (starts >= a) & (starts + 100 <= b)
        u = emb[inside] / np.linalg.norm(emb[inside], axis=1, keepdims=True)
        m = u.mean(axis=0)
        assert np.allclose(e, m / np.linalg.norm(m), atol=1e-6)


def test_three_voices_warn_two_do_not(needs_espeak):
    """Three espeak-ng voices taking turns (~1.5 min): more_voices 3 and one voice marked mixed; the
    warning names that voice and the JSON sources carry it. Two of the same voices in the same
    kind of dialogue: no warning. The check changes no frame of the diarization."""
    x3, _ = _turns(3, seed=5)
    d3 = diarize(x3)
    assert d3.n_voices == 2 and d3.more_voices == 3 and sum(d3.mixed) == 1
    off = diarize(x3, config=replace(DiarizeConfig(), more_voices_min_s=0.0))
    assert off.more_voices == 0 and off.mixed == (False, False)
    assert np.array_equal(off.owner, d3.owner) and np.array_equal(off.activity, d3.activity)
    att = attribute(x3)
    warn = [w for w in att.warnings if w.startswith(MORE_VOICES_NOTE)]
    mixed_name = att.naming.names[int(np.argmax(att.diarization.mixed))]
    assert len(warn) == 1 and "about 3" in warn[0] and mixed_name in warn[0]
    src = att.to_dict()["diarization"]
    assert src["voices_more_than_two"] is True and src["voices_estimate"] == 3
    assert src["mixed_voices"] == [mixed_name]
    x2, _ = _turns(2, seed=5)
    d2 = diarize(x2)
    assert d2.n_voices == 2 and d2.more_voices == 0 and d2.mixed == (False, False)
    assert not any(w.startswith(MORE_VOICES_NOTE) for w in attribute(x2).warnings)
    assert "voices_more_than_two" not in attribute(x2).to_dict()["diarization"]


# the check's settings before the eighty-third round: 8 s of all turns per group only
OLD_SETTINGS = replace(DiarizeConfig(), more_voices_distinct_min_s=0.0)


def _shares(d, segs: list[list[tuple[float, float]]], v: int) -> list[float]:
    """The planted speakers' shares of voice ``v``'s frames, largest first."""
    fps = d.grid.s_to_frames(1.0)
    own = d.owner == v
    out = []
    for s in segs:
        m = np.zeros(len(own), bool)
        for a, b in s:
            m[int(a * fps):int(b * fps)] = True
        out.append(float((own & m).sum()) / max(int(own.sum()), 1))
    return sorted(out, reverse=True)


def test_distinct_turns_count_a_repeat_once():
    """Planted turn embeddings: A (2 s), a copy of A 0.01 away (1 s), B 0.2 away from A (1.5 s), C
    0.04 from B but longer (3 s). Longest first: C, A, B within 0.05 of C not counted, A's copy not
    counted; min_distance 0 counts every turn."""
    a = np.array([1.0, 0.0, 0.0])

    def at(u, dist, axis):  # a unit vector ``dist`` (cosine) from unit ``u``, turned toward ``axis``
        w = np.eye(3)[axis] - (np.eye(3)[axis] @ u) * u
        w /= np.linalg.norm(w)
        c = 1.0 - dist
        return c * u + np.sqrt(1 - c * c) * w

    b = at(a, 0.2, 1)
    c = at(b, 0.04, 2)
    turns = [(0, 0, 200, a), (0, 300, 400, at(a, 0.01, 2)), (0, 500, 650, b), (0, 700, 1000, c)]
    assert _distinct_turns(turns, 0.05).tolist() == [True, False, False, True]
    assert _distinct_turns(turns, 0.0).tolist() == [True, True, True, True]
    assert _distinct_turns([], 0.05).tolist() == []


def test_three_voices_under_a_minute_warn(needs_espeak):
    """Three espeak-ng voices, 20 turns (~50 s): warned, and the voice said mixed holds two planted
    people (>= 15 % of its frames each), the other one (no other >= 5 %); the settings before this round
    (8 s of all turns per group) said nothing. Two of the voices, the same kind of dialogue: no warning."""
    x3, segs = _turns(3, seed=0, n_turns=20)
    d3 = diarize(x3)
    assert d3.n_voices == 2 and d3.more_voices == 3 and sum(d3.mixed) == 1
    v = int(np.argmax(d3.mixed))
    assert _shares(d3, segs, v)[1] >= 0.15
    assert _shares(d3, segs, 1 - v)[1] < 0.05
    assert diarize(x3, config=OLD_SETTINGS).more_voices == 0
    x2, _ = _turns(2, seed=0, n_turns=20)
    assert diarize(x2).more_voices == 0


def test_distinct_turns_keep_repeats_out(needs_espeak):
    """Two espeak-ng voices each saying the same two sentences over and over (24 turns, ~1 min: the
    same audio again and again, as a mix placing one stretch many times). 4 s of distinct turns per
    group (the 8 s of all turns not asked): no warning; 4 s with every copy counted as a turn of its
    own warns (the frame models "gain" on held-out frames that copy their training frames). The 8 s
    of all turns warns here too (a known limit, docs/speakers.md "Eighty-third round")."""
    x, _ = _turns(2, seed=4, n_turns=24, texts=[CLIENT_SENTENCES[5], CLIENT_SENTENCES[11]])
    distinct_only = replace(DiarizeConfig(), more_voices_min_s=1e6)
    d = diarize(x, config=distinct_only)
    assert d.n_voices == 2 and d.more_voices == 0
    assert diarize(x, config=replace(distinct_only, more_voices_repeat_distance=0.0)).more_voices > 0
    assert diarize(x, config=OLD_SETTINGS).more_voices > 0


def test_swapped_keeps_the_mixed_voice():
    from prosody.engine.diarize import Diarization
    d = Diarization(n_voices=2, activity=np.ones((4, 2), bool), owner=np.zeros(4, np.int8),
                    centroids=np.zeros((2, 256), np.float32), separation=0.3, voice_share=(0.7, 0.3),
                    more_voices=3, mixed=(True, False))
    assert d.swapped().mixed == (False, True)


@pytest.mark.xfail(strict=True, reason="known limit: 30 s of four people talking over each other leave each "
                   "voice 5 turns of >= 1 s; the check needs 3 turns in each of two groups "
                   "(docs/speakers.md, 'More than two voices', 'Eighty-third round')")
def test_ami_tst00_four_people_warn(corpus):
    """AMI tst00: four people, 11-18 s of speech each (RTTM), on one mixed channel: the warning should
    fire. It does not (each voice's turns: 5, cut 4/1 and 3/2; the 3/2 split's frame models lose on
    held-out frames): a known limit, kept here so that a check that finds it shows."""
    x, sr = sf.read(corpus / "pyannote-audio" / "tst00.wav", dtype="float32")
    assert sr == SR
    d = diarize(x)
    assert d.more_voices >= 3 and any(d.mixed)


def test_ami_two_people_do_not_warn(corpus):
    """AMI dev00 / dev01: two people; no warning."""
    for uri in ("dev00", "dev01"):
        x, _ = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
        assert diarize(x).more_voices == 0, uri


def test_relabel_names_the_swapped_voice():
    """prosody relabel exchanges the names: the mixed voice's new name goes into the sources and the warning."""
    from prosody.engine.speakers import more_voices_text
    from prosody.relabel import relabel
    text = more_voices_text(3, ["client"])
    doc = {"speaker_order": ["therapist", "client"], "speakers": {}, "warnings": [text],
           "attribution": {"naming": {"names": ["therapist", "client"]}, "warnings": [text],
                           "diarization": {"voices": 2, "voices_more_than_two": True, "voices_estimate": 3,
                                           "mixed_voices": ["client"]}}}
    new, _ = relabel(doc, None)
    assert new["attribution"]["diarization"]["mixed_voices"] == ["therapist"]
    assert new["attribution"]["warnings"] == [more_voices_text(3, ["therapist"])]
    assert more_voices_text(3, ["therapist"]) in new["warnings"]
