"""Hostile sweep 15 (2026-12-04): the live rolling windows decided early (``TurnTracker._early``),
the pace at a window's edges, signals mid-save, the unattributed voice through export, report and
batch paths (docs/store.md, "Hostile sweep 15")."""
from __future__ import annotations

import numpy as np

from prosody.config import TurnConfig
from prosody.engine.turns import TurnOutput, TurnTracker
from prosody.types import Segment

T, C = "therapist", "client"
SR = 16000


def _framewise(segs, *, end_s: float) -> TurnOutput:
    """``segs`` pushed as a live pipeline does with 1-frame blocks: the watermark one frame on each
    time, closed segments when they end, open ones by their start."""
    tr = TurnTracker((T, C), TurnConfig())
    out, shown = [], set()
    for k in range(1, int(round(end_s * 100)) + 1):
        t = k / 100
        new = [s for s in segs if s[2] <= t and s not in shown]
        shown.update(new)
        opens = {T: None, C: None}
        for spk, a, b in segs:
            if a < t < b:
                opens[spk] = a
        out.append(tr.push([Segment(*s) for s in new], open_start_s=opens, watermark_s=t))
    return TurnOutput.concat(out) + tr.flush([Segment(*s) for s in segs if s not in shown])


def test_two_segments_starting_on_the_same_frame_are_decided_in_the_offline_order():
    """The client holds the floor and stops at 6.0 s; at 7.0 s, on the same frame, the therapist
    starts a 3 s turn and the client says 0.5 s more. Offline (the whole file) the segments are taken
    by (start, speaker): the therapist's first, a speaker change at 7.0 s, and the client's 0.5 s is
    a listener's segment in overlap. Live, the client's closed segment was taken before the
    therapist's open one starting with it (``start <= first open start``): a pause of the client's,
    then the therapist 'interrupting' the client (7.0-7.5 s) and the client's turn ending at 7.5 s."""
    segs = [(C, 1.0, 6.0), (C, 7.0, 7.5), (T, 7.0, 10.0), (C, 11.0, 14.0)]
    want = TurnTracker((T, C), TurnConfig()).flush([Segment(*s) for s in segs])
    assert [(x.from_speaker, x.to_speaker, x.from_end_s, x.to_start_s) for x in want.transitions] == [
        (C, T, 6.0, 7.0), (T, C, 10.0, 11.0)]
    assert not want.pauses and [e.kind for e in want.events] == ["backchannel"]
    got = _framewise(segs, end_s=16.0)
    assert got == want, got


def _harmonic(f0_hz: float, n: int, rng) -> np.ndarray:
    ph = 2 * np.pi * np.cumsum(np.full(n, f0_hz) * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * np.arange(n) / SR))) / SR
    x = sum(np.sin(k * ph + rng.uniform(0, 6.3)) / k for k in range(1, 16))
    return x * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * np.arange(n) / SR) ** 2)


def test_same_frame_starts_give_the_same_turns_for_every_block_size():
    """The case above as audio (separate channels, voiced sounds placed on the same sample): pushed
    whole, the therapist takes the floor at 7.0 s and the client's 0.5 s is a failed interruption;
    in 0.1 s blocks (the live capture's) it was the therapist interrupting the client at 7.0-7.5 s
    after a client's pause of 1 s."""
    from prosody.session import SessionBuilder, new_pipeline
    rng = np.random.default_rng(0)
    x = 1e-4 * rng.standard_normal((16 * SR, 2))
    for ch, a, b, f0 in ((1, 1.0, 6.0, 200), (1, 7.0, 7.5, 200), (0, 7.0, 10.0, 110), (1, 11.0, 14.0, 200)):
        x[int(a * SR):int(b * SR), ch] += 0.05 * _harmonic(f0, int(b * SR) - int(a * SR), rng)
    x = x.astype(np.float32)
    runs = {}
    for block in (len(x), 1600, 160):
        pipe = new_pipeline((T, C))
        sb = SessionBuilder(pipe)
        for i in range(0, len(x), block):
            sb.add(pipe.push(x[i:i + block]))
        sb.add(pipe.flush())
        runs[block] = s = sb.build()
        tr = s.turns
        assert [(t.from_speaker, t.to_speaker, round(t.to_start_s, 2)) for t in tr.transitions] == [
            (C, T, 7.0), (T, C, 11.0)], block
        assert not tr.pauses, (block, tr.pauses)
        assert [(e.kind, e.speaker) for e in tr.events] == [("failed_interruption", C)], (block, tr.events)
    assert runs[1600].to_json_dict()["measures"] == runs[len(x)].to_json_dict()["measures"]
    assert list(runs[160].rolling) == list(runs[len(x)].rolling)
