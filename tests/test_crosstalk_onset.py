"""Cross-talk: the leak's first frames after its source's onset, and a source too quiet
for its own VAD (planted harmonic voices through a fixed path)."""
import numpy as np

from prosody.engine.crosstalk import CrossTalk, CrossTalkSettings
from tests.test_crosstalk import _harmonic, frames_of

SR, HOP = 16000, 160


def _judge(a_signal, b_signal, act_a, act_b, gain_db=-28.0, **kw):
    """Cross-talk decisions for channel A (0) with a fixed path from B at 70 ms,
    learnt 8 dB too low (the leak is at -20 dB unless ``gain_db`` says otherwise; the level
    test passes the leak: only the same-voice test and the onset rule can take it)."""
    xt = CrossTalk(CrossTalkSettings(**kw))
    xt._calibrate = lambda: None
    xt._check_change = lambda: False
    xt.delay[0], xt.gain_db[0] = 7, np.full(xt.n_bins, gain_db)
    rng = np.random.default_rng(5)
    audio = np.stack([a_signal, b_signal], axis=1) + 1e-4 * rng.standard_normal((len(a_signal), 2))
    return xt.push(frames_of(audio), [act_a, act_b])[0]


def _voices(n):
    rng = np.random.default_rng(2)
    t = np.arange(n) / SR
    b = 0.1 * _harmonic(110 + 25 * np.sin(2 * np.pi * 0.7 * t), n, rng=rng)      # B's voice, F0 85-135 Hz
    a = 0.1 * _harmonic(190 + 30 * np.sin(2 * np.pi * 0.5 * t + 1.0), n, rng=rng)  # A's voice, F0 160-220 Hz
    return a, b


def test_leak_onset_following_the_sources_onset_by_the_path_delay_is_cross_talk():
    """B speaks from 0.5 s after silence; its leak reaches A 70 ms later. The first
    frames of that burst pass the same-voice test (its 8-frame mean is still building
    up); the onset rule (A's burst starts the path's delay after B's) takes them.
    A's own voice starting 0.4 s into B's speech is not taken by it."""
    n = SR * 2
    own, voice = _voices(n)
    d = 7 * HOP
    on_b = np.zeros(n)
    on_b[SR // 2:SR * 3 // 2] = 1.0
    src = voice * on_b
    leak = 0.1 * np.concatenate([np.zeros(d), src[:-d]])
    nf = n // HOP
    act_b = np.zeros(nf, dtype=bool)
    act_b[50:150] = True
    act_a = np.zeros(nf, dtype=bool)
    act_a[57:157] = True
    with_rule = _judge(leak, src, act_a, act_b)
    without = _judge(leak, src, act_a, act_b, leak_onset_frames=0)
    assert with_rule[57:65].all()          # the leak's first 8 frames: cross-talk
    assert not without[57:65].all()        # (the same-voice test alone passes some of them)
    assert with_rule[65:157].mean() > 0.9  # and the rest as before
    # A's own voice (another F0) from 0.9 s, over a weaker leak: speech, the onset rule does not apply
    own_on = np.zeros(n)
    own_on[SR * 9 // 10:SR * 13 // 10] = 1.0
    act_own = np.zeros(nf, dtype=bool)
    act_own[90:130] = True
    mixed = _judge(own * own_on + 0.3 * leak * own_on, src, act_own, act_b)
    assert mixed[90:130].mean() < 0.1


def test_same_voice_counts_source_frames_below_the_sources_vad():
    """B's voice is too quiet for B's VAD (no raw-active frame on B), but its leak into
    a louder channel A is heard there: A's frames carry B's harmonics at the path's delay,
    so they are cross-talk (before, only B's raw-active frames counted as its voice)."""
    n = SR * 2
    _, voice = _voices(n)
    d = 7 * HOP
    src = 0.01 * voice
    leak = 10.0 * np.concatenate([np.zeros(d), src[:-d]])
    nf = n // HOP
    act_a, act_b = np.ones(nf, dtype=bool), np.zeros(nf, dtype=bool)
    assert _judge(leak, src, act_a, act_b, gain_db=12.0)[20:].mean() > 0.9  # the leak is at +20 dB
    assert _judge(leak, src, act_a, act_b, gain_db=12.0, voice_quiet_source=False)[20:].mean() < 0.1
