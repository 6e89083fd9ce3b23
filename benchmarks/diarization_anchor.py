"""Issue 9's anchor beside prosody's diarizer, on the same recordings in one run.

The anchor the issue names: "a plain speaker-embedding diarizer (a pretrained
embedding of 1.5 s windows every 0.5 s on the channel mean, webrtcvad, k-means with
two clusters)". Here it uses prosody's own parts, so that only the method differs:
the channels' mean, the diarizer's voice-activity mask (webrtcvad), the same encoder
(``VoiceEncoder``, the speech frames' mel power at the same level) over 1.5 s windows
every 0.5 s of the speech joined end to end, two cosine k-means clusters
(``kmeans2``), each speech frame given the cluster of the window whose centre lies
nearest, each pause split between its neighbours. It always finds two voices.

Both are scored as ``benchmarks/diarization.py`` scores prosody (the pipeline run on
the attributed voices; the voices' names swapped where the voice heard first is the
client): single-speaker speech given to the wrong person (0.25 s collars), speaker
changes, talk share. CPU: each one's process time per audio second, and their ratio
(this machine is shared: the ratio is the figure to compare across runs). Also AMI
dev00 / dev01 speaker confusion and the one-voice recordings (the anchor splits
every one of them).

    python benchmarks/diarization_anchor.py --split amireal [--cache DIR] [--as-16-bit]
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import numpy as np
import soundfile as sf

from _common import corpus_dir
import diarization as B

from prosody.engine import diarize as D
from prosody.engine.embedding import mel_frames_at
from prosody.engine.views import frame_rows
from prosody.engine.speakers import attribute, name_voices
from prosody.session import analyze_blocks
from prosody.timebase import GRID

WINDOW_S, HOP_S = 1.5, 0.5


def anchor_diarize(x: np.ndarray, enc) -> D.Diarization:
    """The anchor's two voices of ``x`` ((n,) or (n, channels) float32 at 16 kHz)."""
    x = np.asarray(x, np.float32)
    mono = x if x.ndim == 1 else np.asarray(D.channel_mean(x))
    hop = GRID.hop_length
    n = len(mono) // hop
    speech = D.speech_mask(mono, D.DiarizeConfig().vad)
    idx = np.flatnonzero(speech)
    if len(idx) == 0:
        return D.Diarization(n_voices=0, activity=np.zeros((n, 2), bool), owner=np.zeros(n, np.int8),
                             centroids=np.zeros((0, 256), np.float32), separation=float("nan"), voice_share=(0.0, 0.0))
    # the encoder's level, as the diarizer sets it
    gain = 10 ** (-30 / 20) / max(D._speech_rms(frame_rows(mono, n, hop), speech), 1e-9)
    melc = mel_frames_at(mono, idx, gain=gain)
    w, step = GRID.s_to_frames(WINDOW_S), GRID.s_to_frames(HOP_S)
    starts = np.arange(0, max(1, len(idx) - w + 1), step)
    emb = enc.embed_windows(melc, starts=starts, n_frames=w)
    lab = D.kmeans2(emb) if len(emb) >= 2 else np.zeros(len(emb), np.int64)
    centres = starts + w / 2
    j = np.arange(len(idx))
    near = np.clip(np.searchsorted(centres, j), 0, len(centres) - 1)
    prev = np.clip(near - 1, 0, len(centres) - 1)
    pick = np.where(np.abs(centres[prev] - j) <= np.abs(centres[near] - j), prev, near)
    owner = D.owner_with_pauses(lab[pick].astype(np.int8), speech, idx)
    act = np.stack([speech & (owner == 0), speech & (owner == 1)], axis=1)
    cents = D._centroids(emb, lab, np.ones(len(lab), bool))
    sh = act.sum(axis=0) / max(1, speech.sum())
    return D.Diarization(n_voices=2, activity=act, owner=owner, centroids=cents,
                         separation=float(1 - cents[0] @ cents[1]), voice_share=(float(sh[0]), float(sh[1])),
                         method="anchor: 1.5 s windows every 0.5 s, k-means of two")


def score_anchor(audio: np.ndarray, truth: dict, att, d: D.Diarization) -> dict:
    """``benchmarks/diarization.py``'s figures of the anchor's voices (``att``: prosody's attribution of
    the same audio, shared or mono, its layout and mix kept; names swapped where the rule named them wrong)."""
    a = replace(att, diarization=d, naming=name_voices(d))
    s = analyze_blocks([a.channels(audio)], a.speakers, cross_talk=False)
    r = B.score_session(s, s.to_json_dict(), truth)
    if r["wrong"] >= 0.5 * r["single_frames"]:
        a = replace(a, naming=B.swap_names(a.naming))
        s = analyze_blocks([a.channels(audio)], a.speakers, cross_talk=False)
        r = B.score_session(s, s.to_json_dict(), truth)
    return r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=tuple(B.SEEDS), default="amireal")
    ap.add_argument("--cache", help="folder of benchmarks/diarization.py's cached cases (--cache there)")
    ap.add_argument("--as-16-bit", action="store_true", help="each recording rounded to 16-bit samples first")
    args = ap.parse_args()
    B.AS_16_BIT = args.as_16_bit
    from prosody.engine.embedding import VoiceEncoder
    enc = VoiceEncoder.load()

    def gen():
        yield from ((nm, x, tr) for nm, x, tr, _ in B.espeak_cases(args.split, False))
        yield from B.ami_cases(args.split, False)

    tot = {k: np.zeros(2) for k in ("single", "wrong", "cpu", "audio")}
    chg, share = [[], []], [[], []]
    print(f"== split {args.split}: prosody | anchor ==")
    print(f"{'case':52} {'wrong% p/a':>14} {'chg t p/a':>12} {'share p/a':>12} {'cpu ratio':>9}")
    for name, x, truth in B.cached(gen(), None if args.cache is None else f"{args.cache}/{args.split}"):
        x = B.as_given(x)
        r_p, att = B.run_case(x, truth)
        t0 = time.process_time()
        d = anchor_diarize(x, enc)
        cpu_a = time.process_time() - t0
        if att.layout == "separate":  # found as separate channels: not a diarization case
            continue
        r_a = score_anchor(x, truth, att, d)
        for i, (r, cpu) in enumerate(((r_p, r_p["cpu"]), (r_a, cpu_a))):
            tot["single"][i] += r["single_frames"]
            tot["wrong"][i] += r["wrong"]
            tot["cpu"][i] += cpu
            tot["audio"][i] += len(x) / GRID.sample_rate
            if r["changes_true"] >= B.CHANGES_MIN_N:
                chg[i].append(abs(r["changes_found"] - r["changes_true"]) / r["changes_true"])
            share[i].append(r["share_err"])
        wp, wa = (100 * r["wrong"] / max(1, r["single_frames"]) for r in (r_p, r_a))
        print(f"{name:52} {wp:6.2f} {wa:6.2f} {r_p['changes_true']:4d} {r_p['changes_found']:3d} "
              f"{r_a['changes_found']:3d} {r_p['share_err']:6.3f} {r_a['share_err']:6.3f} "
              f"{r_p['cpu'] / max(cpu_a, 1e-9):9.2f}", flush=True)
    singles = [0, 0]
    for name, x in B.single_voice_cases(args.split, False):
        att = attribute(B.as_given(x))
        singles[0] += int(att.diarization is not None and att.diarization.n_voices == 1)
        singles[1] += 1
    conf = {}
    corpus = corpus_dir()
    if corpus is not None:
        for uri in ("dev00", "dev01"):
            y, _ = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
            segs = B.rttm_segments(uri, corpus)
            conf[uri] = (B.speaker_confusion(D.diarize(y), segs)["confusion"],
                         B.speaker_confusion(anchor_diarize(y, enc), segs)["confusion"])
    print(f"\n== summary, split {args.split}{' (rounded to 16 bits)' if args.as_16_bit else ''}: prosody / anchor ==")
    wrong = 100 * tot["wrong"] / np.maximum(tot["single"], 1)
    print(f"  single-speaker speech given to the wrong person  {wrong[0]:6.2f} % / {wrong[1]:6.2f} %  (target <= 3 %)")
    for i, lab in enumerate(("prosody", "anchor")):
        if chg[i]:
            print(f"  speaker-change count error, {lab:8}  median {100 * np.median(chg[i]):5.1f} %  "
                  f"worst {100 * max(chg[i]):5.1f} %  within 15 %: {sum(c <= 0.15 for c in chg[i])}/{len(chg[i])}")
        print(f"  talk share error, {lab:8}  median {np.median(share[i]):.3f}  worst {max(share[i]):.3f}  "
              f"within 0.03: {sum(s <= 0.03 for s in share[i])}/{len(share[i])}")
    cpu = tot["cpu"] / np.maximum(tot["audio"], 1e-9)
    print(f"  CPU s per audio s  {cpu[0]:.4f} / {cpu[1]:.4f}  (prosody {cpu[0] / max(cpu[1], 1e-12):.2f} x the anchor)")
    print(f"  one-voice recordings reported as one voice  {singles[0]}/{singles[1]} / 0/{singles[1]} (the anchor "
          "always finds two)")
    for uri, (p, a) in conf.items():
        print(f"  AMI {uri} speaker confusion (0.25 s collars)  {100 * p:.2f} % / {100 * a:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
