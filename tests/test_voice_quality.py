"""Voice quality with planted truth: pulse trains with known jitter and
shimmer, periodic voices with known harmonics-to-noise ratio; chunked input
equals whole input; per-phase sums; Praat (parselmouth, dev only) as anchor."""
from __future__ import annotations

import numpy as np
import pytest

from prosody.engine.pipeline import Pipeline
from prosody.engine.voice_quality import VoiceQualityTracker, summarize_chunks
from prosody.measures import voice_quality_measures
from tests.voice_synth import synthetic_voice

SR = 16000


def voiced(x, dur_s=2.5):
    """The voiced stretch of a ``synthetic_voice`` (it has 0.3 s of lead and tail)."""
    return x[int(0.3 * SR):int((0.3 + dur_s - 0.03) * SR)]


def tracked(x, f0_hz, *, speaker="s", block=None):
    """The tracker fed ``x`` and a constant F0 with every frame voiced speech."""
    tr = VoiceQualityTracker(speaker)
    n_frames = len(x) // 160
    f0 = np.full(n_frames, float(f0_hz))
    if block is None:
        tr.push_samples(x)
        chunks = tr.push_frames(np.ones(n_frames, bool), f0)
    else:
        chunks, k = [], 0
        for i in range(0, len(x), block):
            tr.push_samples(x[i:i + block])
            m = min(len(x[:i + block]) // 160, n_frames) - k
            chunks += tr.push_frames(np.ones(m, bool), f0[k:k + m])
            k += m
    return chunks + tr.flush()


@pytest.mark.parametrize("f0_hz,jitter,shimmer,seed", [(120, 0.01, 0.05, 0), (200, 0.02, 0.03, 2),
                                                       (95, 0.005, 0.10, 4)])
def test_planted_jitter_and_shimmer(f0_hz, jitter, shimmer, seed):
    x, pj, ps, _ = synthetic_voice(f0_hz=f0_hz, jitter=jitter, shimmer=shimmer, seed=seed)
    m = summarize_chunks(tracked(voiced(x), f0_hz))
    assert m["jitter_local"] == pytest.approx(pj, abs=max(0.001, 0.15 * pj)), (m, pj)
    assert m["shimmer_local"] == pytest.approx(ps, abs=max(0.005, 0.15 * ps)), (m, ps)


@pytest.mark.parametrize("snr_db,f0_hz", [(5, 210), (10, 130), (20, 100)])
def test_planted_hnr_from_added_noise(snr_db, f0_hz):
    x, _, _, hnr = synthetic_voice(f0_hz=f0_hz, snr_db=snr_db, seed=snr_db * 2)
    m = summarize_chunks(tracked(voiced(x), f0_hz))
    assert m["hnr_db"] == pytest.approx(hnr, abs=1.5)


def test_cpps_falls_with_noise_and_matches_praat():
    cpps = []
    for snr in (None, 20, 10, 0):
        x, *_ = synthetic_voice(f0_hz=150, jitter=0.005, snr_db=snr, seed=6)
        cpps.append(summarize_chunks(tracked(voiced(x), 150))["cpps_db"])
    assert all(a > b + 1.0 for a, b in zip(cpps, cpps[1:])), cpps
    parselmouth = pytest.importorskip("parselmouth")
    from parselmouth.praat import call
    x, *_ = synthetic_voice(f0_hz=150, jitter=0.005, snr_db=20, seed=6)
    v = voiced(x)
    ours = summarize_chunks(tracked(v, 150))["cpps_db"]
    pc = call(parselmouth.Sound(v.astype(np.float64), SR), "To PowerCepstrogram", 60, 0.002, 5000, 50)
    praat = call(pc, "Get CPPS", False, 0.02, 0.0005, 60, 330, 0.05, "Parabolic", 0.001, 0, "Straight", "Robust")
    assert ours == pytest.approx(praat, abs=1.5)


def test_blocks_of_any_size_give_the_same_chunks():
    x, *_ = synthetic_voice(f0_hz=140, jitter=0.01, shimmer=0.04, snr_db=20, seed=3)
    whole = tracked(x, 140)
    assert tracked(x, 140, block=777) == whole
    # and through the pipeline: whole vs irregular blocks
    y = np.stack([x, 0.0 * x], axis=1)
    outs = []
    for sizes in ((len(y),), (160, 1234, 5000, 3)):
        p = Pipeline(("therapist", "client"))
        got, i, k = [], 0, 0
        while i < len(y):
            n = sizes[k % len(sizes)]
            got += p.push(y[i:i + n]).voice_quality
            i, k = i + n, k + 1
        outs.append(got + list(p.flush().voice_quality))
    assert outs[0] == outs[1]


def test_phases_sum_their_own_runs():
    """Steady voice for 3 s, then 3 % jitter for 3 s: the two halves read their planted jitter."""
    a, ja, _, _ = synthetic_voice(f0_hz=120, jitter=0.005, dur_s=3.0, seed=8)
    b, jb, _, _ = synthetic_voice(f0_hz=120, jitter=0.03, dur_s=3.0, seed=9)
    chunks = tracked(np.concatenate([voiced(a, 3.0), voiced(b, 3.0)]), 120)
    half = len(voiced(a, 3.0)) / SR
    first = voice_quality_measures(chunks, ("s",), 0.0, half)["s"]
    second = voice_quality_measures(chunks, ("s",), half, None)["s"]
    assert first["jitter_local"] == pytest.approx(ja, abs=0.0015)
    assert second["jitter_local"] == pytest.approx(jb, rel=0.15)
    assert voice_quality_measures([], ("s",))["s"]["jitter_local"] is None


def test_ptdb_against_praat(corpus):
    """A real read sentence: ours within the benchmark's tolerances of Praat,
    both on the voiced runs of our pipeline."""
    parselmouth = pytest.importorskip("parselmouth")
    import soundfile as sf
    import soxr
    from parselmouth.praat import call

    from prosody.session import analyze_blocks
    y, sr = sf.read(corpus / "PTDB-TUG" / "mic_F01_sa1.wav", dtype="float32")
    x = soxr.resample(y, sr, SR).astype(np.float32)
    s = analyze_blocks([x[:, None]], ("therapist",))
    ours = s.measures.voice_quality["therapist"]
    keep = np.zeros(len(x), bool)
    for c in s.voice_quality:
        keep[int(round(c.start_s * SR)):int(round(c.end_s * SR))] = True
    snd = parselmouth.Sound(np.where(keep, x, 0.0).astype(np.float64), SR)
    pp = call(snd, "To PointProcess (periodic, cc)", 75, 600)
    assert ours["jitter_local"] == pytest.approx(call(pp, "Get jitter (local)", 0, 0, 1e-4, 0.02, 1.3), rel=0.15)
    assert ours["shimmer_local"] == pytest.approx(
        call([snd, pp], "Get shimmer (local)", 0, 0, 1e-4, 0.02, 1.3, 1.6), rel=0.15)
    assert ours["hnr_db"] == pytest.approx(call(call(snd, "To Harmonicity (cc)", 0.01, 75, 0.1, 1.0),
                                                "Get mean", 0, 0), abs=1.5)
    # phases carry the same figures, over their own runs
    phases = s.measures.phases
    assert sum(p["voice_quality"]["therapist"]["n_periods"] for p in phases) == ours["n_periods"]


def test_store_trend_and_report_show_planted_voice_quality(tmp_path, capsys):
    """Planted figures in a stored document reach ``Store.metrics`` (by role),
    ``prosody trend`` and the report, per session and per phase."""
    from prosody.formats.bundle import SessionMeta
    from prosody.report.html import session_report
    from prosody.store.db import Store
    from prosody_cli.main import main

    def vq(j, s, h, c):
        return {"jitter_local": j, "shimmer_local": s, "hnr_db": h, "cpps_db": c, "n_periods": 500,
                "n_voiced_frames": 400}
    doc = {"schema": "prosody.session/2", "duration_s": 60.0, "frame_hop_s": 0.01, "speaker_order": ["ann", "bo"],
           "turn_taking": False, "speakers": {"ann": {}, "bo": {}}, "segments": [],
           "measures": {"voice_quality": {"ann": vq(0.0123, 0.0456, 17.5, 14.25), "bo": vq(0.02, 0.08, 9.5, 11.0)},
                        "phases": [{"name": "opening", "start_s": 0.0, "end_s": 12.0,
                                    "voice_quality": {"ann": vq(0.0099, 0.04, 18.5, 15.0), "bo": vq(None, None, None, None)}}]}}
    with Store(tmp_path / "st") as st:
        sid = st.save(doc, meta=SessionMeta(therapist="t1", client="c1", recorded_at="2024-01-01T10:00:00"))
        m = st.metrics([sid])[sid]
        assert m["voice_quality.therapist.jitter_local"] == 0.0123 and m["voice_quality.client.cpps_db"] == 11.0
        html = session_report(st.get(sid), None)
    assert '<section id="voice-quality">' in html
    for text in ("1.23 %", "4.6 %", "17.5 dB", "14.2 dB", "0.99 %", "18.5 dB", "opening"):
        assert text in html, text
    assert main(["trend", "--therapist", "t1", "--store", str(tmp_path / "st")]) == 0
    out = capsys.readouterr().out
    assert "HNR" in out and "jitter" in out and "1.23" in out and "17.5" in out and "14.2" in out


def test_a_fraction_of_a_second_of_voicing_gives_no_voice_quality_figure():
    """Hostile sweep 21's leftover: 0.1 s of a tone that passed speech detection gave "your voice quality"
    (jitter 0.10 %, shimmer 20 %): ten period pairs and ten frames were enough for a figure. Now 100 pairs
    and 100 voiced frames (1 s) are: 0.3 s of a planted voice gives none of the four figures, 1.5 s all four,
    the planted jitter and shimmer within the tolerance of the longer test above."""
    x, pj, ps, _ = synthetic_voice(f0_hz=150, jitter=0.01, shimmer=0.05, seed=7)
    short = summarize_chunks(tracked(voiced(x, 0.3), 150))
    assert short["n_periods"] >= 30 and short["n_voiced_frames"] >= 20, short  # data there, too little of it
    assert [short[k] for k in ("jitter_local", "shimmer_local", "hnr_db", "cpps_db")] == [None] * 4, short
    longer = summarize_chunks(tracked(voiced(x, 1.5), 150))
    assert longer["jitter_local"] == pytest.approx(pj, abs=max(0.001, 0.15 * pj)), (longer, pj)
    assert longer["shimmer_local"] == pytest.approx(ps, abs=max(0.005, 0.15 * ps)), (longer, ps)
    assert longer["hnr_db"] is not None and longer["cpps_db"] is not None, longer
