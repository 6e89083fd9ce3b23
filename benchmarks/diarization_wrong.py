"""Where a split's wrong-person speech sits (issue 9: "at most 3 % of single-speaker speech given to the
wrong person", 0.25 s collars), by class (fifty-eighth round, docs/speakers.md).

Runs every two-voice recording of a ``benchmarks/diarization.py`` split as that benchmark does
(``run_case``: attribution, speaker channels, the analysis, the names swapped where the no-profile
rule named them the wrong way round), takes the frames it scores as wrong-person speech and says
where they lie:

* read as one: the recording was found to hold one voice (every frame of the voice not named is wrong);
  "read as one (unsure)" where a split was found and withheld as unsure (``Diarization.unsure``);
* voices mixed: two voices found, but over ``MIXED_SHARE`` of the recording's single-speaker speech
  is wrong (the clustering split the speech along something else than who speaks);
* otherwise each run of wrong frames (contiguous, inside one planted utterance of its true speaker)
  by where it lies in that utterance (``run_class``): the whole utterance; its start, after the
  other voice (that voice's speech ended under ``NEAR_S`` before it) or after a pause; its end,
  before the other voice or before a pause; next to an overlap with the other voice; inside it.
  ``[both]`` where the diarizer gave the frames to both voices, ``[other]`` to the other voice
  alone; ``quiet`` where the run's mean level lies ``QUIET_DB`` or more under the utterance's
  median speech level.

With ``--snr DB`` (and ``--noise``) every recording gets the noise ``benchmarks/diarization_noise.py`` adds at
that SNR (the same draws, in the same order), and each run is also placed by stage (``run_where``): outside
the diarizer's own speech mask (the speech detector missed it and the pause split gave it away) or inside it
(the voices' models and the clustering), and "under the noise" where the clean recording's level in the run
lies under the noise's (the frames hold noise more than speech). Recordings read as one are told apart as
the split withheld as unsure or one voice found. ``--told`` runs the recordings read as one or mixed again as
``--voices 2`` does (is the split there and withheld, or not there at all?); ``--planted`` gives each
recording's separation of its planted voices (GE2E, clean and as run: does the noise pull the voices
together in the encoder's ear?). ``--figures`` gives, beside each recording, the diarizer's own 1-vs-2
figures (separation of each voice's own windows, its standard error, the frame models' held-out gain) of the
planted split and of the split it found (``split_figures``: where the found split scores better than the planted
one, no restart judged by them can mend it; seventy-eighth round). ``--level`` gives, per recording, how each
planted voice's first-pass window embeddings follow the window's level (``within_voice_level``) and how far the
encoder itself moves them along that direction per dB of gain (``level_figures``; seventy-ninth round).

    python benchmarks/diarization_wrong.py --split NAME [--cache DIR] [--only TEXT] [--runs] [--figures] [--level]
    python benchmarks/diarization_wrong.py --split amireal --snr 20 [--noise pink] [--noise-seed N] [--told] [--planted]
    python benchmarks/diarization_wrong.py --split held --condition service [--runs] [--told]

With ``--condition call|service|phone`` the split's dialogues are those ``benchmarks/diarization_calls.py``
codes (the same draws; its figures for that condition), each run placed inside or outside the speech mask.

Figures sum to the benchmark's own wrong-person line for the split (the same cases, the same scoring;
with ``--snr``, ``diarization_noise.py``'s line at that SNR).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from _common import frame_mask

MIXED_SHARE = 0.25  # a recording with two voices found and more than this wrong: the voices mixed
EDGE_S = 0.35  # a run starting (ending) within this of its utterance's start (end): the utterance's edge
NEAR_S = 1.0  # the other voice's speech ending (starting) within this of the utterance: "after (before) the other"
OVERLAP_NEAR_S = 0.5  # a run within this of an overlap inside its utterance: at the overlap's edge
QUIET_DB = 10.0  # a run this far under its utterance's median speech level: quiet
UNDER_NOISE_DB = 0.0  # a run whose clean level lies under the noise's level plus this: under the noise
WHOLE_SHARE = 0.8  # a run holding this share of its utterance's scored frames: the whole utterance


@dataclass(frozen=True)
class WrongRun:
    """One run of wrong-person frames: its true speaker (0 / 1), its frames [start, end) on the 10 ms
    grid, whether the diarizer gave it to both voices, and its class (``run_class``)."""

    speaker: int
    start: int
    end: int
    both: bool
    kind: str
    where: str = ""


def run_class(a: int, b: int, seg: tuple[float, float], own: list, other: list, scored: int, level_db: np.ndarray,
              *, hop_s: float = 0.01) -> str:
    """Where the wrong run of frames [a, b) lies in its planted utterance ``seg`` (start_s, end_s) of its
    true speaker: "whole utterance", "start (after other)", "start (after pause)", "end (before
    other)", "end (before pause)", "overlap edge" or "inside", with ", quiet" added where its mean
    frame level (``level_db``, dB per frame) lies ``QUIET_DB`` or more under the utterance's median speech
    level. ``own`` / ``other``: the true speaker's and the other voice's planted (start_s, end_s);
    ``scored``: the utterance's frames the benchmark scores::

        other   ######......                 ...######
        own          .....##################......
        run               ^^^                          start (after other)
        run                       ^^^^                 inside
        run                              ^^^^          end (before other)
    """
    t0, t1 = a * hop_s, b * hop_s
    if b - a >= WHOLE_SHARE * scored or (t0 - seg[0] <= EDGE_S and seg[1] - t1 <= EDGE_S):
        kind = "whole utterance"
    elif t0 - seg[0] <= EDGE_S:
        prev_other = max([e for s, e in other if e <= seg[0] + 0.05], default=-np.inf)
        prev_own = max([e for s, e in own if e <= seg[0] - hop_s], default=-np.inf)
        kind = ("start (after other)" if prev_other > prev_own and seg[0] - prev_other < NEAR_S
                else "start (after pause)")
    elif seg[1] - t1 <= EDGE_S:
        next_other = min([s for s, e in other if s >= seg[1] - 0.05], default=np.inf)
        kind = "end (before other)" if next_other - seg[1] < NEAR_S else "end (before pause)"
    else:
        ov = [(max(s, seg[0]), min(e, seg[1])) for s, e in other if s < seg[1] and e > seg[0]]
        near = any(t0 - OVERLAP_NEAR_S <= q and p <= t1 + OVERLAP_NEAR_S for p, q in ov)
        kind = "overlap edge" if near else "inside"
    sa, sb = int(seg[0] / hop_s), int(np.ceil(seg[1] / hop_s))
    lv = level_db[sa:sb]
    lv = lv[lv > lv.max() - 40] if len(lv) else lv  # the utterance's speech, not its silences
    if len(lv) and float(np.mean(level_db[a:b])) <= float(np.median(lv)) - QUIET_DB:
        kind += ", quiet"
    return kind


def wrong_runs(segments: tuple[list, list], heard: tuple[np.ndarray, np.ndarray], single: np.ndarray,
               level_db: np.ndarray, *, hop_s: float = 0.01) -> list[WrongRun]:
    """The runs of wrong-person frames of one recording, classed. ``segments``: each speaker's planted
    (start_s, end_s); ``heard``: (n_frames,) bool, each speaker's frames as the analysis heard them;
    ``single``: (n_frames,) bool, the frames the benchmark scores (one speaker planted, outside the
    collars); ``level_db``: (n_frames,) the mix's level per frame."""
    n = len(single)
    planted = [frame_mask(s, n, hop_s) for s in segments]
    out = []
    for k in (0, 1):
        wrong = single & planted[k] & heard[1 - k]
        x = np.concatenate([[0], wrong.astype(np.int8), [0]])
        starts, ends = np.flatnonzero(np.diff(x) > 0), np.flatnonzero(np.diff(x) < 0)
        for a, b in zip(starts, ends):
            mid = (a + b) / 2 * hop_s
            seg = min(segments[k], key=lambda s: 0.0 if s[0] <= mid <= s[1] else min(abs(s[0] - mid), abs(s[1] - mid)))
            sa, sb = int(seg[0] / hop_s), int(np.ceil(seg[1] / hop_s))
            kind = run_class(int(a), int(b), (float(seg[0]), float(seg[1])), segments[k], segments[1 - k],
                             int(single[sa:sb].sum()), level_db, hop_s=hop_s)
            both = bool(np.mean(heard[k][a:b] & heard[1 - k][a:b]) >= 0.5)
            out.append(WrongRun(k, int(a), int(b), both, kind))
    return sorted(out, key=lambda r: r.start)


def run_where(w: WrongRun, diarized_speech: np.ndarray, clean_db: np.ndarray, noise_db: np.ndarray) -> str:
    """Where a wrong run stands by stage: "outside the mask" where most of its frames lie outside the
    diarizer's own speech (``diarized_speech``, (n,) bool: the speech detector did not take them, and the
    pause split gave them away), else "inside the mask"; ", under the noise" added where the clean
    recording's mean power over the run (``clean_db``, dB per frame) lies under the noise's (``noise_db``)
    plus ``UNDER_NOISE_DB``."""
    inside = float(np.mean(diarized_speech[w.start:w.end])) >= 0.5
    tag = "inside the mask" if inside else "outside the mask"
    if _power_mean_db(clean_db[w.start:w.end]) < _power_mean_db(noise_db[w.start:w.end]) + UNDER_NOISE_DB:
        tag += ", under the noise"
    return tag


def _power_mean_db(level_db: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(10 ** (np.asarray(level_db, np.float64) / 10))))


def level_per_frame(x: np.ndarray, n: int, hop: int = 160) -> np.ndarray:
    """(n,) the mean power in dB of each 10 ms frame of ``x`` (channels averaged first); -120 past its end."""
    xm = np.asarray(x, np.float64)
    xm = xm.mean(axis=1) if xm.ndim == 2 else xm
    m = min(n, len(xm) // hop)
    out = np.full(n, -120.0)
    out[:m] = 10 * np.log10(np.mean(xm[:m * hop].reshape(m, hop) ** 2, axis=1) + 1e-12)
    return out


def classify_case(x: np.ndarray, truth: dict, *, clean: np.ndarray | None = None
                  ) -> tuple[dict, list[WrongRun] | str, object]:
    """The benchmark's figures for one recording, its wrong runs or "read as one" / "read as one (unsure)"
    / "voices mixed", and its attribution. ``clean``: the recording before noise was added (the runs are
    then placed by stage, ``run_where``)."""
    import diarization as B
    r, att = B.run_case(x, truth)  # names already swapped where the no-profile rule failed
    s = B.analyze_blocks([att.channels(x)], att.speakers, cross_talk=att.diarization is None)
    n = s.n_frames
    segs, single = scored_frames(truth, n)
    heard = B.heard_by_role(s, n, unattributed_as=r["unattributed_as"])
    if r["voices"] == 1:
        return r, "read as one (unsure)" if r["unsure"] else "read as one", att
    if r["wrong"] > MIXED_SHARE * r["single_frames"]:
        return r, "voices mixed", att
    runs = wrong_runs(segs, heard, single, level_per_frame(x, n))
    if clean is not None and att.diarization is not None:
        sp = np.zeros(n, bool)
        d_speech = att.diarization.speech[:n]
        sp[:len(d_speech)] = d_speech
        clean_db = level_per_frame(clean, n)
        noise_db = level_per_frame(np.asarray(x, np.float64) - np.asarray(clean, np.float64), n)
        runs = [replace(w, where=run_where(w, sp, clean_db, noise_db)) for w in runs]
    return r, runs, att


def scored_frames(truth: dict, n: int) -> tuple[tuple[list, list], np.ndarray]:
    """(the therapist's and the client's planted (start_s, end_s), the (n,) bool frames the benchmark scores:
    one speaker planted, outside the 0.25 s collars)."""
    import diarization as B
    segs = (truth["segments"][B.THERAPIST], truth["segments"][B.CLIENT])
    return segs, (frame_mask(segs[0], n) ^ frame_mask(segs[1], n)) & B.collar_keep(n, list(segs))


def planted_separation(x: np.ndarray, truth: dict, enc) -> float:
    """Cosine distance between the two planted voices' GE2E embeddings (``VoiceEncoder.embed`` of each
    voice's single-speaker speech outside the collars, joined end to end): how far apart the encoder
    hears the two people in this recording."""
    from prosody.engine.diarize import channel_mean
    m = np.asarray(channel_mean(x) if np.ndim(x) == 2 else x, np.float32)
    n = len(m) // 160
    segs, single = scored_frames(truth, n)
    e = [enc.embed(m[:n * 160].reshape(n, 160)[single & frame_mask(sg, n)].ravel()) for sg in segs]
    return float(1.0 - np.dot(e[0], e[1]))


def planted_path(segments: tuple[list, list], idx: np.ndarray, n: int) -> np.ndarray:
    """(m,) int8 per diarizer speech frame (``idx``: their frame numbers on the 10 ms grid, of ``n``): 0 where
    only the therapist is planted (``segments[0]``, (start_s, end_s)), 1 only the client (``segments[1]``), 2
    where both or neither are (an overlap, a pause the speech mask took): the planted split as a diarizer path,
    each voice's own frames those it alone holds."""
    a, b = (frame_mask(s, n)[idx] for s in segments)
    return np.where(a & ~b, 0, np.where(b & ~a, 1, 2)).astype(np.int8)


def first_pass_front_end(x: np.ndarray, enc) -> tuple[np.ndarray, dict, np.ndarray]:
    """The diarizer's first pass on ``x`` with its front end kept: (the audio as (n_samples, channels), the
    memo (speech mask, the speech frames' mel power ``"melc"``, the first pass's ``"windows"`` (starts, length,
    embeddings), features), the speech frames' numbers on the 10 ms grid)."""
    import prosody.engine.diarize as D
    from prosody.timebase import GRID
    cfg = D.DiarizeConfig()
    x2 = D.audio_2d(x)
    speech = D._speech_in_noise(x2[:, 0] if x2.shape[1] == 1 else D.ChannelMean(x2), cfg, GRID)[2]
    memo = {"speech": speech}
    D._diarize(x2, cfg, None, enc, GRID, memo=memo)  # fills memo: mel power, windows, features
    return x2, memo, np.flatnonzero(speech)


@dataclass(frozen=True)
class VoiceLevel:
    """How the embeddings of one recording's windows follow their level inside each planted voice
    (``within_voice_level``): per voice, |correlation| of the windows' projection on their first principal
    direction with their level; the share of the voices' spread (summed squared distance to their own mean) a
    line in the window's level explains; that line's direction (unit, (d,)) and slope (embedding units per dB)."""

    pc1_level_corr: tuple[float, ...]
    level_share: float
    direction: np.ndarray
    per_db: float


VOICE_LEVEL_MIN_WINDOWS = 6  # a voice with fewer of its own windows gives no correlation worth reading


def within_voice_level(emb: np.ndarray, level_db: np.ndarray, voice: np.ndarray) -> VoiceLevel | None:
    """``emb`` (n, d) window embeddings, ``level_db`` (n,) each window's level, ``voice`` (n,) 0 / 1 the planted
    voice a window holds (-1: neither alone): within each voice (its windows less their mean), the first
    principal direction's |correlation| with level, and the least-squares line of the embeddings in level
    pooled over the voices (seventy-ninth round, docs/speakers.md). None where no voice has
    ``VOICE_LEVEL_MIN_WINDOWS`` windows or the level does not vary."""
    spread, levels, corr = [], [], []
    for k in (0, 1):
        sel = np.asarray(voice) == k
        if sel.sum() < VOICE_LEVEL_MIN_WINDOWS:
            continue
        ek = emb[sel] - emb[sel].mean(axis=0)
        lk = level_db[sel] - level_db[sel].mean()
        pc1 = np.linalg.svd(ek, full_matrices=False)[2][0]
        corr.append(abs(float(np.corrcoef(ek @ pc1, lk)[0, 1])))
        spread.append(ek)
        levels.append(lk)
    if not spread:
        return None
    r, lv = np.concatenate(spread), np.concatenate(levels)
    if lv @ lv <= 0:
        return None
    slope = r.T @ lv / (lv @ lv)  # embedding change per dB
    per_db = float(np.linalg.norm(slope))
    return VoiceLevel(tuple(corr), float((lv @ lv) * per_db ** 2 / np.sum(r ** 2)), slope / max(per_db, 1e-12),
                      per_db)


GAIN_STEP_DB = 1.0  # the encoder's response to gain: the same windows' mel power at +- this


def level_figures(x: np.ndarray, truth: dict, enc) -> str:
    """``within_voice_level`` of the first pass's windows (each voice's: windows holding at least 90 % of
    their planted single-speaker frames of it; level: the mean power of the window's speech frames as the
    encoder hears them), and how far the encoder itself moves those windows along that level direction per
    dB of gain (the same windows' mel power at +-``GAIN_STEP_DB``): does the voice's spread follow level
    because the encoder hears gain, or because what is said quietly differs? (seventy-ninth round)"""
    import diarization as B
    from prosody.timebase import GRID
    x2, memo, idx = first_pass_front_end(x, enc)
    starts, w, emb = memo["windows"]
    melc = memo["melc"]
    segs = (truth["segments"][B.THERAPIST], truth["segments"][B.CLIENT])
    path = planted_path(segs, idx, len(x2) // GRID.hop_length)
    rows = starts[:, None] + np.arange(w)
    share = np.stack([np.mean(path[rows] == k, axis=1) for k in (0, 1)], axis=1)
    voice = np.where(share.max(axis=1) >= 0.9, np.argmax(share, axis=1), -1)
    level_db = 10 * np.log10(melc[rows].sum(axis=2).mean(axis=1) + 1e-12)
    lv = within_voice_level(emb, level_db, voice)
    if lv is None:
        return "  level: too few windows of one voice"
    own = np.flatnonzero(voice >= 0)
    mel = melc[rows[own].ravel()]
    up, down = (enc.embed_windows(mel * 10 ** (s * GAIN_STEP_DB / 10), starts=np.arange(len(own)) * w, n_frames=w)
                for s in (1, -1))
    move = (up - down) / (2 * GAIN_STEP_DB)  # per window, embedding change per dB of gain
    along = float(np.mean(move @ lv.direction))
    return (f"  level: PC1 |r| {'/'.join(f'{c:.2f}' for c in lv.pc1_level_corr)} share {lv.level_share:.2f} "
            f"{lv.per_db:.3f}/dB; gain {float(np.mean(np.linalg.norm(move, axis=1))):.3f}/dB, along it "
            f"{along:+.3f}/dB ({100 * along / lv.per_db:+.0f} %)")


def split_figures(x: np.ndarray, truth: dict, found_owner: np.ndarray | None, enc) -> str:
    """The diarizer's own 1-vs-2 figures (``prosody.engine.diarize``: each voice's own windows' separation, its
    standard error, the frame models' held-out gain in nats/frame) of the planted split (``planted_path``)
    and of ``found_owner`` ((n,) 0/1/2 per frame, the split the attribution kept; None: one voice), on the
    first pass's front end (speech mask, mel power, windows, features) of ``x``: does the diarizer's own
    yardstick prefer the planted split to the one it found? (seventy-eighth round, docs/speakers.md)"""
    import diarization as B
    import prosody.engine.diarize as D
    from prosody.timebase import GRID
    cfg = D.DiarizeConfig()
    x2, memo, idx = first_pass_front_end(x, enc)
    starts, w, emb = memo["windows"]
    feats = D._speech_features(memo, x2, idx, cfg.n_mfcc, GRID, stereo=x2.shape[1] >= 2)[1]
    segs = (truth["segments"][B.THERAPIST], truth["segments"][B.CLIENT])
    out = []
    for label, path in (("planted", planted_path(segs, idx, len(x2) // GRID.hop_length)),
                        ("found", None if found_owner is None else np.asarray(found_owner, np.int8)[idx])):
        own = {} if path is None else D._voices_own_windows(enc, memo["melc"], path, cfg, GRID, emb, starts, w)
        if not own:
            out.append(f"{label} one voice")
            continue
        cents = np.stack([own[k].mean(axis=0) / np.linalg.norm(own[k].mean(axis=0)) for k in (0, 1)])
        out.append(f"{label} sep {D._separation_of(cents.astype(np.float32)):.3f} "
                   f"se {D._separation_se(own, cents.astype(np.float32)):.3f} "
                   f"gain {D._two_model_gain(feats, path, cfg):+.2f}")
    return "  " + " | ".join(out)


def told_wrong(x: np.ndarray, truth: dict) -> float:
    """Wrong-person share (%) of one recording attributed as ``--voices 2`` does."""
    import diarization as B
    B.VOICES_TOLD = 2
    try:
        r, _ = B.run_case(x, truth)
    finally:
        B.VOICES_TOLD = None
    return 100 * r["wrong"] / max(1, r["single_frames"])


def noisy_cases(cases, snr_db: float | None, kind: str, noise_seed: int = 0):
    """(name, audio as run, clean audio or None, truth): ``diarization_noise.py``'s noise at ``snr_db``
    (its generator and draws for ``noise_seed``, one per recording in order), or the cases as they are."""
    from diarization_noise import noise_rng, with_noise
    rng = noise_rng(snr_db, noise_seed) if snr_db is not None else None
    for name, x, truth in cases:
        yield (name, x, None, truth) if rng is None else (name, with_noise(x, snr_db, rng, kind), x, truth)


def main() -> int:
    import diarization as B
    from diarization_noise import NOISES
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=tuple(B.SEEDS), default="held")
    ap.add_argument("--cache", help="as diarization.py's --cache (the split's cases read from / written to DIR/SPLIT)")
    ap.add_argument("--only", help="only the two-voice recordings whose name contains this")
    ap.add_argument("--runs", action="store_true", help="print every wrong run")
    ap.add_argument("--snr", type=float, help="add diarization_noise.py's noise at this SNR (dB) first")
    ap.add_argument("--noise", choices=tuple(NOISES), default="pink")
    ap.add_argument("--noise-seed", type=int, default=0, help="as diarization_noise.py's (0: its own draws)")
    ap.add_argument("--told", action="store_true", help="recordings read as one or mixed again as --voices 2")
    ap.add_argument("--planted", action="store_true", help="each recording's planted voices' separation (GE2E)")
    ap.add_argument("--figures", action="store_true",
                    help="the diarizer's separation / its error / frame models' gain of the planted split and "
                    "the found one")
    ap.add_argument("--level", action="store_true",
                    help="how each planted voice's window embeddings follow the window's level, and the encoder's "
                    "own move along it per dB of gain")
    ap.add_argument("--condition", choices=("call", "service", "phone"),
                    help="the split's dialogues as diarization_calls.py codes them, this condition (runs placed by stage)")
    args = ap.parse_args()
    if args.condition is not None and args.snr is not None:
        print("error: give --condition or --snr, not both", file=sys.stderr)
        return 2
    if args.noise_seed < 0:
        print(f"error: --noise-seed {args.noise_seed}: must be 0 or more", file=sys.stderr)
        return 2
    enc = None
    if args.planted or args.figures or args.level:
        from prosody.engine.embedding import VoiceEncoder
        enc = VoiceEncoder.load()
    frames, runs, stages, total, scored = Counter(), Counter(), Counter(), 0, 0
    cases = split_cases(args.split, args.cache, args.condition)
    for name, x, clean, truth in noisy_cases(cases, args.snr, args.noise, args.noise_seed):
        if args.only is not None and args.only not in name:
            continue
        r, got, att = classify_case(x, truth, clean=x if args.condition else clean)
        total += r["wrong"]
        scored += r["single_frames"]
        if isinstance(got, str):
            frames[got] += r["wrong"]
            runs[got] += 1
        else:
            for w in got:
                frames[f"{w.kind} [{'both' if w.both else 'other'}]"] += w.end - w.start
                runs[f"{w.kind} [{'both' if w.both else 'other'}]"] += 1
                stages[w.where or "-"] += w.end - w.start
        print(case_line(name, r, got, att)
              + extra_figures(x, clean, truth, got, enc if args.planted else None, args.told)
              + (split_figures(x, truth, found_owner(att), enc) if args.figures else "")
              + (level_figures(x, truth, enc) if args.level else ""), flush=True)
        if args.runs and not isinstance(got, str):
            for w in got:
                print(f"    {('therapist', 'client')[w.speaker]:9} {w.start / 100:7.2f}-{w.end / 100:7.2f} s "
                      f"{'both' if w.both else 'other':5} {w.kind}" + (f"; {w.where}" if w.where else ""))
    noise = "" if args.snr is None else f", {args.noise} noise at {args.snr:g} dB"
    noise += "" if args.condition is None else f", {args.condition} condition"
    print(f"\n== split {args.split}{noise}: wrong-person speech {total} of {scored} frames "
          f"({100 * total / max(1, scored):.2f} %), by class ==")
    print_counts(frames, runs, total, scored)
    if args.snr is not None or args.condition is not None:
        print("== the runs of recordings told apart, by stage ==")
        print_counts(stages, None, total, scored)
    return 0


def split_cases(split: str, cache: str | None, condition: str | None):
    """(name, audio, truth) of ``split``'s two-voice recordings: as ``diarization.py`` runs them (its cache), or
    with ``condition`` as ``diarization_calls.py`` codes them (``condition_cases``, from its ``--cache`` folder
    ``cache/<split>-calls`` where given; with ``clean`` set to the
    coded audio itself, ``run_where`` places each run inside / outside the speech mask and never "under the
    noise")."""
    import diarization as B
    if condition is not None:
        from diarization_calls import condition_cases
        return condition_cases(split, condition, cache)
    return B.cached(B.two_voice_cases(split, False), None if cache is None else f"{cache}/{split}")


def found_owner(att) -> np.ndarray | None:
    """The attribution's split as (n,) 0/1/2 per frame, or None where it holds one voice (or none ran)."""
    d = att.diarization
    return None if d is None or d.n_voices != 2 else d.owner


def case_line(name: str, r: dict, got, att) -> str:
    d = att.diarization
    facts = "" if d is None else (f"  sep {d.separation:.3f} gain {d.model_gain:+.2f} speech/noise "
                                  f"{d.speech_over_noise_db:5.1f} dB")
    return (f"{name:44} voices {r['voices']}{'?' if r['unsure'] else ' '} wrong {r['wrong']:5d} of "
            f"{r['single_frames']:5d} ({100 * r['wrong'] / max(1, r['single_frames']):5.2f} %){facts}"
            + (f"  {got}" if isinstance(got, str) else ""))


def extra_figures(x, clean, truth, got, enc, told: bool) -> str:
    out = ""
    if enc is not None:
        out += f"  planted sep {planted_separation(x, truth, enc):.3f}"
        if clean is not None:
            out += f" (clean {planted_separation(clean, truth, enc):.3f})"
    if told and isinstance(got, str):
        out += f"  told two: wrong {told_wrong(x, truth):5.2f} %"
    return out


def print_counts(frames: Counter, runs: Counter | None, total: int, scored: int) -> None:
    for k, v in frames.most_common():
        n = "" if runs is None else f"  ({runs[k]} {'runs' if '[' in k else 'recordings'})"
        print(f"  {k:42} {v:6d} frames  {100 * v / max(1, total):5.1f} % of it  "
              f"{100 * v / max(1, scored):5.2f} points{n}")


if __name__ == "__main__":
    sys.exit(main())
