"""Figures of the enrolment check for a short second voice (``prosody.engine.speakers.odd_piece``;
docs/speakers.md, "Enrolment: a short second voice"): how many one-voice recordings enrol and how many short
dialogues are refused, by the diarizer's test alone (before) and with the piece test after it (after).

    PROSODY_CORPUS=../shared/corpus python scripts/enrol_check_figures.py   # about 5 CPU-minutes

Material (espeak-ng voices of tests/dialogue.py, the shared corpus): ~8 s dialogues (4.2-5.6 s of one voice,
one 1.2-2.2 s line of another, first, inside or last) on VOICE_POOL and on other voices (held out); 16-30 s
dialogues; one voice alone, 2-12 sentences, on VOICE_POOL (three pitches) and other voices; AMI speakers'
one-speaker stretches (all, the first ~8 s, runs of 3-5 stretches); PTDB-TUG's read sentence (F01, M01)
once, twice, three times, and F01 and M01 one after the other (two voices)."""
from __future__ import annotations

import itertools
import os
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from scipy import signal

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]
from tests.dialogue import (CLIENT_LONG_SENTENCES, CLIENT_SENTENCES, THERAPIST_LONG_SENTENCES,  # noqa: E402
                            THERAPIST_SENTENCES, VOICE_POOL, room_ir, synthesize)

SR = 16000
CORPUS = Path(os.environ.get("PROSODY_CORPUS", REPO.parent / "shared" / "corpus"))


def lvl(y, db):
    y = np.asarray(y, np.float64)
    return y / max(np.sqrt(np.mean(y**2)), 1e-9) * 10 ** (db / 20)


def place(parts, rng, room=True, noise_db=-55.0):
    """(mono mix float32, start of each part in s) of ``parts`` [(samples, pause before it in s)]: 0.3 s of
    silence first, 0.4 s last, a room (RT60 0.3 s) where ``room``, white noise at ``noise_db`` dBFS."""
    out = [np.zeros(int(0.3 * SR))]
    starts = []
    for y, gap in parts:
        out.append(np.zeros(int(gap * SR)))
        starts.append(sum(len(o) for o in out) / SR)
        out.append(y)
    out.append(np.zeros(int(0.4 * SR)))
    x = np.concatenate(out)
    if room:
        x = signal.fftconvolve(x, room_ir(0.3, seed=int(rng.integers(1000))))[: len(x)]
    if noise_db is not None:
        x = x + rng.standard_normal(len(x)) * 10 ** (noise_db / 20)
    return (x / max(1.0, np.abs(x).max() * 1.01)).astype(np.float32), starts


def short_dialogues():
    """~8 s: therapist, client (1.2-2.5 s), therapist; or client first / last."""
    rng = np.random.default_rng(1)
    out = []
    pairs = [(a, b) for a, b in itertools.permutations(VOICE_POOL, 2)]
    rng.shuffle(pairs)
    for i, (va, vb) in enumerate(pairs[:36]):
        ts, k = [], 0
        while sum(len(t) for t in ts) < rng.uniform(4.2, 5.6) * SR:
            ts.append(synthesize(THERAPIST_SENTENCES[(i + 5 * k) % 14], voice=va))
            k += 1
        c = synthesize(CLIENT_SENTENCES[i % 15], voice=vb)
        want = rng.uniform(1.2, 2.2)
        c = c[: int(min(len(c), want * SR))]
        da, dc = rng.uniform(-3, 3), rng.uniform(-3, 3)
        T = [(lvl(t, -24 + da), rng.uniform(0.2, 0.6)) for t in ts]
        C = (lvl(c, -24 + dc), rng.uniform(0.2, 0.6))
        where = i % 3
        pos = {0: 1 + (len(T) > 2), 1: len(T), 2: 0}[where]
        order = T[:pos] + [C] + T[pos:]
        x, starts = place(order, rng, room=bool(i % 2))
        cs = starts[pos]
        out.append((f"dlg{i:02d}_{va}|{vb}_{'mid end start'.split()[where]}_c{len(c)/SR:.1f}s@{cs:.2f}", x))
    return out


def espeak_one_voice():
    rng = np.random.default_rng(2)
    out = []
    for vi, v in enumerate(VOICE_POOL):
        for pitch in (None, 25, 75):
            for n in (2, 3, 5):
                pool = THERAPIST_SENTENCES + CLIENT_SENTENCES
                texts = [pool[(vi * 7 + k * 3 + (pitch or 0)) % 29] for k in range(n)]
                parts = [(lvl(synthesize(t, voice=v, pitch=pitch), -24 + rng.uniform(-2, 2)),
                          0.0 if k == 0 else rng.uniform(0.3, 0.9)) for k, t in enumerate(texts)]
                x, _ = place(parts, rng, room=bool((vi + n) % 2))
                out.append((f"esp_{v}_p{pitch}_n{n}", x))
    return out


def _ami_speakers():
    """(uri, speaker, the excerpt's samples, its rate, the speaker's one-speaker stretches) of every AMI
    excerpt's speakers (``benchmarks/diarization.py`` ``ami_stretches``)."""
    from diarization import ami_stretches
    for uri in ("dev00", "dev01", "trn04", "trn05", "trn06", "tst00"):
        y, sr = sf.read(CORPUS / "pyannote-audio" / f"{uri}.wav", dtype="float32")
        for spk, st in ami_stretches(uri, CORPUS).items():
            yield uri, spk, y, sr, st


def _joined(y, sr, stretches) -> np.ndarray:
    """The ``stretches`` of ``y`` one after another, each followed by 0.6 s of silence."""
    parts = []
    for a, b in stretches:
        parts += [y[int(a * sr):int(b * sr)], np.zeros(int(0.6 * sr), np.float32)]
    return np.concatenate(parts)


def ami_one_voice():
    out = []
    for uri, spk, y, sr, st in _ami_speakers():
        if not st:
            continue
        sp = sum(b - a for a, b in st)
        out.append((f"ami_{uri}_{spk}_all{sp:.0f}s", _joined(y, sr, st)))
        # short cut: the first stretches up to ~8 s of speech (the short-recording case)
        acc, k = 0.0, 0
        while k < len(st) and acc < 8.0:
            acc += st[k][1] - st[k][0]
            k += 1
        if acc >= 4.0 and acc < sp - 1.0:
            out.append((f"ami_{uri}_{spk}_first{acc:.0f}s", _joined(y, sr, st[:k])))
    return out


def ptdb():
    def rd(n):
        y, sr = sf.read(CORPUS / "PTDB-TUG" / f"mic_{n}_sa1.wav", dtype="float32")
        return soxr.resample(y, sr, SR).astype(np.float32)
    f, m = rd("F01"), rd("M01")
    return [("ptdb_F01x2", np.concatenate([f, f])), ("ptdb_M01x2", np.concatenate([m, m])),
            ("ptdb_F01x3", np.concatenate([f, f, f])), ("ptdb_M01x3", np.concatenate([m, m, m])),
            ("ptdb_F01", f), ("ptdb_M01", m)], [("ptdb_F01+M01", np.concatenate([f, m])),
            ("ptdb_M01+F01", np.concatenate([m, f]))]


def espeak_long():
    rng = np.random.default_rng(5)
    out = []
    for vi, v in enumerate(VOICE_POOL):
        for n in (8, 12):
            pitch = (None, 30, 70)[(vi + n) % 3]
            texts = [(THERAPIST_SENTENCES + CLIENT_SENTENCES)[(vi * 5 + k * 7) % 29] for k in range(n)]
            parts = [(lvl(synthesize(t, voice=v, pitch=pitch), -24 + rng.uniform(-3, 3)),
                      0.0 if k == 0 else rng.uniform(0.3, 0.9)) for k, t in enumerate(texts)]
            out.append((f"espL_{v}_p{pitch}_n{n}", place(parts, rng, room=bool(vi % 2))[0]))
    return out


def ami_subsets():
    """Every run of 3, 4 or 5 consecutive one-speaker stretches holding at least 3.5 s of speech, per start."""
    out = []
    for uri, spk, y, sr, st in _ami_speakers():
        for i in range(len(st)):
            for L in (3, 4, 5):
                sub = st[i:i + L]
                sp = sum(b - a for a, b in sub)
                if len(sub) == L and sp >= 3.5:
                    out.append((f"amisub_{uri}_{spk}_{i}+{L}_{sp:.0f}s", _joined(y, sr, sub)))
    return out


def longer_dialogues():
    """16-30 s: therapist 12-25 s, client one 1.2-2.2 s utterance."""
    rng = np.random.default_rng(7)
    out = []
    pairs = [(a, b) for a, b in itertools.permutations(VOICE_POOL, 2)]
    rng.shuffle(pairs)
    for i, (va, vb) in enumerate(pairs[:24]):
        ts, k = [], 0
        goal = (12, 18, 25)[i % 3]
        while sum(len(t) for t in ts) < goal * SR:
            ts.append(synthesize((THERAPIST_SENTENCES + THERAPIST_LONG_SENTENCES)[(i + 3 * k) % 18], voice=va))
            k += 1
        c = synthesize(CLIENT_SENTENCES[i % 15], voice=vb)
        c = c[: int(min(len(c), rng.uniform(1.2, 2.2) * SR))]
        da, dc = rng.uniform(-3, 3), rng.uniform(-3, 3)
        T = [(lvl(t, -24 + da), rng.uniform(0.3, 0.7)) for t in ts]
        C = (lvl(c, -24 + dc), rng.uniform(0.3, 0.7))
        pos = int(rng.integers(0, len(T) + 1))
        order = T[:pos] + [C] + T[pos:]
        x, starts = place(order, rng, room=bool(i % 2))
        out.append((f"dlgL{i:02d}_{va}|{vb}_{goal}s_c{len(c)/SR:.1f}s@{starts[pos]:.2f}", x))
    return out


HELD_POOL = ("en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc", "en-us+m6", "en+m8", "en-us+f3", "en+belinda",
             "en+david", "en+john", "en+paul", "en+max", "en+grandma", "en-us+adam", "en+iven", "en+aunty")


def held_dialogues(seed=11, n=36):
    rng = np.random.default_rng(seed)
    out = []
    pairs = [(a, b) for a, b in itertools.permutations(HELD_POOL, 2)]
    rng.shuffle(pairs)
    texts_t = THERAPIST_SENTENCES + THERAPIST_LONG_SENTENCES
    for i, (va, vb) in enumerate(pairs[:n]):
        ts, k = [], 0
        while sum(len(t) for t in ts) < rng.uniform(4.2, 5.6) * SR:
            ts.append(synthesize(texts_t[int(rng.integers(len(texts_t)))], voice=va))
            k += 1
        c = synthesize(CLIENT_SENTENCES[int(rng.integers(15))], voice=vb)
        c = c[: int(min(len(c), rng.uniform(1.2, 2.2) * SR))]
        da, dc = rng.uniform(-3, 3), rng.uniform(-3, 3)
        T = [(lvl(t, -24 + da), rng.uniform(0.2, 0.6)) for t in ts]
        C = (lvl(c, -24 + dc), rng.uniform(0.2, 0.6))
        pos = int(rng.integers(0, len(T) + 1))
        order = T[:pos] + [C] + T[pos:]
        x, starts = place(order, rng, room=bool(rng.integers(2)))
        out.append((f"hdlg{i:02d}_{va}|{vb}_c{len(c)/SR:.1f}s@{starts[pos]:.2f}", x))
    return out


def held_one_voice(seed=12):
    rng = np.random.default_rng(seed)
    out = []
    pool = THERAPIST_SENTENCES + CLIENT_SENTENCES + CLIENT_LONG_SENTENCES
    for v in HELD_POOL:
        for pitch in (None, int(rng.integers(20, 80))):
            for n in (2, 3, 5):
                texts = [pool[int(rng.integers(len(pool)))] for _ in range(n)]
                parts = [(lvl(synthesize(t, voice=v, pitch=pitch), -24 + rng.uniform(-3, 3)),
                          0.0 if k == 0 else rng.uniform(0.3, 0.9)) for k, t in enumerate(texts)]
                out.append((f"hesp_{v}_p{pitch}_n{n}", place(parts, rng, room=bool(rng.integers(2)))[0]))
    return out


def _verdict(item):
    """(name, before, after): "ok", "two" (the diarizer), "odd" (the piece test) or "short" (< 3 s speech)."""
    name, x = item
    from prosody.engine.diarize import diarize
    from prosody.engine.speakers import ENROL_PIECE_APART, build_profile, odd_piece
    from prosody.errors import InputError
    try:
        build_profile(x)
        short = False
    except InputError:
        short = True
    two = diarize(x).n_voices == 2
    before = "two" if two else "short" if short else "ok"
    if two:
        return name, before, before
    odd = odd_piece(x)
    after = "odd" if odd is not None and odd[0] >= ENROL_PIECE_APART else before
    return name, before, after


def main() -> None:
    one, pair = ptdb()
    sets = {"dialogues ~8 s (VOICE_POOL)": (2, short_dialogues()),
            "dialogues ~8 s (other voices)": (2, held_dialogues()),
            "dialogues 16-30 s": (2, longer_dialogues()),
            "PTDB-TUG F01 + M01": (2, pair),
            "espeak one voice (VOICE_POOL)": (1, espeak_one_voice()),
            "espeak one voice (other voices)": (1, held_one_voice()),
            "espeak one voice, 8-12 sentences": (1, espeak_long()),
            "AMI one speaker": (1, ami_one_voice()),
            "AMI one speaker, runs of stretches": (1, ami_subsets()),
            "PTDB-TUG one voice": (1, one)}
    with Pool(os.cpu_count()) as pool:
        for label, (voices, items) in sets.items():
            res = pool.map(_verdict, items)
            if voices == 2:
                print(f"{label:36s} refused before {sum(b != 'ok' for _, b, _ in res):3d}  after "
                      f"{sum(a != 'ok' for _, _, a in res):3d}  of {len(res)}")
            else:
                print(f"{label:36s} enrol   before {sum(b == 'ok' for _, b, _ in res):3d}  after "
                      f"{sum(a == 'ok' for _, _, a in res):3d}  of {len(res)}")
            for name, b, a in res:
                if a != b:
                    print(f"    {name}: {b} -> {a}")


if __name__ == "__main__":
    main()
