"""Cross-talk on separate channels at any gain, with planted leak paths."""
import numpy as np
import pytest

from prosody.engine.crosstalk import CrossTalk
from prosody.session import analyze_blocks
from prosody.engine.vad import RawVad
from tests.conftest import match_events, match_transitions

SPK = ("therapist", "client")


def mask(segs, n, hop=0.01):
    t = (np.arange(n) + 0.5) * hop
    m = np.zeros(n, dtype=bool)
    for a, b in segs:
        m |= (t >= a) & (t < b)
    return m


def frames_of(audio):
    n = len(audio) // 160
    return [audio[: n * 160, c].reshape(n, 160) for c in (0, 1)]


def test_leak_louder_than_other_channels_own_speech_gives_no_phantoms(needs_espeak):
    from tests.dialogue import LeakPath, add_crosstalk, build_dialogue, scenario_turns
    dry = build_dialogue(scenario_turns(8, seed=3), seed=3, noise_db=None, level_db=(-26.0, -26.0))
    # quiet call channel (client, -20 dB) leaks into a loud headset channel 6 dB below the therapist:
    # the leak is 14 dB louder than the client's own channel, through a room, inverted, 120 ms late
    path = LeakPath(leak_db=-6.0, delay_s=0.12, polarity=-1, rt60_s=0.4, band_hz=(200.0, 5000.0))
    d = add_crosstalk(dry, into_therapist=path, gain_db=(0.0, -20.0), noise_db=-70.0, seed=3)
    s = analyze_blocks([d.audio], SPK)
    doc = s.to_json_dict()
    truth = d.truth.to_json_dict()
    n = s.n_frames
    client_only = mask(truth["segments"]["client"], n) & ~mask(truth["segments"]["therapist"], n)
    # the path is learnt from the session: once the client has been heard (first turn 2.2-3.8 s),
    # none of the leak is therapist speech
    client_only[:400] = False
    pred = s.frames["therapist"]["is_speech"]
    assert np.mean(pred[client_only]) < 0.02
    # every therapist segment is therapist speech (none made of leak)
    for seg in s.segments:
        if seg.speaker == "therapist":
            assert any(a < seg.end_s and seg.start_s < b for a, b in truth["segments"]["therapist"]), seg
    pairs, missed = match_transitions(doc["transitions"], truth["transitions"])
    assert not missed and len(doc["transitions"]) == len(pairs)


def test_double_talk_is_kept_on_both_channels(needs_espeak):
    from tests.dialogue import LeakPath, add_crosstalk, build_dialogue, scenario_mixed
    # backchannels planted 8 dB softer than turns, as real ones in overlap are (and as turn_timing plants them)
    dry = build_dialogue(scenario_mixed(seed=4, backchannel_gain_db=-8.0), seed=4, noise_db=None, level_db=(-26.0, -26.0))
    d = add_crosstalk(dry, into_therapist=LeakPath(leak_db=-12.0, delay_s=0.05, rt60_s=0.3),
                      into_client=LeakPath(leak_db=-15.0, delay_s=0.02, polarity=-1),
                      gain_db=(-10.0, 0.0), noise_db=-72.0, seed=4)
    doc = analyze_blocks([d.audio], SPK).to_json_dict()
    truth = d.truth.to_json_dict()
    # backchannels, interruptions and the failed interruption are all double talk: all found
    assert not match_events(doc["events"], truth["events"])
    # where both really speak, both channels are speech
    s = analyze_blocks([d.audio], SPK)
    both = mask(truth["overlaps"], s.n_frames)
    assert both.sum() > 150
    for spk in SPK:
        assert np.mean(s.frames[spk]["is_speech"][both]) > 0.85, spk


def test_learns_the_planted_path_and_is_block_size_invariant(needs_espeak):
    from tests.dialogue import LeakPath, add_crosstalk, build_dialogue, scenario_turns
    dry = build_dialogue(scenario_turns(6, seed=8), seed=8, noise_db=None, level_db=(-26.0, -26.0))
    # client -> therapist: 10 dB below the therapist, channel gains +12 dB / 0 dB: G = -10 + 12 = +2 dB
    d = add_crosstalk(dry, into_therapist=LeakPath(leak_db=-10.0, delay_s=0.09, polarity=-1),
                      gain_db=(12.0, 0.0), noise_db=-75.0, seed=8)
    fr = frames_of(d.audio)
    raw = [RawVad().push(f) for f in fr]
    whole = CrossTalk()
    a = whole.push(fr, raw)
    assert abs(whole.delay[0] - 9) <= 1
    assert np.median(whole.gain_db[0]) == pytest.approx(2.0, abs=3.0)
    rng = np.random.default_rng(0)
    cuts = np.unique(np.concatenate([[0, len(raw[0])], rng.integers(1, len(raw[0]), 60)]))
    chunked = CrossTalk()
    b = [np.concatenate(x) for x in zip(*[chunked.push([f[i:j] for f in fr], [r[i:j] for r in raw])
                                          for i, j in zip(cuts[:-1], cuts[1:])])]
    for c in (0, 1):
        np.testing.assert_array_equal(a[c], b[c])
    assert a[0].sum() > 100  # the leak was there to find


def test_generator_plants_the_leak_it_says(needs_espeak):
    from tests.dialogue import LeakPath, add_crosstalk, build_dialogue, scenario_turns
    dry = build_dialogue(scenario_turns(2, seed=1), seed=1, noise_db=None, level_db=(-26.0, -26.0))
    d = add_crosstalk(dry, into_therapist=LeakPath(leak_db=-10.0, delay_s=0.05, polarity=-1),
                      gain_db=(0.0, -6.0), noise_db=None, seed=1)
    leak = d.audio[:, 0].astype(np.float64) - dry.audio[:, 0]
    client = dry.audio[:, 1].astype(np.float64)
    shifted = np.concatenate([np.zeros(800), client[:-800]])
    # an inverted copy of the client 50 ms late, 10 dB below the therapist's own speech level
    np.testing.assert_allclose(leak, -shifted * 10 ** (-10 / 20), atol=1e-6)
    np.testing.assert_allclose(d.audio[:, 1], client * 10 ** (-6 / 20), atol=1e-6)


def test_reverberant_path_learnt_and_leak_free_direction_settled(needs_espeak):
    from tests.dialogue import LeakPath, add_crosstalk, build_dialogue, scenario_turns
    dry = build_dialogue(scenario_turns(6, seed=5), seed=5, noise_db=None, level_db=(-26.0, -26.0))
    # a reverberant room blurs the waveform: the path is learnt from the spectra of the client's first turn
    path = LeakPath(leak_db=-14.0, delay_s=0.06, polarity=1, rt60_s=0.5)
    d = add_crosstalk(dry, into_therapist=path, gain_db=(0.0, -8.0), noise_db=-70.0, seed=5)
    s = analyze_blocks([d.audio], SPK)
    truth = d.truth.to_json_dict()
    for seg in s.segments:
        if seg.speaker == "therapist":
            assert any(a < seg.end_s and seg.start_s < b for a, b in truth["segments"]["therapist"]), seg
    # no leak into the client channel: searched, none found, the start-up guard stands down
    fr = frames_of(d.audio)
    xt = CrossTalk()
    xt.push(fr, [RawVad().push(f) for f in fr])
    assert xt.gain_db[0] is not None and xt.absent[1] and xt.gain_db[1] is None


def test_first_words_before_the_path_is_known_leave_no_phantom_and_any_block_size_agrees(needs_espeak):
    from tests.dialogue import LeakPath, add_crosstalk, build_dialogue, scenario_turns
    dry = build_dialogue(scenario_turns(4, seed=5), seed=5, noise_db=None, level_db=(-26.0, -26.0))
    # the therapist's first words leak into a client channel 16 dB quieter, 14 dB louder than the
    # client's own speech there, through a room: no path is known until they have been heard
    d = add_crosstalk(dry, into_therapist=None, into_client=LeakPath(leak_db=-4.0, delay_s=0.06, rt60_s=0.3),
                      gain_db=(0.0, -18.0), noise_db=-70.0, seed=5)
    truth = d.truth.to_json_dict()
    whole = analyze_blocks([d.audio], SPK)
    client = [s for s in whole.segments if s.speaker == "client"]
    # every client segment is the client's own speech (the leak of the first turn is dropped)
    for seg in client:
        assert any(a < seg.end_s and seg.start_s < b for a, b in truth["segments"]["client"]), seg
    assert not [e for e in whole.to_json_dict()["events"] if e["kind"] == "backchannel"]
    rng = np.random.default_rng(1)
    cuts = np.unique(np.concatenate([[0, len(d.audio)], rng.integers(1, len(d.audio), 40)]))
    chunked = analyze_blocks([d.audio[i:j] for i, j in zip(cuts[:-1], cuts[1:])], SPK)
    for s in SPK:
        np.testing.assert_array_equal(whole.frames[s]["is_speech"], chunked.frames[s]["is_speech"])


def test_path_change_mid_session_is_taken_up_within_seconds(needs_espeak):
    from tests.dialogue import LeakPath, add_crosstalk, build_dialogue, scenario_turns
    dry = build_dialogue(scenario_turns(10, seed=6), seed=6, noise_db=None, level_db=(-26.0, -26.0))
    # someone moves at 12 s: the client's voice reaches the therapist channel 16 dB louder, 90 ms later
    before = LeakPath(leak_db=-26.0, delay_s=0.02)
    after = LeakPath(leak_db=-10.0, delay_s=0.11, rt60_s=0.3)
    d = add_crosstalk(dry, into_therapist=before, gain_db=(0.0, -6.0), noise_db=-70.0, seed=6,
                      change_at_s=12.0, after=(after, None))
    s = analyze_blocks([d.audio], SPK)
    truth = d.truth.to_json_dict()
    n = s.n_frames
    client_only = mask(truth["segments"]["client"], n) & ~mask(truth["segments"]["therapist"], n)
    late = np.arange(n) >= 1500  # from 3 s after the change on, the new path holds
    assert client_only[late].sum() > 300  # the client speaks there (the leak is there to find)
    assert np.mean(s.frames["therapist"]["is_speech"][client_only & late]) < 0.02
    for seg in s.segments:
        if seg.speaker == "therapist":
            assert any(a < seg.end_s and seg.start_s < b for a, b in truth["segments"]["therapist"]), seg


def test_onset_guard_takes_a_quieter_burst_just_after_the_others_onset_until_the_source_stops():
    from prosody.engine.crosstalk import OnsetGuard
    n = 200
    act = [np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)]
    lv = [np.full(n, -70.0), np.full(n, -70.0)]
    act[1][40:120] = True
    lv[1][40:120] = -25.0           # B speaks 40..119
    act[0][48:150] = True
    lv[0][48:150] = -40.0           # A: quieter, starts 8 frames after B, goes on after B stops
    act[0][180:190] = True
    lv[0][180:190] = -40.0          # a later burst of A with B silent
    ok = [np.ones(n, dtype=bool)] * 2
    out = OnsetGuard(max_lag=15).push(act, lv, ok)
    lag_end = 120 + 15 + 10          # B silent for more than the lag (+ slack): A's own from then on
    np.testing.assert_array_equal(np.flatnonzero(out[0]), np.arange(48, lag_end))
    assert not out[1].any()
    # the same burst louder than B's, or not eligible (a path is known): not cross-talk
    lv[0][48:150] = -20.0
    assert not OnsetGuard(max_lag=15).push(act, lv, ok)[0].any()
    lv[0][48:150] = -40.0
    assert not OnsetGuard(max_lag=15).push(act, lv, [np.zeros(n, dtype=bool)] * 2)[0].any()
    # frame by frame gives what the whole gives
    g = OnsetGuard(max_lag=15)
    parts = [g.push([a[i:i + 7] for a in act], [x[i:i + 7] for x in lv], [o[i:i + 7] for o in ok])
             for i in range(0, n, 7)]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), out[0])


def test_first_words_through_a_reverberant_room_leave_no_phantom(needs_espeak):
    from tests.dialogue import LeakPath, add_crosstalk, build_dialogue, scenario_turns
    dry = build_dialogue(scenario_turns(4, seed=4), seed=4, noise_db=None, level_db=(-26.0, -26.0))
    # the therapist's first words leak into the client channel through a reverberant room, 130 ms
    # late: the waveform no longer correlates (StartupBleed misses it) and no path is known yet
    # (without OnsetGuard: a client phantom at 0.01-0.83 s)
    d = add_crosstalk(dry, into_therapist=None, into_client=LeakPath(leak_db=-5.0, delay_s=0.13, rt60_s=0.6),
                      gain_db=(0.0, -9.0), noise_db=-65.0, seed=4)
    truth = d.truth.to_json_dict()
    whole = analyze_blocks([d.audio], SPK)
    for seg in (s for s in whole.segments if s.speaker == "client"):
        assert any(a < seg.end_s and seg.start_s < b for a, b in truth["segments"]["client"]), seg
    rng = np.random.default_rng(2)
    cuts = np.unique(np.concatenate([[0, len(d.audio)], rng.integers(1, len(d.audio), 30)]))
    chunked = analyze_blocks([d.audio[i:j] for i, j in zip(cuts[:-1], cuts[1:])], SPK)
    for s in SPK:
        np.testing.assert_array_equal(whole.frames[s]["is_speech"], chunked.frames[s]["is_speech"])


def _harmonic(f0_hz, n, sr=16000, rng=None):
    """A voiced sound: 15 harmonics of a gliding F0 (per-sample array), falling 6 dB per octave."""
    ph = 2 * np.pi * np.cumsum(f0_hz) / sr
    return sum(np.sin(k * ph + (rng.uniform(0, 6.3) if rng is not None else 0.0)) / k for k in range(1, 16))


def test_same_voice_test_takes_residue_carrying_the_sources_pitch_and_keeps_another_voice():
    """A path learnt too low (8 dB: the level test sees own power everywhere): the leak's
    harmonics follow the source's F0 at the path's delay, so its frames are cross-talk;
    another voice (another F0) on the receiving channel during the source's speech is kept."""
    sr, n = 16000, 16000 * 3
    rng = np.random.default_rng(1)
    t = np.arange(n) / sr
    src = 0.1 * _harmonic(110 + 25 * np.sin(2 * np.pi * 0.7 * t), n, rng=rng)  # B's voice, F0 85-135 Hz
    d = 7 * 160  # 70 ms path
    leak = 0.1 * np.concatenate([np.zeros(d), src[:-d]])
    own = 0.1 * _harmonic(190 + 30 * np.sin(2 * np.pi * 0.5 * t + 1.0), n, rng=rng)  # A's voice, F0 160-220 Hz
    noise = 1e-4 * rng.standard_normal((n, 2))

    def judged(a_signal, **kw):
        from prosody.engine.crosstalk import CrossTalkSettings
        xt = CrossTalk(CrossTalkSettings(**kw))
        xt._calibrate = lambda: None  # a fixed path: into A (channel 0) at 70 ms, 8 dB too low
        xt._check_change = lambda: False
        xt.delay[0], xt.gain_db[0] = 7, np.full(xt.n_bins, -28.0)  # the leak is at -20 dB
        audio = np.stack([a_signal, src], axis=1) + noise
        fr = frames_of(audio)
        act = [np.ones(len(fr[0]), dtype=bool)] * 2
        return xt.push(fr, act)[0][20:]  # after the first frames (the source's onset)

    assert judged(leak).mean() > 0.9                            # the leak's frames: cross-talk
    assert judged(leak, same_voice_corr=1.0).mean() < 0.1      # (the level test alone passes them)
    assert judged(own + 0.3 * leak).mean() < 0.1                # another voice over a weaker leak: speech


def test_moving_mean_is_scipys_uniform_filter():
    """The same-voice test's envelope (numpy, to keep scipy.ndimage out of start-up) equals
    scipy.ndimage.uniform_filter1d(mode='nearest') to rounding, odd and even widths, rows shorter than the window."""
    from scipy.ndimage import uniform_filter1d

    from prosody.engine.views import moving_mean
    rng = np.random.default_rng(3)
    for w in (1, 2, 4, 5, 7):
        for n in (1, 3, 6, 40):
            x = rng.normal(size=(5, n)) * 20 - 40
            np.testing.assert_allclose(moving_mean(x, w, axis=1), uniform_filter1d(x, w, axis=1, mode="nearest"),
                                       rtol=0, atol=1e-12)
