"""Voice activity stages with planted answers, and the AMI meetings."""
import numpy as np
import pytest
import soundfile as sf

from prosody.config import VadConfig
from prosody.session import analyze_blocks
from prosody.engine.vad import NoiseFloor, RawVad, SpeechSmoother

CFG = VadConfig(min_duration_on_s=0.1, min_duration_off_s=0.3, pad_onset_s=0.0, pad_offset_s=0.0)


def smooth(raw, cfg=CFG, chunks=None, blocked=None, cross_talk=False):
    sm = SpeechSmoother(cfg, cross_talk=cross_talk)
    out, i = [], 0
    for n in chunks or [len(raw)]:
        out.append(sm.push(raw[i:i + n], None if blocked is None else blocked[i:i + n]))
        i += n
    out.append(sm.flush())
    return np.concatenate(out)


def push_in_blocks(vad, frames, sizes):
    """``vad.push`` over ``frames`` in blocks of ``sizes[0]``, ``sizes[1]`` ... (cycled), concatenated."""
    out, i, j = [], 0, 0
    while i < len(frames):
        k = sizes[j % len(sizes)]
        out.append(vad.push(frames[i:i + k]))
        i, j = i + k, j + 1
    return np.concatenate(out)


def runs(x):
    d = np.diff(np.concatenate([[0], x.astype(int), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def test_smoother_merges_short_pauses_and_drops_blips():
    raw = np.zeros(300, dtype=bool)
    raw[20:60] = True    # speech
    raw[80:120] = True   # after a 20-frame (0.2 s) pause: merged with the above
    raw[200:205] = True  # 50 ms blip: dropped
    assert runs(smooth(raw)) == [(20, 120)]


def test_smoother_keeps_long_pauses_and_pads():
    raw = np.zeros(300, dtype=bool)
    raw[20:60] = True
    raw[100:150] = True  # 0.4 s pause > 0.3 s: separate
    assert runs(smooth(raw)) == [(20, 60), (100, 150)]
    padded = VadConfig(min_duration_on_s=0.1, min_duration_off_s=0.3, pad_onset_s=0.05, pad_offset_s=0.1)
    assert runs(smooth(raw, padded)) == [(15, 70), (95, 160)]


def test_smoother_blocked_frames_stop_merging():
    raw = np.zeros(300, dtype=bool)
    raw[20:60] = True
    raw[70:100] = True
    blocked = np.zeros(300, dtype=bool)
    cfg = VadConfig(min_duration_on_s=0.1, min_duration_off_s=0.3, bleed_min_block_s=0.1)
    blocked[60:70] = True   # 0.1 s of cross-talk between the two: the other speaker, no bridging
    assert runs(smooth(raw, cfg, blocked=blocked)) == [(20, 60), (70, 100)]
    assert runs(smooth(raw, cfg, blocked=blocked, chunks=[62, 3, 235])) == [(20, 60), (70, 100)]
    blocked[:] = False
    blocked[62:67] = True   # 50 ms: a pause between words heard over the other voice, bridged
    assert runs(smooth(raw, cfg, blocked=blocked)) == [(20, 100)]


@pytest.mark.parametrize("seed", range(3))
def test_smoother_chunk_invariant(seed):
    rng = np.random.default_rng(seed)
    raw = rng.random(3000) < 0.4
    raw[1000:1500] = False
    chunks = np.diff(np.unique(np.concatenate([[0, 3000], rng.integers(1, 3000, size=40)]))).tolist()
    np.testing.assert_array_equal(smooth(raw), smooth(raw, chunks=chunks))
    assert len(smooth(raw)) == 3000
    blocked = ~raw & (rng.random(3000) < 0.5)
    np.testing.assert_array_equal(smooth(raw, blocked=blocked), smooth(raw, chunks=chunks, blocked=blocked))


def test_noise_floor_tracks_percentile_at_fixed_points():
    nf = NoiseFloor(window_s=2.0, percentile=10.0, update_every=50)
    levels = np.full(400, -60.0, dtype=np.float32)
    levels[::2] = -20.0  # half the frames loud
    f = nf.push(levels)
    assert np.isneginf(f[:50]).all()          # no estimate before the first refresh
    assert np.allclose(f[50:], -60.0)          # the floor is the quiet level, not the mean


@pytest.mark.parametrize("kind", ["white", "hum"])
def test_steady_noise_at_the_start_is_not_speech_once_seen_for_0_1_s(kind):
    """Before the first refresh (0.5 s) the gate was open: loud hiss at t = 0 read as 0.3-0.5 s
    of speech. A steady noise (levels within 6 dB) sets the floor from 0.1 s on; the warm-up
    looks sit at fixed frames, so any block split gives the same decisions."""
    rng = np.random.default_rng(3)
    t = np.arange(16000 * 2) / 16000
    x = rng.standard_normal(len(t)) if kind == "white" else \
        3 * np.sin(2 * np.pi * 50 * t) + np.sin(2 * np.pi * 150 * t) + 0.3 * rng.standard_normal(len(t))
    x = (x / np.sqrt(np.mean(x ** 2)) * 10 ** (-20 / 20)).astype(np.float32)
    frames = x.reshape(-1, 160)
    whole = RawVad(VadConfig()).push(frames)
    assert not whole[10:].any()
    rng_blocks = np.random.default_rng(4)
    sizes = [int(rng_blocks.integers(1, 23)) for _ in range(len(frames))]
    assert np.array_equal(push_in_blocks(RawVad(VadConfig()), frames, sizes), whole)


@pytest.mark.parametrize("block", [48000, 160, 1000])
def test_loud_hiss_alone_is_no_speech(block):
    """Through the whole pipeline (one speaker: the lowered gate of noise included; two): 3 s
    of -20 dBFS white noise read as 0.5 s of speech at t = 0. The floor's warm-up closes the
    gate at its first look (0.1 s), and the raw speech that the open gate passed before it is
    taken back from the smoother's open stretch (``RawVad.take_retro``), for any block split."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((16000 * 3, 2)) * 0.1).astype(np.float32)
    for audio, speakers in ((x[:, :1], ("t",)), (x, ("t", "c"))):
        s = analyze_blocks([audio[a:a + block] for a in range(0, len(audio), block)], speakers)
        assert s.segments == ()


def test_speech_after_a_tenth_of_a_second_of_hiss_keeps_its_start():
    """The take-back leaves speech alone: hiss for 0.1-0.3 s, then the fixture's therapist from
    her first word: the first segment starts where it does after a long settled lead-in."""
    import json
    from tests.conftest import FIXTURES
    x, sr = sf.read(FIXTURES / "mono_therapist.wav", dtype="float32")
    onset = json.loads((FIXTURES / "mono_therapist.truth.json").read_text())["segments"]["therapist"][0][0]
    speech = x[int(onset * sr) - 160:]
    rng = np.random.default_rng(9)
    for lead_s in (0.1, 0.2, 0.3):
        lead = int(lead_s * sr)
        y = np.concatenate([np.zeros(lead, np.float32), speech])
        y = (y + rng.standard_normal(len(y)) * 10 ** (-50 / 20)).astype(np.float32)
        s = analyze_blocks([y[:, None]], ("t",))
        assert s.segments and abs(s.segments[0].start_s - lead_s) <= 0.05, (lead_s, s.segments[:1])


@pytest.mark.parametrize("lead_s", [0.6, 0.0])
def test_warm_up_on_a_one_speaker_channel_is_the_same_for_any_block_split(lead_s):
    """The lowered gate of noise and its hold, with the warm-up's looks (a steady-noise start,
    whose open-gate frames then start no hold; or speech from its first frame): block splits that cut
    at, before and after the looks' frames give the same decisions."""
    import json
    from tests.conftest import FIXTURES
    x, sr = sf.read(FIXTURES / "mono_therapist.wav", dtype="float32")
    onset = json.loads((FIXTURES / "mono_therapist.truth.json").read_text())["segments"]["therapist"][0][0]
    rng = np.random.default_rng(5)
    x = x[int(onset * sr):][: 4 * sr] if lead_s == 0 else np.concatenate([np.zeros(int(lead_s * sr), np.float32),
                                                                          x[: 4 * sr]])
    x = (x + rng.standard_normal(len(x)) * 0.01).astype(np.float32)
    n = len(x) // 160
    frames = x[: n * 160].reshape(n, 160)
    v = RawVad(VadConfig(), noise_following=True)
    whole = v.push(frames)
    assert v.floor.steady_looks == ([50] if lead_s else [])  # the hold's reset taken, or not
    for sizes in ([1], [7], [10], [49, 1, 50], [3, 17, 50, 11], [53]):
        assert np.array_equal(push_in_blocks(RawVad(VadConfig(), noise_following=True), frames, sizes), whole), sizes


def test_diarizer_hears_no_voice_in_steady_noise_alone():
    """The diarizer's speech mask has the warm-up's steady-noise floor (not its scaled
    percentile): 3 s of -20 dBFS hiss read as 0.5 s of speech and "one voice found"."""
    from prosody.engine.diarize import DiarizeConfig, diarize, speech_mask
    x = (np.random.default_rng(3).standard_normal(16000 * 3) * 0.1).astype(np.float32)
    assert speech_mask(x, DiarizeConfig().vad).sum() <= 10
    assert diarize(x).n_voices == 0


def test_noise_floor_warm_up_looks_only_at_steady_levels():
    nf = NoiseFloor(window_s=8.0, percentile=10.0, update_every=50, warm_up=True)
    speechy = np.tile(np.r_[np.full(6, -20.0), np.full(4, -34.0)], 5).astype(np.float32)  # 14 dB swings
    assert np.isneginf(nf.push(speechy)).all()     # no floor taken from speech before 0.5 s
    nf = NoiseFloor(window_s=8.0, percentile=10.0, update_every=50, warm_up=True)
    steady = np.full(60, -40.0, np.float32)
    steady[::3] = -37.0
    f = nf.push(steady)
    assert np.isneginf(f[:10]).all() and np.allclose(f[10:], -40.0)
    # a held vowel taken for noise at the first look: the next look sees the swing and opens the gate again
    nf = NoiseFloor(window_s=8.0, percentile=10.0, update_every=50, warm_up=True)
    f = nf.push(np.r_[np.full(10, -20.0), np.tile(np.r_[np.full(6, -20.0), np.full(4, -34.0)], 4)].astype(np.float32))
    assert np.isneginf(f[:10]).all() and np.allclose(f[10:20], -20.0) and np.isneginf(f[20:]).all()


def test_noise_floor_warm_up_scales_the_percentile_with_the_frames_heard():
    """A recording that starts mid-sentence: at the first refresh (0.5 s of the 8 s window) the
    floor is about the quietest frame heard, not the 10th percentile of continuous speech."""
    levels = np.linspace(-40.0, -20.0, 50).astype(np.float32)
    warm = NoiseFloor(window_s=8.0, percentile=10.0, update_every=50, warm_up=True)
    plain = NoiseFloor(window_s=8.0, percentile=10.0, update_every=50)
    warm.push(levels)
    plain.push(levels)
    assert warm.push(levels[:1])[0] == pytest.approx(np.percentile(levels, 10.0 * 50 / 800))
    assert plain.push(levels[:1])[0] == pytest.approx(np.percentile(levels, 10.0))


def test_recording_cut_mid_sentence_keeps_its_first_second():
    """The fixture dialogue's therapist channel cut where she is speaking: the first second keeps
    the decisions that the channel had with its floor settled."""
    from tests.conftest import FIXTURES
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    ch = np.ascontiguousarray(x[:, 0])
    n = len(ch) // 160
    settled = RawVad(VadConfig()).push(ch[: n * 160].reshape(n, 160))
    starts = [int(i) for i in np.flatnonzero(settled[800:-200] & settled[799:-201])[::97][:8] + 800]
    assert len(starts) >= 4
    kept = total = 0
    for c in starts:
        cut = ch[c * 160:(c + 100) * 160].reshape(100, 160)
        d = RawVad(VadConfig()).push(cut)
        kept += int((d & settled[c:c + 100]).sum())
        total += int(settled[c:c + 100].sum())
    assert kept >= 0.9 * total


def test_quiet_recording_level_independent():
    """The same speech at -25 and -50 dBFS gives (nearly) the same segments:
    the gate is relative to the channel's own noise floor."""
    from tests.conftest import FIXTURES
    x, sr = sf.read(FIXTURES / "mono_therapist.wav", dtype="float32")
    loud = analyze_blocks([x[:, None]], ("t",))
    quiet = analyze_blocks([(x * 10 ** (-25 / 20))[:, None]], ("t",))
    a, b = loud.frames["t"]["is_speech"], quiet.frames["t"]["is_speech"]
    assert np.mean(a != b) < 0.02
    assert len(loud.segments) == len(quiet.segments) == 3


def test_silence_and_low_rumble_are_not_speech():
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 6) / 16000
    x = 1e-4 * rng.standard_normal(len(t))
    x[32000:64000] += 0.05 * np.sin(2 * np.pi * 70 * t[32000:64000])  # 70 Hz hum/rumble burst
    s = analyze_blocks([x.astype(np.float32)[:, None]], ("t",))
    assert s.segments == ()


def test_ami_frame_f1(corpus):
    """Frame F1 of speech vs non-speech on the six AMI excerpts (reference:
    union of all speakers' RTTM turns): mean >= 0.94, none below 0.88."""
    from benchmarks._common import AMI_FILES, f1, frame_mask, rttm_segments
    scores = []
    for uri in AMI_FILES:
        x, sr = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
        pred = analyze_blocks([x[:, None]], ("s",)).frames["s"]["is_speech"]
        scores.append(f1(pred, frame_mask(rttm_segments(uri, corpus), len(pred))))
    assert np.mean(scores) >= 0.94 and min(scores) >= 0.88, scores


def test_smoother_amid_cross_talk_counts_raw_speech_not_bridged_pauses():
    # leak residue: single frames that pass the cross-talk test, 0.5 s apart, cross-talk between them;
    # the merge bridges the gaps (0.6 s), but 2 frames of speech are not a 0.5 s backchannel
    cfg = VadConfig(min_duration_on_s=0.1, min_duration_off_s=0.6, bleed_min_duration_on_s=0.15)
    raw = np.zeros(300, dtype=bool)
    blocked = np.zeros(300, dtype=bool)
    raw[[100, 150]] = True
    blocked[110:120] = True
    blocked[140:148] = True
    assert runs(smooth(raw, cfg, blocked=blocked)) == []
    # 0.15 s of raw speech with the same cross-talk frames inside is kept, whatever the block sizes
    raw[100:108] = True
    raw[150:157] = True
    assert runs(smooth(raw, cfg, blocked=blocked)) == [(100, 157)]
    assert runs(smooth(raw, cfg, blocked=blocked, chunks=[105, 40, 3, 152])) == [(100, 157)]
    raw[156] = False  # one frame short of 0.15 s
    assert runs(smooth(raw, cfg, blocked=blocked)) == []


def test_smoother_with_a_cross_talk_stage_needs_raw_speech_in_a_short_stretch():
    # leak passed as scattered frames, no cross-talk frame inside: 2 raw frames 0.11 s apart
    # are not a 0.12 s backchannel on a channel with a cross-talk stage; a short stretch needs
    # min_duration_on_s of raw speech frames, a longer one (bleed_short_s) does not
    cfg = VadConfig(min_duration_on_s=0.1, min_duration_off_s=0.6, bleed_short_s=0.4)
    raw = np.zeros(400, dtype=bool)
    none = np.zeros(400, dtype=bool)
    raw[[100, 111]] = True
    assert runs(smooth(raw, cfg, blocked=none)) == [(100, 112)]        # no cross-talk stage: as before
    assert runs(smooth(raw, cfg, blocked=none, cross_talk=True)) == []
    assert runs(smooth(raw, cfg, blocked=none, cross_talk=True, chunks=[101, 7, 292])) == []
    raw[330:340] = True                                                # 0.1 s of raw speech: kept
    raw[[200, 245]] = True                                             # a 0.46 s stretch: extent counts
    want = [(200, 246), (330, 340)]
    assert runs(smooth(raw, cfg, blocked=none, cross_talk=True)) == want
    assert runs(smooth(raw, cfg, blocked=none, cross_talk=True, chunks=[201, 44, 60, 95])) == want
    assert runs(smooth(raw, VadConfig(min_duration_on_s=0.1, min_duration_off_s=0.6, bleed_short_s=0.0),
                       blocked=none, cross_talk=True)) == [(100, 112)] + want  # 0 turns the rule off
    assert SpeechSmoother(cfg, cross_talk=True).latency_frames == 100  # 0.4 s + the 0.6 s merge
    assert SpeechSmoother(cfg).latency_frames == 75                    # 0.15 s + 0.6 s, as before


def test_raw_vad_push_skips_the_click_features_and_keeps_their_state():
    # push() (the diarizer's speech mask, the online attribution) computes no click features; a
    # push_detail after it still reads the right 20 ms look-back: interleaved, the same as push_detail alone
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3000, 160)) * np.repeat(rng.uniform(0.001, 0.3, 300), 10)[:, None]).astype(np.float32)
    x[1000:1003, :4] += 0.9                             # clicks
    a, b = RawVad(), RawVad()
    for i in range(0, 3000, 100):
        want = a.push_detail(x[i:i + 100])
        if (i // 100) % 3 == 0:
            np.testing.assert_array_equal(b.push(x[i:i + 100]), want[0])
        else:
            for got, w in zip(b.push_detail(x[i:i + 100]), want):
                np.testing.assert_array_equal(got, w)
