"""Speaker attribution on shared and mono recordings with the real voice encoder
(planted truth from tests/dialogue.py; AMI dev00 with its RTTM)."""
from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from prosody.engine.diarize import Diarization, diarize
from prosody.engine.embedding import VoiceEncoder, mel_frames
from prosody.errors import InputError
from prosody.session import analyze_blocks
from prosody.engine.speakers import (NO_PROFILE_RULE, VoiceProfile, attribute, build_profile, detect_layout, name_voices,
                              swap_names)
from tests.dialogue import (CLIENT, THERAPIST, analysed_as_planted, build_dialogue, mix_room, scenario_monologue, scenario_turns,
                            planted_frames, with_voices)

HOP_S = 0.01


def _mask(segs, n):
    t = (np.arange(n) + 0.5) * HOP_S
    m = np.zeros(n, bool)
    for a, b in segs:
        m |= (t >= a) & (t < b)
    return m


def _collar(segs_lists, n, collar_s=0.25):
    t = (np.arange(n) + 0.5) * HOP_S
    keep = np.ones(n, bool)
    for segs in segs_lists:
        for a, b in segs:
            keep &= (np.abs(t - a) >= collar_s) & (np.abs(t - b) >= collar_s)
    return keep


def _right_share(activity, truth) -> float:
    """Share of single-speaker truth frames (0.25 s collars) whose speaker the
    diarization gives that frame and only it, under the better voice mapping."""
    n = len(activity)
    ta, tb = truth.therapist_segments, truth.client_segments
    a, b = _mask(ta, n), _mask(tb, n)
    single = (a ^ b) & _collar([ta, tb], n)
    best = 0.0
    for p, q in ((0, 1), (1, 0)):
        ok = (a & activity[:, p] & ~activity[:, q]) | (b & activity[:, q] & ~activity[:, p])
        best = max(best, float(np.sum(ok & single) / single.sum()))
    return best


@pytest.fixture(scope="module")
def turns_dialogue():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")
    return build_dialogue(scenario_turns(8, seed=7), noise_db=None, level_db=(-22.0, -22.0), seed=7)


def test_voice_encoder_separates_two_espeak_voices(needs_espeak, turns_dialogue):
    d = turns_dialogue
    enc = VoiceEncoder.load()
    embs = {}
    for u in d.utterances:
        y = d.audio[u.start_sample:u.end_sample, 0 if u.speaker == THERAPIST else 1]
        embs.setdefault(u.speaker, []).append(enc.embed(y * (0.03 / np.sqrt(np.mean(y ** 2)))))
    t, c = np.array(embs[THERAPIST]), np.array(embs[CLIENT])
    assert np.allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    same = min((t @ t.T)[np.triu_indices(len(t), 1)].min(), (c @ c.T)[np.triu_indices(len(c), 1)].min())
    assert same > (t @ c.T).max()  # every same-voice pair is closer than every cross-voice pair
    assert mel_frames(np.zeros(1600, np.float32)).shape == (11, 40)


def test_two_espeak_voices_mono_right_speaker(needs_espeak, turns_dialogue):
    x, _ = mix_room(turns_dialogue, layout="mono", level_diff_db=(2.0, -2.0), rt60_s=0.3, noise_db=-55.0, seed=7)
    d = diarize(x[:, 0])
    assert d.n_voices == 2
    assert _right_share(d.activity, turns_dialogue.truth) >= 0.97
    sw = d.swapped()
    assert np.array_equal(sw.activity[:, 0], d.activity[:, 1]) and sw.voice_share == d.voice_share[::-1]


def test_one_voice_is_not_split(needs_espeak):
    dlg = build_dialogue(scenario_monologue(6, seed=4, speaker=CLIENT), noise_db=None, level_db=(-22.0, -22.0))
    x, _ = mix_room(dlg, layout="mono", rt60_s=0.3, noise_db=-55.0, seed=4)
    d = diarize(x[:, 0])
    assert d.n_voices == 1
    speech = _mask(dlg.truth.client_segments, d.n_frames) & _collar([dlg.truth.client_segments], d.n_frames)
    assert np.mean(d.activity[speech, 0]) > 0.95 and not d.activity[:, 1].any()
    # attributed, it says one voice was found; on >= 10 s of speech also that two alike voices could not be
    # told apart on one channel (8.8 s planted here: not yet; the recording twice over: 17.6 s)
    speech_s = sum(b - a for a, b in dlg.truth.client_segments)
    assert 5.0 < speech_s < 10.0
    for audio, said in ((x[:, 0], False), (np.concatenate([x[:, 0], x[:, 0]]), True)):
        w = [t for t in attribute(audio).warnings if t.startswith("one voice found")]
        assert len(w) == 1 and ("too alike to tell apart on one channel" in w[0]) == said, w


def test_layouts(needs_espeak, turns_dialogue):
    sep = build_dialogue(scenario_turns(8, seed=7), level_db=(-22.0, -22.0), bleed_db=-25.0, seed=7)
    assert detect_layout(sep.audio).layout == "separate"
    shared, _ = mix_room(turns_dialogue, layout="shared", level_diff_db=(4.0, -3.0), seed=1)
    assert detect_layout(shared).layout == "shared"
    assert detect_layout(shared[:, 0]).layout == "mono"
    rep = detect_layout(np.repeat(shared[:, :1], 2, axis=1))
    assert rep.layout == "shared" and "identical" in rep.reason


def test_shared_attribution_through_the_pipeline(needs_espeak, turns_dialogue):
    x, _ = mix_room(turns_dialogue, layout="shared", level_diff_db=(4.0, -3.0), rt60_s=0.3, noise_db=-55.0, seed=2)
    att = attribute(x, channels={THERAPIST: 0, CLIENT: 1})
    assert att.layout == "shared" and att.naming.assumption and att.naming.rule == NO_PROFILE_RULE
    assert any("--channels" in w for w in att.warnings)  # the user's claim contradicts the audio
    s = analyze_blocks([att.channels(x)], att.speakers, cross_talk=False)
    doc = s.to_json_dict()
    assert len(doc["transitions"]) == len(turns_dialogue.truth.transitions)
    assert [t["to_speaker"] for t in doc["transitions"]] == [t.to_speaker for t in turns_dialogue.truth.transitions]
    src = att.to_dict()
    assert src["layout"] == "shared" and src["diarization"]["voices"] == 2


def test_profile_names_the_therapist(needs_espeak):
    # the client speaks first: the no-profile rule names the wrong voice, the profile the right one
    utts = [replace(u, speaker=CLIENT if u.speaker == THERAPIST else THERAPIST) for u in scenario_turns(6, seed=3)]
    utts = with_voices(utts, {THERAPIST: "en-gb+m3", CLIENT: "en-us+f1"})
    dlg = build_dialogue(utts, noise_db=None, level_db=(-22.0, -22.0))
    x, _ = mix_room(dlg, layout="mono", rt60_s=None, noise_db=-60.0, seed=3)
    enrol = build_dialogue(scenario_monologue(4, seed=9, speaker=CLIENT), level_db=(-22.0, -22.0))  # en-gb+m3 alone
    prof = VoiceProfile.from_dict(build_profile(enrol.audio[:, 1]).to_dict())
    d = diarize(x[:, 0])
    truth_t = _mask(dlg.truth.therapist_segments, d.n_frames)
    therapist_voice = int(np.argmax([np.sum(truth_t & d.activity[:, k]) for k in (0, 1)]))
    guess = name_voices(d)
    assert guess.assumption and guess.names[therapist_voice] == CLIENT  # heard first = client here
    named = name_voices(d, profile=prof)
    assert not named.assumption and named.names[therapist_voice] == THERAPIST and named.confidence > 0.5
    assert swap_names(named).names[therapist_voice] == CLIENT


def test_bad_input():
    with pytest.raises(InputError):
        diarize(np.full(16000, np.nan, np.float32))
    with pytest.raises(InputError):
        VoiceProfile.from_dict({"mean": [0.1, 0.2], "spread": 0.1, "n_windows": 3, "speech_s": 4.0})
    with pytest.raises(InputError):
        build_profile(np.zeros(16000, np.float32))
    assert diarize(np.zeros(16000, np.float32)).n_voices == 0


def test_ami_dev00_speaker_confusion(corpus):
    x, sr = sf.read(corpus / "pyannote-audio" / "dev00.wav", dtype="float32")
    assert sr == 16000
    segs = []
    for line in (corpus / "pyannote-audio" / "debug.development.rttm").read_text().splitlines():
        p = line.split()
        if p[1] == "dev00":
            segs.append((p[7], float(p[3]), float(p[3]) + float(p[4])))
    d = diarize(x)
    n = d.n_frames
    spk = sorted({s for s, _, _ in segs})
    ref = np.stack([_mask([(a, b) for s, a, b in segs if s == q], n) for q in spk], axis=1)
    keep = _collar([[(a, b) for _, a, b in segs]], n)
    correct = max(np.sum(keep[:, None] & ref[:, [p, q]] & d.activity[:, :2]) for p, q in ((0, 1), (1, 0)))
    matched = np.sum(np.where(keep, np.minimum(ref.sum(axis=1), d.activity.sum(axis=1)), 0))
    confusion = (matched - correct) / np.sum(np.where(keep, ref.sum(axis=1), 0))
    assert d.n_voices == 2 and confusion <= 0.05


def test_analyze_mono_file_is_diarized(needs_espeak, turns_dialogue, tmp_path, capsys):
    import json

    from prosody_cli.main import main

    x, _ = mix_room(turns_dialogue, layout="mono", level_diff_db=(2.0, -2.0), rt60_s=0.3, noise_db=-55.0, seed=7)
    p = tmp_path / "memo.wav"
    sf.write(p, x[:, 0], 16000, subtype="PCM_16")
    capsys.readouterr()
    rc = main(["analyze", str(p), "--json", str(tmp_path / "s.json"), "--quiet"])
    _, err = capsys.readouterr()
    assert rc == 0
    doc = json.loads((tmp_path / "s.json").read_text())
    att = doc["attribution"]
    assert att["layout"] == "mono" and att["diarization"]["voices"] == 2 and att["naming"]["assumption"]
    assert "assumption" in err  # the no-profile rule is said out loud
    assert [t["to_speaker"] for t in doc["transitions"]] == [t.to_speaker for t in turns_dialogue.truth.transitions]
    rc = main(["analyze", str(p), "--layout", "separate"])
    _, err = capsys.readouterr()
    assert rc != 0 and err.startswith("prosody: error:") and len(err.strip().splitlines()) == 1


def test_spatial_split_finds_two_level_modes():
    # planted: voice 0 reaches mic 0 3 dB louder, voice 1 2 dB quieter (1 dB frame jitter);
    # 1.5 s windows every 0.5 s, voice 1 holds one stretch in five (a dominant voice)
    from prosody.engine.diarize import DiarizeConfig, _spatial_split

    rng = np.random.default_rng(0)
    truth = np.zeros(3000, np.int64)
    truth[1200:1800] = 1
    ild = np.where(truth == 1, -2.0, 3.0) + rng.normal(0, 1.0, len(truth))
    starts, w = np.arange(0, len(truth) - 150 + 1, 50), 150
    lab = _spatial_split(ild, np.ones(len(truth), bool), starts, w, DiarizeConfig())
    pure = np.array([truth[s:s + w].min() == truth[s:s + w].max() for s in starts])
    want = truth[starts][pure]
    assert lab is not None and (np.array_equal(lab[pure], want) or np.array_equal(lab[pure], 1 - want))
    # one voice (one level difference, the same jitter): no split
    assert _spatial_split(3.0 + rng.normal(0, 1.0, len(truth)), np.ones(len(truth), bool), starts, w,
                          DiarizeConfig()) is None


def test_overlapped_frames_carry_one_voice_share():
    # frames owned by both voices carry the mixture at OVERLAP_SHARE_GAIN on both speaker channels
    from prosody.engine.diarize import Diarization
    from prosody.engine.speakers import OVERLAP_SHARE_GAIN, Attribution, LayoutReport, Naming

    owner = np.array([0] * 10 + [2] * 5 + [1] * 10, np.int8)
    act = np.stack([owner != 1, owner != 0], axis=1)
    d = Diarization(n_voices=2, activity=act, owner=owner, centroids=np.zeros((2, 256), np.float32),
                    separation=0.3, voice_share=(0.6, 0.6))
    att = Attribution("mono", LayoutReport("mono", 1.0, "one channel"), (THERAPIST, CLIENT), d.method,
                      diarization=d, naming=Naming((THERAPIST, CLIENT), 0.5, NO_PROFILE_RULE, True))
    x = np.ones(len(owner) * 160, np.float32)
    ch = att.channels(x)
    t = np.repeat(owner, 160)
    floor = 10 ** (-40 / 20)  # no pause in x: the fill takes its loudest allowed floor, -40 dBFS
    assert np.all(ch[t == 0, 0] == 1.0) and np.sqrt(np.mean(ch[t == 0, 1] ** 2)) < 1.2 * floor
    assert np.all(ch[t == 1, 1] == 1.0) and np.sqrt(np.mean(ch[t == 1, 0] ** 2)) < 1.2 * floor
    assert np.allclose(ch[t == 2], OVERLAP_SHARE_GAIN)


def test_floor_fill_is_the_recordings_noise_floor():
    # a speaker channel is filled where its voice does not speak with noise at the level of the
    # recording's pauses (planted: -62 dBFS), not digital zeros (the pipeline's VAD leaves digital
    # silence out of its noise floor, which then sat inside the speech)
    from prosody.engine.speakers import floor_fill

    rng = np.random.default_rng(3)
    n = 300
    speech = (np.arange(n) // 50) % 2 == 0
    x = rng.standard_normal(n * 160) * 10 ** (-62 / 20)
    x[np.repeat(speech, 160)] += np.sin(np.arange(np.repeat(speech, 160).sum()) * 0.2) * 0.1
    fill = floor_fill(x.astype(np.float32), speech, seed=0)
    assert abs(20 * np.log10(np.sqrt(np.mean(fill ** 2))) - (-62)) < 1.0
    assert np.array_equal(fill, floor_fill(x.astype(np.float32), speech, seed=0))


def test_frame_pitch_of_planted_tones():
    # harmonic tones at planted f0 (semitones re 100 Hz, within 0.3 st); noise is unvoiced
    from prosody.engine.diarize import _frame_f0_st

    t = np.arange(16000) / 16000
    for f0 in (80.0, 150.0, 330.0):
        y = sum(a * np.sin(2 * np.pi * k * f0 * t) for k, a in ((1, 1.0), (2, 0.5), (3, 0.3))).astype(np.float32)
        st = _frame_f0_st(y, np.arange(10, 90))
        assert np.all(np.abs(st - 12 * np.log2(f0 / 100)) < 0.3)
    noise = np.random.default_rng(0).normal(size=16000).astype(np.float32)
    assert np.isnan(_frame_f0_st(noise, np.arange(10, 90))).all()


def test_pitch_split_finds_a_low_and_a_high_voice():
    # planted: voice 0 around 1 st re 100 Hz, voice 1 (one stretch in five: a dominant voice 0)
    # around 11 st, 1 st frame jitter, every third frame unvoiced; 1.5 s windows every 0.5 s
    from prosody.engine.diarize import DiarizeConfig, _pitch_split

    rng = np.random.default_rng(0)
    truth = np.zeros(3000, np.int64)
    truth[1200:1800] = 1
    f0 = np.where(truth == 1, 11.0, 1.0) + rng.normal(0, 1.0, len(truth))
    f0[::3] = np.nan
    starts, w = np.arange(0, len(truth) - 150 + 1, 50), 150
    lab = _pitch_split(f0, starts, w, DiarizeConfig(pitch_split_min_st=6.0))
    pure = np.array([truth[s:s + w].min() == truth[s:s + w].max() for s in starts])
    want = truth[starts][pure]
    assert lab is not None and (np.array_equal(lab[pure], want) or np.array_equal(lab[pure], 1 - want))
    # one voice whose stretches sit 4 st apart (a real speaker's raised passages): no split
    f1 = np.where(truth == 1, 5.0, 1.0) + rng.normal(0, 1.0, len(truth))
    assert _pitch_split(f1, starts, w, DiarizeConfig(pitch_split_min_st=6.0)) is None


def test_minority_seed_finds_the_one_odd_utterance():
    """Planted: twenty 1 s utterances of one 'voice' (frame features ~ N(0, 1)) with 0.3 s
    pauses, the fourteenth from another (mean shifted by 1 in every dimension): the seed is
    exactly that utterance's frames; without it, no seed."""
    from prosody.engine.diarize import DiarizeConfig, _minority_seed

    rng = np.random.default_rng(0)
    feats = rng.standard_normal((2000, 20))
    idx = np.concatenate([np.arange(100) + 130 * u for u in range(20)])  # frame numbers, pauses between
    odd = np.zeros(2000, bool)
    odd[1300:1400] = True
    cfg = DiarizeConfig()
    assert _minority_seed(feats, idx, cfg) is None
    feats[odd] += 1.0
    assert np.array_equal(_minority_seed(feats, idx, cfg), odd)


def test_short_second_voice_beside_a_dominant_one(needs_espeak):
    """One voice holds ~93 % (a monologue), the other answers once (~1 s, shorter than an
    embedding window): the first pass finds one voice here; the retry from the most
    atypical utterance finds the answer and keeps the dominant voice whole."""
    from tests.dialogue import Utterance

    mono = scenario_monologue(8, seed=7)
    utts = list(mono[:4]) + [Utterance(speaker=CLIENT, text="It was a hard week.",
                                       start_s=round(mono[4].start_s + 0.3, 3))]
    utts += [replace(u, start_s=round(u.start_s + 2.6, 3)) for u in mono[4:]]
    dlg = build_dialogue(tuple(utts), noise_db=None, level_db=(-22.0, -22.0), seed=7)
    x, _ = mix_room(dlg, layout="mono", rt60_s=0.3, noise_db=-55.0, seed=7)
    d = diarize(x[:, 0])
    assert d.n_voices == 2
    assert _right_share(d.activity, dlg.truth) >= 0.97


def test_short_overlap_at_a_change_of_turn_stays():
    # planted path (compact speech frames, 10 ms): an 8-frame "both" run between voice 0 and
    # voice 1 with no pause (an overlapped change of turn) stays; the same run inside voice 0's
    # speech (a flicker) and one shorter than min_change_overlap go to a neighbour
    from prosody.engine.diarize import _drop_blips

    def run(path, idx=None):
        path = np.array(path, np.int8)
        idx = np.arange(len(path)) if idx is None else np.asarray(idx)
        return _drop_blips(path, idx, min_voice=25, min_overlap=12, max_join=15, min_change_overlap=5)

    change = [0] * 40 + [2] * 8 + [1] * 40
    assert np.array_equal(run(change), change)
    assert np.array_equal(run([0] * 40 + [2] * 8 + [0] * 40), [0] * 88)
    assert np.array_equal(run([0] * 40 + [2] * 3 + [1] * 50), [0] * 40 + [1] * 53)  # to the longer side
    # a pause of 0.3 s inside the run's frames: not one overlapped stretch, dropped
    idx = list(range(44)) + list(range(74, 118))
    assert np.array_equal(run(change, idx), [0] * 48 + [1] * 40)
    assert np.array_equal(_drop_blips(np.array(change, np.int8), np.arange(88), min_voice=25, min_overlap=12,
                                      max_join=15), [0] * 48 + [1] * 40)  # min_change_overlap=0: the old rule


def test_finer_restart_keeps_a_short_turn_between_the_others(corpus):
    """AMI dev01 (RTTM truth): MEE009's 1.15 s turn at 21.31 s lies between two MEE012
    turns; every 1.5 s window over it holds the other voice too, and the first pass gives
    it to MEE012. The restart on 1.0 s windows gives it back (``_finer_restart``)."""
    from prosody.engine.diarize import DiarizeConfig

    x, _ = sf.read(corpus / "pyannote-audio" / "dev01.wav", dtype="float32")
    segs = [(p[7], float(p[3]), float(p[3]) + float(p[4])) for p in
            (line.split() for line in (corpus / "pyannote-audio" / "debug.development.rttm").read_text().splitlines())
            if p[1] == "dev01"]
    turn = [(a, b) for s, a, b in segs if s == "MEE009" and 21.0 < a < 22.0]
    assert turn
    for cfg, want in ((DiarizeConfig(finer_window_s=0.0), False), (DiarizeConfig(), True)):  # on by default
        d = diarize(x, config=cfg)
        n = d.n_frames
        inner = _mask([(turn[0][0] + 0.25, turn[0][1] - 0.25)], n)
        other = _mask([(a + 0.25, b - 0.25) for s, a, b in segs if s == "MEE012"], n)
        v = int(np.argmax(d.activity[other].sum(axis=0)))  # MEE012's voice
        mine = np.mean(d.activity[inner, 1 - v] & ~d.activity[inner, v])
        assert d.n_voices == 2 and (mine > 0.9) == want, (cfg.finer_window_s, mine)


def test_second_look_finds_a_short_stretch_of_the_other_voice():
    # planted 3-state log-likelihoods (compact speech frames, 10 ms): voice 0 holds 3 s; in one
    # 0.4 s stretch "both" beats voice 0 by 6 nats/frame (240 nats: above the 150 of the second
    # look, below the 2 x 25 x frames the Viterbi path missed); in another 0.4 s by 3 (120: stays)
    from prosody.engine.diarize import DiarizeConfig, _second_look
    from prosody.timebase import GRID

    ll = np.zeros((300, 3))
    ll[:, 1:] = -10.0
    ll[100:140, 2], ll[100:140, 0] = 0.0, -6.0
    ll[200:240, 2], ll[200:240, 0] = 0.0, -3.0
    owned = np.zeros(300, np.int8)
    got = _second_look(owned, ll, np.ones(300), DiarizeConfig(), GRID)
    assert np.array_equal(np.flatnonzero(got == 2), np.arange(100, 140))
    assert np.array_equal(_second_look(owned, ll, np.ones(300), DiarizeConfig(second_look_nats=0.0), GRID), owned)


def test_both_voices_starting_or_stopping_with_a_pause_go_to_the_one_voice_beside():
    # compact speech frames (10 ms), a pause (a jump in the frame index) after frame 100 and after
    # frame 250: a "both" run ending at the pause (the holder's utterance end), one ending 5 frames
    # (0.05 s of voice 0) before it, one starting at the pause; a "both" run inside voice 0 (a
    # backchannel), one between two voices (an overlapped change of turn) and one with a pause on
    # each side stay
    from prosody.engine.diarize import DiarizeConfig, _pause_bound_overlap
    from prosody.timebase import GRID

    owned = np.zeros(400, np.int8)
    owned[80:101] = 2                      # 0000222|pause : the holder's end -> 0
    owned[101:120] = 2                     # pause|2222 then voice 0 -> 0
    owned[140:160] = 2                     # inside voice 0: stays
    owned[160:200] = 1
    owned[200:215] = 2                     # voice 1 -> both -> voice 0: stays (a change of turn)
    owned[230:246] = 2                     # 2222 then 5 frames of voice 0, then the pause -> 0
    owned[251:300] = 2                     # pause|2222|pause: stays
    idx = np.arange(400)
    idx[101:] += 50                        # pauses after compact frames 100, 250 and 300
    idx[251:] += 50
    idx[300:] += 50
    got = _pause_bound_overlap(owned, idx, GRID.s_to_frames(DiarizeConfig().pause_overlap_slack_s))
    want = owned.copy()
    want[80:120] = 0
    want[230:246] = 0
    assert np.array_equal(got, want)
    assert np.array_equal(_pause_bound_overlap(owned, idx, -1), owned)
    # slack: 11 frames of voice 0 before the pause is more than 0.1 s: that run stays
    owned2 = owned.copy()
    owned2[240:246] = 0
    assert np.all(_pause_bound_overlap(owned2, idx, 10)[230:240] == 2)


def _paused_index(n: int, cuts, gap: int) -> np.ndarray:
    """The frame index of ``n`` compact speech frames with a pause of ``gap`` frames before each of ``cuts``."""
    idx = np.arange(n)
    for cut in cuts:
        idx[cut:] += gap
    return idx


def test_a_voice_carried_across_a_pause_into_the_other_voices_turn_goes_to_that_turn():
    # compact speech frames (10 ms); pauses (jumps in the frame index) after frames 99, 199 and 299.
    # Voice 0 speaks, pause, 0.15 s more of voice 0, then voice 1's turn: those 0.15 s are voice 1's
    # turn start. Voice 1's turn ends with 0.1 s of voice 0, pause, voice 0: that is voice 1's turn end.
    # Voice 0 speaks, pause, 0.2 s of voice 1, then voice 0 again: a backchannel in the pause, kept;
    # 0.3 s carried over (longer than edge_run_max_s) stays too.
    from prosody.engine.diarize import DiarizeConfig, _edge_runs
    from prosody.timebase import GRID

    owned = np.zeros(400, np.int8)
    owned[115:190] = 1                     # 0000|000 (15 frames) 1111... -> the 15 go to voice 1
    owned[190:200] = 0                     # ...1111 0 (10 frames) | pause | 0000 -> the 10 go to voice 1
    owned[300:320] = 1                     # 0000 | pause | 11 (20 frames) 0000: stays
    owned2 = owned.copy()
    owned2[100:130] = 0                    # 30 frames carried over: stays
    idx = _paused_index(400, (100, 200, 300), 40)
    n = GRID.s_to_frames(DiarizeConfig().edge_run_max_s)
    want = owned.copy()
    want[100:115] = 1
    want[190:200] = 1
    assert np.array_equal(_edge_runs(owned, idx, n), want)
    assert np.array_equal(_edge_runs(owned2, idx, n)[100:130], owned2[100:130])
    assert np.array_equal(_edge_runs(owned, idx, 0), owned)


def test_a_long_both_run_at_an_utterances_start_goes_to_the_voice_that_opens_it():
    # compact speech frames (10 ms); pauses (jumps in the frame index) after frames 99, 299 and 499.
    # Planted as AMI dev01 MEE012's answers after a gap: voice 0 speaks frames 100-211 alone (1.12 s),
    # voice 1's turn follows straight on (212-299). The path kept the answer's first 0.22 s, gave the
    # next 0.15 s to voice 1 and 0.6 s to "both": the 0.75 s go back to voice 0 (the answer, 0.97 s,
    # heard as a turn again). After the second pause voice 1 opens with 0.2 s and 0.6 s of "both"
    # follow with no other voice between (a planted backchannel early in the holder's utterance):
    # stays. A planted overlap at a change (0.15 s of "both" between voice 0 and voice 1, 1 s into an
    # utterance) stays, as does a 0.25 s "both" run (shorter than lead_both_min_s) after 0.2 s of
    # voice 1 and 0.1 s of voice 0, and a 0.4 s one with that lead 0.6 s into an utterance.
    from prosody.engine.diarize import DiarizeConfig, _lead_both
    from prosody.timebase import GRID

    cfg = DiarizeConfig()
    min_n, lead_n = GRID.s_to_frames(cfg.lead_both_min_s), GRID.s_to_frames(cfg.lead_both_lead_max_s)
    idx = _paused_index(700, (100, 300, 500), 80)
    owned = np.zeros(700, np.int8)
    owned[:100] = 1
    owned[122:137] = 1                     # the answer's 0.15 s given to the next voice
    owned[137:197] = 2                     # ... and 0.6 s to "both"
    owned[197:300] = 1                     # the next turn (planted from frame 212)
    owned[300:320] = 1                     # voice 1 opens after the pause
    owned[320:380] = 2                     # 0.6 s "both": voice 0's backchannel
    owned[380:400] = 1
    owned[400:415] = 2                     # a planted 0.15 s overlap at a change, 1 s into the utterance
    owned[415:500] = 0
    owned[500:520] = 1                     # after the last pause: 0.25 s "both" after 0.3 s (too short) ...
    owned[520:530] = 0
    owned[530:555] = 2
    owned[555:590] = 1
    owned[590:600] = 0
    owned[600:640] = 2                     # ... and 0.4 s of "both" after voice 1 then 0, 1 s in (too far in)
    owned[640:] = 0
    got = _lead_both(owned, idx, min_n, lead_n)
    want = owned.copy()
    want[122:197] = 0
    assert np.array_equal(got, want)
    assert np.array_equal(_lead_both(owned, idx, min_n, 36), owned)  # the answer's run starts 0.37 s in
    assert np.array_equal(_lead_both(owned, idx, 0, lead_n), owned)


def test_a_both_run_of_an_answers_start_that_reaches_the_pause_goes_to_the_answer():
    # compact speech frames (10 ms); pauses (jumps in the frame index) after frames 99 and 211.
    # Planted as AMI dev01 s101 mono's answer at 10.22 s: voice 1 speaks up to frame 99, a 1.12 s gap,
    # voice 0's answer 100-211 alone (1.12 s), a 0.56 s gap, voice 1 again 212-399. The path kept the
    # answer's first 0.22 s, gave the next 0.15 s to voice 1 and the rest, up to the pause, to "both":
    # the 0.9 s go back to voice 0 (before the sixty-ninth round ``_pause_bound_overlap`` read the run
    # first and gave it to voice 1, the voice beside it: the answer heard 0.22 s, a backchannel). A
    # "both" run at an utterance's end with one voice before it (the holder's utterance end scored as a
    # mixture) still goes to that voice, and with ``lead_both_min_s=0`` the answer's run does too.
    import dataclasses
    from prosody.engine.diarize import DiarizeConfig, _both_at_utterance_edges
    from prosody.timebase import GRID

    idx = _paused_index(500, (100, 212, 400), 56)
    owned = np.ones(500, np.int8)
    owned[100:122] = 0                     # the answer's first 0.22 s, its own
    owned[137:212] = 2                     # 0.15 s to voice 1 (122-136), then "both" up to the pause
    owned[400:460] = 0
    owned[460:500] = 2                     # the holder's last 0.4 s after a pause scored as "both"
    got = _both_at_utterance_edges(owned, idx, DiarizeConfig(), GRID)
    want = owned.copy()
    want[100:212] = 0
    want[460:500] = 0
    assert np.array_equal(got, want)
    off = _both_at_utterance_edges(owned, idx, dataclasses.replace(DiarizeConfig(), lead_both_min_s=0.0), GRID)
    assert np.all(off[122:212] == 1) and np.all(off[460:] == 0)


def test_a_longer_tail_the_frame_models_hardly_place_goes_to_the_utterance_before_the_pause():
    # compact speech frames (10 ms); pauses (jumps in the frame index) after frames 99, 199 and 299.
    # Voice 1's 0.92 s answer (frames 100-191 planted) whose last 0.3 s the path gave to voice 0, who
    # speaks after the pause: where the 3-state models favour voice 0 there by 1.5 nats/frame (a quiet
    # tail they hardly place) the 0.3 s go back to the answer; where they favour it by 9 nats/frame (the
    # next speaker truly starting straight out of the answer) they stay. A 0.3 s run at a turn's start
    # (voice 0 carried across the pause into voice 1's turn) stays as before, whatever the models say;
    # so does everything without the 3-state models or with the look off.
    from prosody.engine.diarize import DiarizeConfig, _edge_runs
    from prosody.timebase import GRID

    cfg = DiarizeConfig()
    max_n, tail_n = GRID.s_to_frames(cfg.edge_run_max_s), GRID.s_to_frames(cfg.edge_tail_max_s)
    idx = _paused_index(400, (100, 200, 300), 60)
    owned = np.zeros(400, np.int8)
    owned[100:170] = 1                     # the answer: 0.7 s of voice 1, then 0.3 s given to voice 0, pause
    owned[300:330] = 0                     # after the last pause: 0.3 s of voice 0 carried into voice 1's turn
    owned[330:400] = 1
    ll = np.zeros((400, 3))
    ll[:, 1] = np.where(owned == 1, 0.0, -12.0)
    ll[owned == 1, 0] = -12.0
    ll[170:200, 1] = -1.5                  # the tail: voice 0's model only 1.5 nats/frame above voice 1's
    ll[300:330, 1] = -1.5                  # the start run alike
    kw = dict(ll=ll, tail_max_n=tail_n, tail_nats=cfg.edge_tail_nats)
    got = _edge_runs(owned, idx, max_n, **kw)
    want = owned.copy()
    want[170:200] = 1
    assert np.array_equal(got, want)
    sure = ll.copy()
    sure[170:200, 1] = -9.0                # the models clearly hear voice 0: the next speaker's own start
    assert np.array_equal(_edge_runs(owned, idx, max_n, **{**kw, "ll": sure}), owned)
    assert np.array_equal(_edge_runs(owned, idx, max_n), owned)
    assert np.array_equal(_edge_runs(owned, idx, max_n, **{**kw, "ll": None}), owned)
    assert np.array_equal(_edge_runs(owned, idx, max_n, **{**kw, "tail_max_n": 0}), owned)
    longer = owned.copy()
    longer[140:170] = 0                    # 0.6 s given to voice 0: beyond edge_tail_max_s, stays
    assert np.array_equal(_edge_runs(longer, idx, max_n, **kw), longer)


def test_a_both_voices_run_that_sounds_like_the_holder_goes_to_the_holder():
    # compact speech frames (10 ms), 3-state log-likelihoods (best state 0 per frame). Three 0.2 s
    # "both" runs inside voice 0's speech: the first scores voice 1's model 12 nats/frame below voice
    # 0's, voice 0's model 2 below the best (the holder's own speech the overlap model caught): goes
    # to voice 0. The second: voice 1 as far below, but voice 0's model 6 below the best (the holder
    # does not fit either: a listener's voice may be in it): stays. The third: voice 1 only 3 below
    # (the listener's voice raises its score): stays. A run with different voices on its sides stays.
    from prosody.engine.diarize import DiarizeConfig, _overlap_like_holder

    cfg = DiarizeConfig()
    n = 50
    owned = np.zeros(300, np.int8)
    ll = np.zeros((300, 3))
    ll[:, 1], ll[:, 2] = -15.0, -10.0
    for a, v0, v1 in ((40, -2.0, -14.0), (120, -6.0, -18.0), (200, -2.0, -5.0)):
        owned[a:a + 20] = 2
        ll[a:a + 20] = (v0, v1, 0.0)
    owned[260:270], owned[270:] = 2, 1
    ll[260:270] = (-2.0, -14.0, 0.0)
    want = owned.copy()
    want[40:60] = 0
    assert cfg.overlap_other_floor_nats == 8.0 and cfg.overlap_holder_within_nats == 4.0
    assert np.array_equal(_overlap_like_holder(owned, ll, cfg, n), want)
    assert np.array_equal(_overlap_like_holder(owned, ll, cfg, 20), owned)  # runs not shorter than max_n stay
    assert np.array_equal(_overlap_like_holder(owned, ll, replace(cfg, overlap_other_floor_nats=0.0), n), owned)
    assert np.array_equal(_overlap_like_holder(owned, None, cfg, n), owned)


def test_overlap_inside_one_voice_gives_the_listener_a_lower_share():
    from prosody.engine.speakers import (HOLDER_OVERLAP_GAIN, LISTENER_OVERLAP_GAIN, OVERLAP_SHARE_GAIN,
                                         overlap_gains)

    # 10 ms frames: a 0.05 s excursion of voice 1 inside voice 0's speech (overlapped, then voice 1
    # alone, then overlapped), an overlapped change of turn, a 1.2 s excursion (too long: a turn)
    owner = np.array([0] * 50 + [2] * 2 + [1] * 2 + [2] * 1 + [0] * 150 + [2] * 2 + [1] * 150
                     + [2] * 20 + [0] * 100 + [1] * 30, np.int8)
    g = overlap_gains(owner)
    assert np.all(g[50:55, 1] == LISTENER_OVERLAP_GAIN)
    assert np.all(g[[50, 51, 54], 0] == HOLDER_OVERLAP_GAIN) and np.all(g[52:54, 0] == 1.0)
    assert np.all(g[205:207] == OVERLAP_SHARE_GAIN)  # a change of turn through overlap: both halves
    assert np.all(g[357:377] == OVERLAP_SHARE_GAIN)  # 1.2 s of voice 0 inside voice 1's: not a listener's
    assert np.all(g[:50] == 1.0) and np.all(g[55:205] == 1.0) and np.all(g[377:] == 1.0)


def test_backchannel_inside_the_others_turn_in_a_mono_mix(needs_espeak):
    """A planted 0.41 s client backchannel ("yeah"-size, as loud as the client's turns) inside a
    long therapist utterance of a mono mix (tune split of benchmarks/diarization.py, espeak mixed
    s0) is found and classed as a backchannel, and every speaker change is kept. Before the second
    look (``_second_look``) the voice models' 0.4 s advantage stayed below the Viterbi's cost and the
    backchannel went to the therapist."""
    from tests.conftest import match_events
    from tests.dialogue import scenario_mixed

    utts = tuple(replace(u, voice={THERAPIST: "en-us+f1", CLIENT: "en+m3"}[u.speaker])
                 for u in scenario_mixed(seed=0))
    dlg = build_dialogue(utts, noise_db=None, level_db=(-22.0, -22.0), seed=0)
    x, _ = mix_room(dlg, layout="mono", level_diff_db=(3.0, 3.0), delay_ms=(0.5, 0.2), rt60_s=None,
                    noise_db=-59.0, seed=0)
    att = attribute(x[:, 0])
    doc = analyze_blocks([att.channels(x[:, 0])], att.speakers, cross_talk=False).to_json_dict()
    planted = [e for e in dlg.truth.to_json_dict()["events"] if e["kind"] == "backchannel"
               and e["speaker"] == CLIENT and 35.0 < e["start_s"] < 36.0]
    assert len(planted) == 1 and 0.3 <= planted[0]["end_s"] - planted[0]["start_s"] <= 0.5
    found = [e for e in doc["events"] if e["kind"] == "backchannel"]
    assert match_events(found, planted) == []
    assert len(doc["transitions"]) == len(dlg.truth.transitions)


def test_kmeans_cos_finds_planted_clusters():
    # four planted directions in 256-D, 12 unit vectors around each (noise well below their distance)
    from prosody.engine.diarize import kmeans_cos

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(4, 256))
    truth = np.repeat(np.arange(4), 12)
    e = centres[truth] + 0.3 * rng.normal(size=(48, 256))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    got = kmeans_cos(e, 4)
    assert len(set(got)) == 4
    for k in range(4):
        assert len(set(got[truth == k])) == 1  # each planted cluster is one found cluster


def test_subcluster_restart_unmixes_a_raised_passage(corpus, monkeypatch):
    """AMI trn06 (RTTM truth, ``--rttm-edges`` stretches) as benchmarks/diarization.py placed it (ami8, seed 25, mono):
    FEE085's 0.88 s turns between FEE083's; 2-means on 1.5 s windows puts FEE083's raised
    passage with FEE085 and the resegmentation keeps it; the restart from four clusters,
    FEE085's against the rest, finds the two voices further apart (``_subcluster_restart``, off by
    default). The restart from whole utterances (on by default since the seventeenth round) unmixes
    it too; it is turned off here to read the subcluster restart alone."""
    import sys
    from pathlib import Path

    from prosody.engine.diarize import DiarizeConfig

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import diarization
    from diarization import ami_cases
    monkeypatch.setattr(diarization, "RTTM_EDGES", True)  # the stretches as the eighth round found them mixed

    x, truth = next((x, t) for name, x, t in ami_cases("ami8", False) if name == "AMI trn06 s25 mono")
    ta, tb = truth["segments"][THERAPIST], truth["segments"][CLIENT]
    wrong = {}
    for key, cfg in (("off", DiarizeConfig(utterance_restart_below=0.0)),
                     ("subclusters", DiarizeConfig(utterance_restart_below=0.0, subclusters=4)),  # off by default
                     ("default", DiarizeConfig())):
        d = diarize(x, config=cfg)
        n = d.n_frames
        a, b = _mask(ta, n), _mask(tb, n)
        single = (a ^ b) & _collar([ta, tb], n)
        got = [np.sum(single & (a & (d.owner == k) | b & (d.owner == 1 - k))) for k in (0, 1)]
        wrong[key] = min(got) / single.sum()  # the better naming of the two voices
    assert wrong["off"] > 0.2 and wrong["subclusters"] < 0.05 and wrong["default"] < 0.05, wrong


def test_separation_se_is_larger_for_a_mixed_voice():
    # planted, in 256-D: voice A (12 windows) and voice B (4 windows) as tight groups on two
    # orthogonal directions, and A's "raised passage" C (4 windows) 40 % of the way toward B.
    # The right split {A + C | B} keeps the spread in the voice with many windows; the mixed
    # split {A | B + C} puts two groups into a voice of 8: its separation is the noisier.
    from prosody.engine.diarize import _separation_se

    rng = np.random.default_rng(5)
    u, v = np.eye(256)[0], np.eye(256)[1]

    def group(direction, n):
        e = direction / np.linalg.norm(direction) + 0.03 * rng.normal(size=(n, 256))
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    ga, gb, gc = group(u, 12), group(v, 4), group(0.6 * u + 0.4 * v, 4)

    def se(own):
        cents = np.stack([own[k].mean(axis=0) / np.linalg.norm(own[k].mean(axis=0)) for k in (0, 1)])
        return _separation_se(own, cents)

    se_right, se_mixed = se({0: np.concatenate([ga, gc]), 1: gb}), se({0: ga, 1: np.concatenate([gb, gc])})
    assert se_mixed > 2 * se_right, (se_right, se_mixed)
    # the delta method's order of magnitude: B's and C's windows' similarity to A's centroid
    # spread ~0.15 over 8 windows, sqrt(var / 7) / |mean| ~ 0.17
    assert 0.1 < se_mixed < 0.25, se_mixed
    assert np.isnan(se({0: ga[:1], 1: gb}))  # one window: not measured


def test_further_apart_breaks_a_tie_by_the_frame_models():
    from prosody.engine.diarize import DiarizeConfig, Diarization, _further_apart

    def found(sep, se, gain):
        n = 10
        return Diarization(n_voices=2, activity=np.zeros((n, 2), bool), owner=np.zeros(n, np.int8),
                           centroids=np.zeros((2, 256), np.float32), separation=sep, voice_share=(0.5, 0.5),
                           separation_se=se, model_gain=gain)

    on, off = DiarizeConfig(), DiarizeConfig(start_noise_z=0.0)
    # 0.012 nearer, within one standard error (0.03 each), frame models 2.0 nats/frame better: kept
    assert _further_apart(found(0.305, 0.03, 2.05), 0.317, 0.03, 0.08, on)
    assert not _further_apart(found(0.305, 0.03, 2.05), 0.317, 0.03, 0.08, off)  # the separation alone
    # within the noise but the gains differ by less than start_gain_nats: the separation decides
    assert not _further_apart(found(0.103, 0.011, 0.34), 0.118, 0.015, 0.31, on)
    assert _further_apart(found(0.132, 0.013, 0.30), 0.112, 0.017, 0.35, on)
    # nearer by more than the noise: not kept, whatever the gains
    assert not _further_apart(found(0.20, 0.01, 3.0), 0.30, 0.01, 0.5, on)
    # further apart: kept even with clearly worse frame models (the gain never vetoes)
    assert _further_apart(found(0.273, 0.021, 0.82), 0.256, 0.030, 2.17, on)
    # either figure not measured (a voice of one window; too little of a voice to model): the separation
    assert _further_apart(found(0.31, float("nan"), 0.1), 0.30, 0.03, 2.0, on)
    assert not _further_apart(found(0.29, 0.03, float("-inf")), 0.30, 0.03, 0.1, on)
    from prosody.errors import ConfigError
    with pytest.raises(ConfigError, match="start_gain_nats=-0.5"):
        DiarizeConfig(start_gain_nats=-0.5).validate()


def test_restart_kept_on_a_clear_frame_model_gain(corpus):
    """AMI trn06 (the benchmark's turn stretches) as benchmarks/diarization.py places it (ami8, seed 24,
    shared): the first pass puts FEE083's raised passage with FEE085 (separation 0.317 +- 0.034,
    frame models' held-out gain 0.08 nats/frame); the finer restart unmixes it (0.305 +- 0.032,
    gain 2.05). By the separation alone the first pass is kept; within its noise the gain decides. Since the
    thirty-ninth round (a frame's pitch on a run's end asked against its stretch's) the first pass is right
    on its own there: the case is run without that rule (``pitch_tail_s=0``), as it was made."""
    import sys
    from pathlib import Path

    from prosody.engine.diarize import DiarizeConfig

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization import ami_cases

    x, truth = next((x, t) for name, x, t in ami_cases("ami8", False) if name == "AMI trn06 s24 shared")
    ta, tb = truth["segments"][THERAPIST], truth["segments"][CLIENT]
    wrong = {}
    # 1.0: the default; None: every default (the pitch's run-end rule on); "line": separation alone as at 0.0, with
    # the utterance line's start (eighty-second round), which the cases without it leave out, as they were made
    configs = {z: DiarizeConfig(start_noise_z=z, pitch_tail_s=0.0, line_restart_below=0.0) for z in (0.0, 1.0)}
    configs.update({None: DiarizeConfig(), "line": DiarizeConfig(start_noise_z=0.0, pitch_tail_s=0.0)})
    for z, cfg in configs.items():
        d = diarize(x, config=cfg)
        n = d.n_frames
        a, b = _mask(ta, n), _mask(tb, n)
        single = (a ^ b) & _collar([ta, tb], n)
        got = [np.sum(single & (a & (d.owner == k) | b & (d.owner == 1 - k))) for k in (0, 1)]
        wrong[z] = min(got) / single.sum()  # the better naming of the two voices
    assert wrong[0.0] > 0.05 and wrong[1.0] < 0.01 and wrong[None] < 0.01 and wrong["line"] < 0.01, wrong


def test_voice_channels_made_block_by_block_equal_the_whole():
    """Equivalence (long recordings: the speaker channels are made in blocks, never held whole
    beside the recording): any block size gives the channels of one pass, bit for bit, for
    samples past the last frame, an excursion and overlap (gains), and the fill's noise made
    in pieces of any size equals it made at once."""
    from prosody.engine.diarize import Diarization
    from prosody.engine.speakers import (Attribution, LayoutReport, Naming, _FillStream, floor_fill,
                                         noise_floor_db)

    rng = np.random.default_rng(5)
    n_frames = 2000
    owner = np.zeros(n_frames, np.int8)
    owner[500:1200] = 1
    owner[700:720] = 2          # overlap inside voice 1's turn
    owner[1500:1530] = 1        # an excursion of voice 1 inside voice 0's speech ...
    owner[1510:1520] = 2        # ... overlapped
    speech = np.ones(n_frames, bool)
    speech[::7] = False
    act = np.stack([owner != 1, owner != 0], axis=1) & speech[:, None]
    d = Diarization(n_voices=2, activity=act, owner=owner, centroids=np.zeros((2, 256), np.float32),
                    separation=0.3, voice_share=(0.6, 0.4))
    x = (rng.standard_normal(n_frames * 160 + 77) * 0.05).astype(np.float32)  # 77 samples past the last frame
    for names in ((THERAPIST, CLIENT), (CLIENT, THERAPIST)):
        att = Attribution("mono", LayoutReport("mono", 1.0, "one channel"), (THERAPIST, CLIENT), d.method,
                          diarization=d, naming=Naming(names, 0.5, NO_PROFILE_RULE, True))
        whole = att.channels(x)
        assert whole.shape == (len(x), 2) and whole.dtype == np.float32
        for block in (161, 999, 16384, 32000, len(x) + 5):
            got = np.concatenate(list(att.voice_blocks(x, block_samples=block)))
            assert np.array_equal(got, whole), block
        # planted: the therapist's channel is the recording itself where its voice speaks alone (outside
        # the excursion, where a listener's frames carry less of the mixture)
        alone = np.repeat(owner == names.index(THERAPIST), 160)
        alone = np.concatenate([alone, np.full(len(x) - len(alone), bool(alone[-1]))])
        alone[1500 * 160:1530 * 160] = False
        assert np.array_equal(whole[alone, 0], x[alone]) and not np.array_equal(whole[~alone, 0], x[~alone])
    fill = floor_fill(x, speech, seed=1)
    stream = _FillStream(x, speech, seed=1, floor_db=noise_floor_db(x, speech))
    pieces, a = [], 0
    for size in rng.integers(1, 40000, 100):
        pieces.append(stream.take(int(size)))
        a += int(size)
        if a >= len(x):
            break
    assert np.array_equal(np.concatenate(pieces)[: len(x)], fill)


def test_scaled_reads_equal_the_scaled_signal():
    """The diarizer reads its recording scaled to the encoder's level piece by piece
    (``gain``), never holding the scaled copy: the same mel power and pitch as from the
    scaled signal; pitch windows past either end read zeros, as from the signal padded."""
    from prosody.engine.diarize import _frame_f0_st

    rng = np.random.default_rng(2)
    t = np.arange(48000) / 16000
    y = (0.02 * np.sin(2 * np.pi * 140 * t) + 0.002 * rng.standard_normal(len(t))).astype(np.float32)
    gain = np.float32(10 ** (-30 / 20)) / np.float32(0.0141)
    assert np.array_equal(mel_frames(y, gain=gain), mel_frames(y * gain))
    idx = np.r_[0, 1, 2, 100, 150, 297, 298, 299]
    assert np.array_equal(_frame_f0_st(y, idx, gain=gain), _frame_f0_st(y * gain, idx), equal_nan=True)
    pad = 1600  # 10 frames of zeros at both ends: the frames near the ends read the same samples
    padded = np.concatenate([np.zeros(pad, np.float32), y, np.zeros(pad, np.float32)])
    assert np.array_equal(_frame_f0_st(y, idx), _frame_f0_st(padded, idx + pad // 160), equal_nan=True)


def test_features_and_frame_models_without_whole_copies_give_the_same_values():
    """The diarizer's frame features are made a chunk of frames at a time and normalised in place,
    their spread summed chunk by chunk, and its frame models fitted and scored on rows where they lie
    (an hour's speech no longer makes copies of its whole features): the values of the whole-array
    computation, across chunk boundaries, mono (float32) and stereo (float64); bit for bit but where
    numpy's own order of summing the spread could differ in another numpy version."""
    from prosody.engine import diarize as dz
    from prosody.timebase import GRID

    rng = np.random.default_rng(5)
    for m in (700, dz._FEATURE_ROWS + 1, 2 * dz._FEATURE_ROWS + 123):
        mel = (rng.random((m, 40)) ** 4 * 1e-3).astype(np.float32)
        x = (rng.standard_normal((m * GRID.hop_length, 2)) * 0.05).astype(np.float32)
        for stereo in (False, True):
            chp, feats, mu, sd = dz._speech_features({"melc": mel}, x if stereo else None, np.arange(m), 20, GRID,
                                                     stereo=stereo)
            raw = dz._frame_features(mel, chp, 20)
            assert feats.dtype == raw.dtype == (np.float64 if stereo else np.float32)
            assert np.array_equal(mu, raw.mean(axis=0))
            # the spread: numpy's own order of summing (bit for bit with numpy 2.4; a later numpy that sums
            # otherwise may move the last bits of both)
            np.testing.assert_array_max_ulp(sd, raw.std(axis=0) + 1e-6, maxulp=4)
            np.testing.assert_array_max_ulp(feats, (raw - raw.mean(axis=0)) / (raw.std(axis=0) + 1e-6), maxulp=4)
        g = dz._DiagGmm(feats, 8, 5)
        rows = np.flatnonzero(rng.random(m) < 0.6)
        assert np.array_equal(g.loglik_rows(feats, rows), g.loglik(feats[rows]))
        mask = rng.random(m) < 0.4
        h, k = dz._DiagGmm(feats[mask], 8, 5), dz._DiagGmm.of_rows(feats, mask, 8, 5)
        assert np.array_equal(h.mu, k.mu) and np.array_equal(h.var, k.var) and np.array_equal(h.logw, k.logw)
    for dt in (np.float32, np.float64):  # numpy's own sum of squared deviations, row after row
        y = (rng.standard_normal((3 * dz._FEATURE_ROWS + 7, 21)) * rng.uniform(0.1, 100, 21) + 40).astype(dt)
        np.testing.assert_array_max_ulp(dz._column_std(y, y.mean(axis=0)), y.std(axis=0), maxulp=4)


def test_the_voice_heard_first_is_the_first_to_speak_a_second_on_its_own():
    """A blip of the other voice before the first word (mains hum or a cough passed as its
    speech) does not name the voices: the first voice to have spoken 1 s alone does
    (``FIRST_VOICE_MIN_S``); where neither has, the first active frame's."""
    from prosody.engine.speakers import _heard_first
    n = 1000
    act = np.zeros((n, 2), bool)
    act[0:40, 1] = True      # 0.4 s of "voice 1": hum before the first word
    act[50:400, 0] = True    # voice 0's opening turn
    act[380:700, 1] = True   # voice 1 answers (overlapping 0.2 s)
    d = Diarization(n_voices=2, activity=act, owner=np.where(act[:, 0], 0, np.where(act[:, 1], 1, 2)).astype(np.int8),
                    centroids=np.zeros((2, 256), np.float32), separation=0.3, voice_share=(0.5, 0.5))
    assert _heard_first(d) == 0
    assert name_voices(d).names == (THERAPIST, CLIENT) and name_voices(d).rule == NO_PROFILE_RULE
    short = act.copy()
    short[60:, :] = False    # neither voice reaches 1 s alone: the first active frame decides
    d2 = replace(d, activity=short)
    assert _heard_first(d2) == 1


def test_listener_alone_inside_the_holders_speech_gets_the_listeners_share():
    """The listener's share where the diarizer puts a short run of frames inside the holder's
    continuous speech to the listener alone, no frame overlapped (``overlap_gains`` given the
    speech): the run carries the mixture, as an overlapped excursion does, so the listener's
    channel gets ``LISTENER_OVERLAP_GAIN`` and the holder none of it; a run with a pause next
    to it (the holder stopped: a listener's vocalisation in a pause) keeps the recording's level,
    and without the speech mask the gains are those of the overlapped frames alone."""
    from prosody.engine.speakers import LISTENER_OVERLAP_GAIN, overlap_gains

    owner = np.array([0] * 100 + [1] * 30 + [0] * 100 + [1] * 30 + [0] * 100 + [1] * 150 + [0] * 50, np.int8)
    speech = np.ones(len(owner), bool)
    speech[228:230] = False  # a pause right before the second run: the holder stopped
    g = overlap_gains(owner, speech)
    assert np.all(g[100:130, 1] == LISTENER_OVERLAP_GAIN)  # inside continuous speech: a listener's excursion
    assert np.all(g[230:260] == 1.0)  # after a pause: the listener alone, at the recording's level
    assert np.all(g[360:510] == 1.0)  # 1.5 s: a turn, not an excursion
    assert np.all(overlap_gains(owner) == 1.0)  # no speech mask, no overlap: as before


def test_full_level_backchannel_given_to_the_listener_alone_stays_a_backchannel(needs_espeak):
    """Planted truth (tune split voices, espeak mixed s0, mono): the diarizer's labels built from
    the planted segments, each planted backchannel (as loud as its speaker's turns, inside the
    other's utterance) given to the listener alone, the holder's speech all round it. The
    listener's channel then holds the two voices' mixture there; at the recording's level it read
    louder than the listener's own speech and ``is_floor_bid`` called it a failed interruption (the
    fresh10 / fresh14 misses of benchmarks/diarization.py, docs/speakers.md thirty-ninth round). Now
    every planted backchannel is found as one, and the planted failed interruption stays one."""
    from tests.conftest import match_events
    from tests.dialogue import scenario_mixed

    utts = tuple(replace(u, voice={THERAPIST: "en-us+f1", CLIENT: "en+m3"}[u.speaker])
                 for u in scenario_mixed(seed=0))
    dlg = build_dialogue(utts, noise_db=None, level_db=(-22.0, -22.0), seed=0)
    x, _ = mix_room(dlg, layout="mono", level_diff_db=(0.0, 0.0), delay_ms=(0.0, 0.0), rt60_s=None,
                    noise_db=-65.0, seed=0)
    x = x[:, 0]
    truth = dlg.truth.to_json_dict()
    n = len(x) // 160
    t = (np.arange(n) + 0.5) * 0.01
    on, owner = planted_frames(truth, n)
    bcs = [e for e in truth["events"] if e["kind"] == "backchannel"]
    for e in bcs:  # the diarizer's labels in the misses: the backchannel's frames to the listener alone
        k = (THERAPIST, CLIENT).index(e["speaker"])
        owner[(t >= e["start_s"]) & (t < e["end_s"])] = k
    doc = analysed_as_planted(x, on, owner)
    assert len(bcs) == 3
    found = [e for e in doc["events"] if e["kind"] == "backchannel"]
    assert match_events(found, bcs) == [], (bcs, doc["events"])
    fis = [e for e in truth["events"] if e["kind"] == "failed_interruption"]
    assert len(fis) == 1
    assert match_events([e for e in doc["events"] if e["kind"] == "failed_interruption"], fis) == []
