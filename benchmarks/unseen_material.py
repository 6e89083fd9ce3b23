"""Material never seen (issue 9, forty-seventh round): the splits ``unseen`` and ``unseen_rooms``.

Made after all tuning (forty-six rounds) and used for no tuning: a held-out check of whether who-spoke-when
holds on voices, levels, rooms and devices no other split has used. Keep it that way: a change tuned on
these splits makes them one more tuning split.

* ``unseen``: AMI speakers' own turns (``diarization.turn_stretches``), each voice transformed with Praat's
  "Change gender" (formant shift ratio 0.85-1.18, a new pitch median, a pitch range factor; duration factor
  1.0, so the planted turn timing stays exact), placed as turns as ``diarization.ami_dialogue`` places them
  (other seeds) and mixed as ``ami_cases`` mixes (mono and shared, 0-6 dB level draws, no room). The pairs
  are ones no split has: a man made a woman beside a real woman, two men moved apart in pitch, two men
  moved to one pitch, a woman made a man beside a real man, two women moved apart in liveliness.
* ``unseen_rooms``: the same five pairs (one placement each) under conditions no split has used: a table
  recorder near one person (mono, one voice 11 dB under the other), a near-field voice beside a far
  reverberant one (RT60 0.9 s, direct path 6 dB under the tail), hum and fan noise (50 Hz mains and its
  harmonics with low-passed fan noise, ~16 dB under the voices, shared), a recording made at 8 kHz and
  resampled to 16 kHz, an MP3 at 32 kbit/s (ffmpeg's LAME, decoded back).

The AMI audio is read from the corpus at run time; nothing of it is written into the repository.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np
from scipy import signal

SR = 16000

# name -> (AMI uri, speaker, formant shift ratio, new pitch median Hz (0: kept), pitch range factor)
# Median F0 of each speaker's own turns (Praat, 60-500 Hz): MEE075 106, MEE076 96, MEE009 112, MEE012 102,
# FEE078 179, FEE083 160, FEO072 201.
VOICES = {
    "MEE075>F": ("trn04", "MEE075", 1.18, 205.0, 1.0),   # a man made a woman
    "FEE078": ("trn05", "FEE078", 1.0, 0.0, 1.0),        # a real woman (unchanged)
    "MEE009 low": ("dev00", "MEE009", 0.92, 88.0, 0.8),  # two men moved apart (7 st)
    "MEE012 high": ("dev00", "MEE012", 1.08, 135.0, 1.2),
    "MEE075 101": ("trn04", "MEE075", 1.0, 101.0, 1.0),  # two men moved to one pitch
    "MEE076 101": ("trn04", "MEE076", 1.0, 101.0, 1.0),
    "FEO072>M": ("tst00", "FEO072", 0.85, 110.0, 1.0),   # a woman made a man
    "MEE009": ("dev00", "MEE009", 1.0, 0.0, 1.0),        # a real man (unchanged)
    "FEE083 flat": ("trn06", "FEE083", 0.93, 145.0, 0.6),  # two women moved apart in liveliness
    "FEE078 lively": ("trn05", "FEE078", 1.1, 230.0, 1.5),
}
PAIRS = [("MEE075>F", "FEE078"), ("MEE009 low", "MEE012 high"), ("MEE075 101", "MEE076 101"),
         ("FEO072>M", "MEE009"), ("FEE083 flat", "FEE078 lively")]  # (therapist, client)
SEEDS = {"unseen": (470, 471), "unseen_rooms": (472,)}
CONDITIONS = ("level", "nearfar", "hum", "8k", "mp3")
# Praat's draws for "Change gender" (``change_gender``): 0 is the split's material; PROSODY_UNSEEN_DRAW=1, 2, ...
# gives the same voices with other draws (how far the figures move with them; use another --cache)
DRAW = int(os.environ.get("PROSODY_UNSEEN_DRAW", "0"))


def change_gender(y: np.ndarray, *, formant_ratio: float, median_hz: float, range_factor: float,
                  seed: int) -> np.ndarray:
    """``y`` (float32, 16 kHz) through Praat's "Change gender" (pitch 60-500 Hz, duration factor 1.0), as
    many samples as it came in with. Praat's overlap-add draws random numbers (two runs on one input
    differ by up to 0.05 in amplitude), so its generator is seeded with ``seed`` first: the same material
    on every run and machine (with Praat 6.1.38, parselmouth 0.4.7)."""
    if formant_ratio == 1.0 and median_hz == 0.0 and range_factor == 1.0:
        return y
    import parselmouth
    from parselmouth.praat import call, run
    snd = parselmouth.Sound(y.astype(np.float64), SR)
    run(f"random_initializeWithSeedUnsafelyButPredictably({int(seed)})")
    try:
        with warnings.catch_warnings():  # "no voiced segments found" (a breath, a short unvoiced stretch)
            warnings.simplefilter("ignore")
            out = call(snd, "Change gender", 60, 500, formant_ratio, median_hz, range_factor, 1.0)
    except parselmouth.PraatError:  # too short for Praat's pitch analysis (a 0.3 s backchannel): kept as it is
        return y
    finally:
        run("random_initializeSafelyAndUnpredictably()")
    z = out.values[0].astype(np.float32)
    z = z[: len(y)] if len(z) >= len(y) else np.concatenate([z, np.zeros(len(y) - len(z), np.float32)])
    return z


_PIECES: dict[str, list[np.ndarray]] = {}


def median_f0_hz(y: np.ndarray) -> float:
    """Median pitch of ``y`` (Praat, 60-500 Hz) over its voiced frames; nan where none is voiced."""
    import parselmouth
    f0 = parselmouth.Sound(y.astype(np.float64), SR).to_pitch(pitch_floor=60, pitch_ceiling=500)
    f0 = f0.selected_array["frequency"]
    return float(np.median(f0[f0 > 0])) if np.any(f0 > 0) else float("nan")


def voice_pieces(name: str, corpus: Path) -> list[np.ndarray]:
    """The transformed turns of voice ``name`` (``VOICES``), each cut as ``turn_stretches`` cuts them. The
    new pitch median is the voice's over all its turns: each turn is moved by the same ratio (its own median
    times new / the voice's), so that the turns keep how they differ in pitch."""
    if name not in _PIECES:
        import soundfile as sf
        from diarization import turn_stretches
        uri, spk, fr, med, rf = VOICES[name]
        x, sr = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
        raw = [x[int(a * sr):int(b * sr)] for a, b in turn_stretches(uri, corpus, x, sr)[spk]]
        ratio = med / median_f0_hz(np.concatenate(raw)) if med > 0 else 0.0
        out = []
        for i, y in enumerate(raw):
            own = median_f0_hz(y) * ratio
            out.append(change_gender(y, formant_ratio=fr, median_hz=own if own == own else 0.0, range_factor=rf,
                                     seed=zlib.crc32(name.encode()) % 100000 + 1000 * DRAW + i))
        _PIECES[name] = out
    return _PIECES[name]


def hum_and_fan(n: int, seed: int) -> np.ndarray:
    """Mains hum (50 Hz and harmonics 100-250 Hz, falling) plus fan noise (white noise low-passed at
    ~400 Hz with a 1 kHz blade tone), unit rms, float64."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    hum = sum(a * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
              for f, a in ((50, 1.0), (100, 0.5), (150, 0.35), (200, 0.15), (250, 0.1)))
    sos = signal.butter(2, 400, btype="lowpass", fs=SR, output="sos")
    fan = signal.sosfilt(sos, rng.standard_normal(n))
    fan = fan / np.sqrt(np.mean(fan ** 2)) + 0.05 * np.sin(2 * np.pi * 1000 * t)
    y = hum / np.sqrt(np.mean(hum ** 2)) + 1.2 * fan
    return y / np.sqrt(np.mean(y ** 2))


def through_8k(x: np.ndarray) -> np.ndarray:
    """Each channel recorded at 8 kHz (resampled down, anti-aliased) and resampled back up to 16 kHz."""
    y = signal.resample_poly(x.astype(np.float64), 1, 2, axis=0)
    return signal.resample_poly(y, 2, 1, axis=0)[: len(x)].astype(np.float32)


def through_mp3(x: np.ndarray, kbps: int = 32) -> np.ndarray:
    """``x`` (n, channels) encoded as MP3 at ``kbps`` (ffmpeg, libmp3lame) and decoded back; the encoder's
    start delay removed by cross-correlation (checked: the decoder's gapless trim leaves 0 samples), the
    length kept."""
    import soundfile as sf
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is needed for the MP3 condition")
    with tempfile.TemporaryDirectory() as d:
        src, mp3, back = Path(d) / "a.wav", Path(d) / "a.mp3", Path(d) / "b.wav"
        sf.write(src, x, SR, subtype="FLOAT")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:a", "libmp3lame", "-b:a", f"{kbps}k",
                        str(mp3)], check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(mp3), "-ar", str(SR), str(back)], check=True)
        y, _ = sf.read(back, dtype="float32", always_2d=True)
    a, b = x[:, 0].astype(np.float64), y[:, 0].astype(np.float64)
    m = min(len(a), len(b))
    c = signal.correlate(b[:m], a[:m], mode="full", method="fft")
    lag = int(np.argmax(c[m - 1:m - 1 + 4000]))  # b lags a by 0..4000 samples
    y = y[lag:]
    if len(y) < len(x):
        y = np.concatenate([y, np.zeros((len(x) - len(y), y.shape[1]), np.float32)])
    return y[: len(x)]


def with_condition(tracks: np.ndarray, condition: str, seed: int) -> tuple[np.ndarray, str]:
    """The two clean tracks (n, 2) recorded under ``condition``: the mixed recording and its layout."""
    from diarization import _Tracks
    from tests.dialogue import _room_response, mix_room
    rng = np.random.default_rng(seed)
    n = len(tracks)
    if condition == "level":  # a table recorder near the therapist: the client 11 dB under her, light room
        x, _ = mix_room(_Tracks(tracks), layout="mono", level_diff_db=(0.0, -22.0), delay_ms=(0.0, 0.0),
                        rt60_s=0.3, drr_db=8.0, noise_db=-65.0, seed=seed)
        return x, "mono"
    if condition == "nearfar":  # therapist near and dry; the client far (RT60 0.9 s, tail 6 dB over the direct path)
        far = signal.fftconvolve(tracks[:, 1].astype(np.float64),
                                 _room_response(rng, rt60_s=0.9, sample_rate=SR, drr_db=-6.0))[:n]
        far *= np.sqrt(np.mean(tracks[:, 1].astype(np.float64) ** 2) / max(np.mean(far ** 2), 1e-20)) * 10 ** (-4 / 20)
        x = tracks[:, 0].astype(np.float64) + far + rng.standard_normal(n) * 10 ** (-65 / 20)
        return (x / max(1.0, np.max(np.abs(x)) * 1.01)).astype(np.float32)[:, None], "mono"
    if condition == "hum":  # a room with a fan and a humming lamp, two table mics
        x, _ = mix_room(_Tracks(tracks), layout="shared", level_diff_db=(4.0, -4.0), delay_ms=(0.3, 0.6),
                        rt60_s=0.35, noise_db=-70.0, seed=seed)
        sp = np.abs(tracks).sum(axis=1) > 0
        speech_db = 10 * np.log10(np.mean(x[sp].astype(np.float64) ** 2))
        nz = hum_and_fan(n, seed) * 10 ** ((speech_db - 16) / 20)
        x = x + np.stack([nz, np.roll(nz, 7)], axis=1)
        return (x / max(1.0, np.max(np.abs(x)) * 1.01)).astype(np.float32), "shared"
    if condition in ("8k", "mp3"):  # a phone's memo app at 8 kHz, or a recorder's MP3 at 32 kbit/s
        x, _ = mix_room(_Tracks(tracks), layout="mono", level_diff_db=(2.0, -2.0), delay_ms=(0.0, 0.0),
                        rt60_s=0.3, noise_db=-60.0, seed=seed)
        return (through_8k(x) if condition == "8k" else through_mp3(x)), "mono"
    raise ValueError(condition)


def unseen_cases(split: str, quick: bool):
    """(name, audio, truth) of split ``unseen`` or ``unseen_rooms`` (module docstring)."""
    from _common import corpus_dir
    from diarization import _Tracks, place_turns
    from tests.dialogue import mix_room
    corpus = corpus_dir()
    if corpus is None:
        print("  (no corpus: the unseen splits need the AMI excerpts)", file=sys.stderr)
        return
    rng = np.random.default_rng(4700 + (split == "unseen_rooms"))
    for k, (tv, cv) in enumerate(PAIRS):
        for seed in SEEDS[split][:1] if quick else SEEDS[split]:
            tracks, truth = place_turns(voice_pieces(tv, corpus), voice_pieces(cv, corpus), seed)
            if split == "unseen":
                for layout in ("mono", "shared"):
                    ld = tuple(float(rng.uniform(0, 6)) * rng.choice([-1, 1]) for _ in range(2))
                    x, _ = mix_room(_Tracks(tracks), layout=layout, level_diff_db=ld,
                                    delay_ms=tuple(rng.uniform(0, 1, 2)), rt60_s=None, noise_db=-65.0, seed=seed)
                    yield f"unseen {tv}/{cv} s{seed} {layout}", x, truth
            else:
                for cond in CONDITIONS if not quick else CONDITIONS[k % 5:k % 5 + 1]:
                    x, layout = with_condition(tracks, cond, seed + 10 * k)
                    yield f"unseen {cond} {tv}/{cv} s{seed} {layout}", x, truth


def unseen_single_cases(split: str, quick: bool):
    """Each transformed voice alone (its turns, each at -24 dB rms, with 0.6 s pauses); in ``unseen_rooms`` under
    one condition each (the voice as the therapist's track, the client's track silent)."""
    from _common import corpus_dir
    corpus = corpus_dir()
    if corpus is None:
        return
    names = list(dict.fromkeys(v for p in PAIRS for v in p))
    for i, name in enumerate(names[:2] if quick else names):
        parts = []
        for y in voice_pieces(name, corpus):
            parts += [y / max(np.sqrt(np.mean(y ** 2)), 1e-6) * 10 ** (-24 / 20), np.zeros(int(0.6 * SR), np.float32)]
        y = np.concatenate(parts).astype(np.float32)  # 3.8-22.3 s, not tiled: a repeat is no new evidence
        if split == "unseen":
            noise = np.random.default_rng(i).standard_normal(len(y)).astype(np.float32) * 10 ** (-65 / 20)
            yield f"unseen one voice {name}", y + noise
        else:
            cond = CONDITIONS[i % len(CONDITIONS)]
            tracks = np.stack([y, np.zeros_like(y)], axis=1)
            x, layout = with_condition(tracks, cond, 900 + i)
            yield f"unseen one voice {cond} {name} {layout}", x


def drawn_voice_fx(rng: np.random.Generator, corpus: Path):
    """A ``voice_fx`` for ``tests.dialogue.ami_dialogue`` (``benchmarks/crosstalk.py --split unseen``): each
    AMI speaker met gets a "Change gender" drawn from ``rng`` (a man made a woman or a woman a man with
    p = 1/2: formant shift 1.12-1.2 / 0.85-0.9, pitch median 180-230 / 95-130 Hz; else moved within his or her
    register: formants 0.9-1.1, median 85-140 / 150-240 Hz; pitch range factor 0.6-1.5), each stretch moved
    by the ratio of the new median to the speaker's own (``voice_pieces``), Praat seeded per stretch."""
    import soundfile as sf
    from _common import rttm_segments
    chosen: dict[tuple[str, str], tuple[float, float, float]] = {}
    own_hz: dict[tuple[str, str], float] = {}
    count = [0]

    def fx(key: tuple[str, str], y: np.ndarray) -> np.ndarray:
        uri, spk = key
        if key not in chosen:
            male = spk.startswith("M")
            if rng.uniform() < 0.5:  # the other sex
                fr, med = (rng.uniform(1.12, 1.2), rng.uniform(180, 230)) if male else \
                    (rng.uniform(0.85, 0.9), rng.uniform(95, 130))
            else:
                fr, med = rng.uniform(0.9, 1.1), (rng.uniform(85, 140) if male else rng.uniform(150, 240))
            chosen[key] = (float(fr), float(med), float(rng.uniform(0.6, 1.5)))
            x, sr = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
            x = x if x.ndim == 1 else x[:, 0]
            own_hz[key] = median_f0_hz(np.concatenate([x[int(a * sr):int(b * sr)]
                                                       for s, a, b in rttm_segments(uri, corpus) if s == spk]))
        fr, med, rf = chosen[key]
        here = median_f0_hz(y) * med / own_hz[key]
        count[0] += 1
        return change_gender(np.asarray(y, np.float32), formant_ratio=fr, median_hz=here if here == here else 0.0,
                             range_factor=rf, seed=int(rng.integers(1 << 30)) + count[0])
    fx.chosen = chosen
    return fx
