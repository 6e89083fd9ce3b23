"""Cross-talk: a quiet channel's own speech after a silence of both channels (planted
harmonic voices through a fixed, correctly learnt path)."""
import numpy as np

from prosody.engine.crosstalk import CrossTalk, CrossTalkSettings
from tests.test_crosstalk import frames_of
from tests.test_crosstalk_onset import _voices

SR, HOP = 16000, 160


def _judge(a_signal, b_signal, act_a, act_b, **kw):
    """Cross-talk decisions for channel A (0), path from B at 70 ms and -20 dB (the true one)."""
    xt = CrossTalk(CrossTalkSettings(**kw))
    xt._calibrate = lambda: None
    xt._check_change = lambda: False
    xt.delay[0], xt.gain_db[0] = 7, np.full(xt.n_bins, -20.0)
    rng = np.random.default_rng(7)
    audio = np.stack([a_signal, b_signal], axis=1) + 1e-4 * rng.standard_normal((len(a_signal), 2))
    return xt.push(frames_of(audio), [act_a, act_b])[0]


def test_quiet_speech_after_silence_is_not_cross_talk_and_the_leak_still_is():
    """B speaks 0.5-1.0 s and 3.0-3.5 s; its leak reaches A 70 ms later at -20 dB. A speaks
    alone, 10 dB below B, 1.5-2.5 s; A's VAD hears only one frame every 0.3 s of it (quiet
    speech near the noise). Both channels are silent for more than 0.15 s before each of
    those frames, so no spectra are computed there: those frames hold nothing of B. A's
    frames are its own speech (before, each counted 0 own share in the 8-frame mean, so the
    first frame of every burst after a silence was cross-talk); B's leak stays cross-talk."""
    n = SR * 4
    own, voice = _voices(n)
    nf = n // HOP
    on_b = np.zeros(n)
    on_b[SR // 2:SR] = 1.0
    on_b[SR * 3:SR * 7 // 2] = 1.0
    src = voice * on_b
    d = 7 * HOP
    leak = 0.1 * np.concatenate([np.zeros(d), src[:-d]])
    on_a = np.zeros(n)
    on_a[SR * 3 // 2:SR * 5 // 2] = 1.0
    a_signal = 0.3 * own * on_a + leak
    act_b = np.zeros(nf, dtype=bool)
    act_b[50:100] = act_b[300:350] = True
    act_a = np.zeros(nf, dtype=bool)
    heard = np.arange(150, 250, 30)          # A's quiet speech: isolated raw frames
    act_a[heard] = True
    act_a[57:107] = act_a[307:357] = True    # B's leak, heard on A
    now = _judge(a_signal, src, act_a, act_b)
    before = _judge(a_signal, src, act_a, act_b, silent_own=0.0)
    assert not now[heard].any()
    assert before[heard].all()
    for out in (now, before):
        assert out[57:107].mean() > 0.9 and out[307:357].mean() > 0.9


def _judge_no_path(a_signal, b_signal, act_a, act_b, **kw):
    """Decisions for channel A (0) while the direction B -> A has no path (dropped, not absent)."""
    xt = CrossTalk(CrossTalkSettings(**kw))
    xt._calibrate = lambda: None
    xt._check_change = lambda: False
    rng = np.random.default_rng(9)
    audio = np.stack([a_signal, b_signal], axis=1) + 1e-4 * rng.standard_normal((len(a_signal), 2))
    return xt.push(frames_of(audio), [act_a, act_b])[0]


def test_same_voice_takes_a_leak_where_no_path_is_known_and_keeps_another_voice():
    """No path B -> A (a faint leak near A's noise stops correlating and the path is dropped):
    B's voice reaches A 70 ms later and A's VAD hears it. Its frames carry B's harmonics at that
    lag, so they are cross-talk (before, nothing judged them until a path was learnt again);
    A's own voice (another F0) during B's speech stays speech."""
    n = SR * 2
    own, voice = _voices(n)
    d = 7 * HOP
    on_b = np.zeros(n)
    on_b[SR // 4:SR * 7 // 4] = 1.0
    src = voice * on_b
    leak = 0.05 * np.concatenate([np.zeros(d), src[:-d]])
    nf = n // HOP
    act_b = np.zeros(nf, dtype=bool)
    act_b[25:175] = True
    act_a = np.zeros(nf, dtype=bool)
    act_a[32:100] = True                      # the leak alone
    on_own = np.zeros(n)
    on_own[SR:SR * 3 // 2] = 1.0
    act_a[100:150] = True                     # A's own voice over the leak
    a_signal = leak * (1 - on_own) + (0.3 * own + 0.3 * leak) * on_own
    now = _judge_no_path(a_signal, src, act_a, act_b)
    before = _judge_no_path(a_signal, src, act_a, act_b, voice_without_path=False)
    assert now[45:100].mean() > 0.9           # (the 8-frame mean builds up over the first frames)
    assert not before.any()
    assert now[110:150].mean() < 0.1


def test_own_voice_far_above_the_predicted_leak_is_kept_at_the_sources_pitch():
    """Double talk of two voices at the same pitch (leak both ways: each channel's harmonics
    also match the other's): B speaks 0-2 s, its leak reaches A 70 ms later at -20 dB through
    the learnt path; A speaks 1-2 s with B's very F0 contour, 20 dB above that leak. The
    same-voice test matches A's frames to B's voice; A's power stands far above any leak the
    path predicts (``voice_max_excess_db``), so they are A's own speech (before, cross-talk).
    B's leak alone (0.3-1 s) stays cross-talk."""
    n = SR * 2
    _, voice = _voices(n)
    d = 7 * HOP
    leak = 0.1 * np.concatenate([np.zeros(d), voice[:-d]])
    on_a = np.zeros(n)
    on_a[SR:] = 1.0
    rng = np.random.default_rng(3)
    a_signal = leak + voice * on_a * (1.0 + 0.05 * rng.standard_normal(n))  # A: B's pitch, B's level
    nf = n // HOP
    act = np.ones(nf, dtype=bool)
    now = _judge(a_signal, voice, act, act)
    before = _judge(a_signal, voice, act, act, voice_max_excess_db=float("inf"))
    assert now[30:100].mean() > 0.9 and before[30:100].mean() > 0.9  # the leak alone
    assert now[110:].mean() < 0.1                                     # A's own voice: speech
    assert before[110:].mean() > 0.5                                  # (taken for B's leak before)
