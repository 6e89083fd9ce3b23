"""Speaker attribution of shared and mono recordings under room noise (issue 9).

The two-voice recordings of a ``benchmarks/diarization.py`` split (espeak-ng and AMI
dialogues, mono and shared, the same material and truth) with pink noise (1/f power,
independent per channel, as a fan or a room's hum reaches two microphones) added at a
signal-to-noise ratio over the recording's active speech (frames within 30 dB of its
loudest): the split's own noise is -65..-45 dBFS against speech near -22 dBFS, cleaner
than a phone on a table in a room with an air conditioner. Prints, per SNR, the
figures of ``diarization.py`` that noise moves: wrong-person and missed single-speaker
speech, two voices found, backchannel precision / recall; and how the recordings are said
noisy (``Diarization.speech_over_noise_db`` under ``speakers.NOISY_SPEECH_BELOW_DB``): how
many, and the wrong-person speech of those said noisy and of the rest, per SNR and pooled; how
many were said unsure (``Diarization.unsure``: a split in two withheld, the speech given as one
voice and scored so in the wrong-person figure) and the wrong-person speech of the rest.
``--noise``: pink (the default), white, or speech-shaped (flat to 500 Hz, 1/f above: the
long-term spectrum of many voices); ``--snr clean`` is the recording as it is.

``--phone``: each recording through a telephone channel (300-3400 Hz at 8 kHz) first, the noise after
(a phone call recorded in a room), with how many recordings are said telephone-band.

    python benchmarks/diarization_noise.py --split held [--snr 30,15,10] [--noise pink] [--phone] [--noise-seed N] [--cache DIR] [--detail]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from diarization import SEEDS, cached, run_case, two_voice_cases, unsure_line
from diarization_calls import narrowband_channels


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n,) float64 noise of power spectral density 1/f (white noise shaped in frequency)."""
    f = np.fft.rfft(rng.standard_normal(n))
    k = np.arange(len(f), dtype=np.float64)
    k[0] = 1.0
    return np.fft.irfft(f / np.sqrt(k), n)


def white(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n)


def speech_shaped(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n,) float64 noise flat to 500 Hz and of power 1/f above (at 16 kHz)."""
    f = np.fft.rfft(rng.standard_normal(n))
    return np.fft.irfft(f / np.sqrt(np.maximum(np.fft.rfftfreq(n, 1 / 16000), 500.0) / 500.0), n)


NOISES = {"pink": pink, "white": white, "speech": speech_shaped}


def noise_rng(snr_db: float, noise_seed: int = 0) -> np.random.Generator:
    """The generator of the noise added at ``snr_db`` (one draw per recording, in order): seed 0 the
    benchmark's own draws (as every round before the sixty-ninth read), seeds 1.. other draws of the
    same noise at the same SNR (how far a figure moves with the draw alone)."""
    base = int(round(snr_db * 10)) + 7 if np.isfinite(snr_db) else 0
    return np.random.default_rng(base if noise_seed == 0 else [noise_seed, base])


def with_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator, kind: str = "pink") -> np.ndarray:
    """``x`` ((n,) or (n, channels)) with ``kind`` noise (``NOISES``) ``snr_db`` below its active speech level."""
    x2 = (x if x.ndim == 2 else x[:, None]).astype(np.float64)
    m = x2.mean(axis=1)
    n = len(m) // 160
    lv = 10 * np.log10(np.mean(m[: n * 160].reshape(n, 160) ** 2, axis=1) + 1e-20)
    speech_db = 10 * np.log10(np.mean(10 ** (lv[lv > lv.max() - 30] / 10)))
    noise = np.stack([NOISES[kind](rng, len(x2)) for _ in range(x2.shape[1])], axis=1)
    noise *= 10 ** ((speech_db - snr_db - 10 * np.log10(np.mean(noise ** 2))) / 20)
    y = (x2 + noise).astype(np.float32)
    return y if x.ndim == 2 else y[:, 0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=tuple(SEEDS), default="held")
    ap.add_argument("--snr", default="30,15,10", help="comma list of SNRs in dB ('clean': as recorded)")
    ap.add_argument("--noise", choices=tuple(NOISES), default="pink")
    ap.add_argument("--noise-seed", type=int, default=0,
                    help="0: the benchmark's own noise draws; 1..: other draws of the same noise (noise_rng)")
    ap.add_argument("--cache", help="folder of diarization.py --cache (the synthesised cases)")
    ap.add_argument("--detail", action="store_true", help="one line per recording")
    ap.add_argument("--phone", action="store_true",
                    help="each recording through a telephone channel first (300-3400 Hz at 8 kHz, sox), then the noise")
    ap.add_argument("--voices-told", type=int, choices=(2,),
                    help="attribute every recording as `prosody analyze --voices 2` does (two people speak)")
    args = ap.parse_args()
    if args.noise_seed < 0:
        ap.error(f"--noise-seed {args.noise_seed}: must be 0 or more")
    import diarization
    diarization.VOICES_TOLD = args.voices_told  # run_case reads it

    cases = list(cached(two_voice_cases(args.split, False), None if args.cache is None else f"{args.cache}/{args.split}"))
    if args.phone:
        with tempfile.TemporaryDirectory() as t:
            cases = [(nm, narrowband_channels(x, Path(t)), tr) for nm, x, tr in cases]
    print(f"== split {args.split}: {len(cases)} two-voice recordings{', through a telephone channel' if args.phone else ''}, "
          f"{args.noise} noise per channel ==")
    pooled = []
    for snr in (float("inf") if s == "clean" else float(s) for s in args.snr.split(",")):
        rng = noise_rng(snr, args.noise_seed)
        rows = []
        for name, x, truth in cases:
            r, att = run_case(with_noise(x, snr, rng, args.noise) if np.isfinite(snr) else x, truth)
            r["said_noisy"] = any(w.startswith("noisy recording") for w in r["warnings"])
            rows.append(r)
            if args.detail:
                son = att.diarization.speech_over_noise_db if att.diarization is not None else float("nan")
                print(f"  {snr:4.0f} dB {name:52} v{r['voices']}{'?' if r['unsure'] else ' '} speech/noise {son:5.1f} dB wrong {100 * r['wrong'] / max(1, r['single_frames']):6.2f} "
                      f"% missed {100 * r['missed'] / max(1, r['single_frames']):6.2f} % changes "
                      f"{r['changes_true']}/{r['changes_found']} bc {r['bc_true']}/{r['bc_found']}/{r['bc_pred']}",
                      flush=True)
        single = max(1, sum(r["single_frames"] for r in rows))
        bt, bf = sum(r["bc_true"] for r in rows), sum(r["bc_found"] for r in rows)
        bp, bo = sum(r["bc_pred"] for r in rows), sum(r["bc_pred_ok"] for r in rows)
        print(f"SNR {snr:4.0f} dB: wrong-person {100 * sum(r['wrong'] for r in rows) / single:5.2f} %  missed "
              f"{100 * sum(r['missed'] for r in rows) / single:5.2f} %  two voices found "
              f"{sum(r['voices'] == 2 for r in rows)}/{len(rows)}  backchannel precision {bo / max(1, bp):.2f} "
              f"({bo}/{bp}) recall {bf / max(1, bt):.2f} ({bf}/{bt})", flush=True)
        print(f"          {said_noisy_line(rows)}", flush=True)
        print(f"          said unsure / wrong-person over the rest: {unsure_line(rows)} (the unsure ones' speech is "
              "scored in the line above as the one voice it is given as)", flush=True)
        narrow = sum(any(w.startswith("telephone-band recording") for w in r["warnings"]) for r in rows)
        print(f"          said telephone-band {narrow}/{len(rows)}", flush=True)
        pooled += rows
    print(f"pooled over the SNRs: {said_noisy_line(pooled)}; said unsure / wrong-person over the rest: "
          f"{unsure_line(pooled)}")
    return 0


def said_noisy_line(rows: list[dict]) -> str:
    """How many recordings were said noisy, and the wrong-person speech of those and of the rest."""
    def wrong(rs):
        return 100 * sum(r["wrong"] for r in rs) / max(1, sum(r["single_frames"] for r in rs))
    said = [r for r in rows if r["said_noisy"]]
    rest = [r for r in rows if not r["said_noisy"]]
    return (f"said noisy {len(said)}/{len(rows)}: wrong-person {wrong(said):5.2f} % there, "
            f"{wrong(rest):5.2f} % in the rest")


if __name__ == "__main__":
    raise SystemExit(main())
