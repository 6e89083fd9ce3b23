"""A leak frame passed amid the leak, just after a turn: not a longer turn (eleventh round)."""
import numpy as np

from prosody.config import VadConfig
from prosody.engine.vad import SpeechSmoother

CFG = VadConfig(min_duration_on_s=0.1, min_duration_off_s=0.6)


def smooth(raw, blocked, cfg=CFG, chunks=None):
    sm = SpeechSmoother(cfg, cross_talk=True)
    out, i = [], 0
    for n in chunks or [len(raw)]:
        out.append(sm.push(raw[i:i + n], blocked[i:i + n]))
        i += n
    out.append(sm.flush())
    return np.concatenate(out)


def runs(x):
    d = np.diff(np.concatenate([[0], x.astype(int), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def planted(piece: int):
    """A 1.5 s turn (frames 100-250), then the other voice's leak: cross-talk frames with a run
    of ``piece`` raw frames passed amid them at 280 (0.3 s after the turn, within the 0.6 s merge)."""
    raw = np.zeros(500, dtype=bool)
    blocked = np.zeros(500, dtype=bool)
    raw[100:250] = True
    blocked[255:280] = True
    raw[280:280 + piece] = True
    blocked[280 + piece:300] = True
    return raw, blocked


def test_scattered_leak_frames_after_a_turn_do_not_extend_it_for_any_block_size():
    raw, blocked = planted(3)
    assert runs(smooth(raw, blocked)) == [(100, 250)]
    rng = np.random.default_rng(7)
    for _ in range(5):
        cuts = np.sort(rng.choice(np.arange(1, 500), size=12, replace=False))
        assert runs(smooth(raw, blocked, chunks=np.diff(np.concatenate([[0], cuts, [500]])).tolist())) == [(100, 250)]
    # without the rule the merge bridges the turn to the passed frames: a 0.3 s longer turn
    off = VadConfig(min_duration_on_s=0.1, min_duration_off_s=0.6, bleed_scatter_s=0.0)
    assert runs(smooth(raw, blocked, off)) == [(100, 283)]


def test_a_longer_run_and_a_short_stretch_are_left_alone():
    # 6 raw frames (more than bleed_scatter_s = 0.04 s) are this speaker's words heard over the other voice
    raw, blocked = planted(6)
    assert runs(smooth(raw, blocked)) == [(100, 286)]
    # the rule trims only stretches open for bleed_scatter_after_s: a 0.5 s stretch before the leak keeps
    # its frames (taking them would cut what may be a backchannel into pieces)
    raw, blocked = planted(3)
    raw[100:200] = False
    raw[200:250] = True
    assert runs(smooth(raw, blocked)) == [(200, 283)]
    # nothing blocked just before the run: the start of this speaker's own words
    raw, blocked = planted(3)
    blocked[255:280] = False
    assert runs(smooth(raw, blocked)) == [(100, 283)]
