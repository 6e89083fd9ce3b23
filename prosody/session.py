"""Collect pipeline updates into a session and summarise it per speaker.

The session JSON schema (``prosody.session/2``) is documented in
``docs/session-schema.md``; ``to_json_dict`` is its one producer.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import numpy as np

from .measures import session_measures
from .pipeline import Pipeline, Update
from .timebase import GRID, Grid
from .turns import TurnOutput, overlapping_starts
from .types import FrameBlock, Segment

SCHEMA = "prosody.session/2"
F0_RANGE_PERCENTILES = (5.0, 95.0)


@dataclass(frozen=True)
class SpeakerStats:
    speaker: str
    speech_s: float
    talk_share: float | None       # share of all speakers' speech time; None for one speaker
    n_segments: int
    n_turns: int | None
    f0_median_hz: float | None
    f0_sd_st: float | None         # SD of F0 in semitones over voiced speech frames
    f0_range_st: float | None      # 5th-95th percentile span, semitones
    rms_db_median: float | None    # median frame level over speech frames, dBFS
    n_syllables: int
    speech_rate_syl_s: float | None        # syllables / time holding the floor
    articulation_rate_syl_s: float | None  # syllables / speech time
    gap_median_s: float | None     # median floor transfer offset when this speaker takes the floor
    overlaps: int | None           # this speaker's segments starting while the other speaks
    interruptions: int | None
    failed_interruptions: int | None
    backchannels: int | None


@dataclass
class Session:
    speakers: tuple[str, ...]
    grid: Grid = GRID
    sources: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    turn_taking: bool = True
    config: dict = field(default_factory=dict)
    n_frames: int = 0
    frames: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    nuclei: list[tuple[str, float]] = field(default_factory=list)
    turns: TurnOutput = field(default_factory=TurnOutput)
    rolling: list[dict] = field(default_factory=list)
    measures: dict | None = None
    attribution: dict | None = None  # layout found and how speakers were attributed (prosody.speakers)

    @property
    def duration_s(self) -> float:
        return self.grid.frames_to_s(self.n_frames)

    def speaker_frames(self, speaker: str) -> dict[str, np.ndarray]:
        return self.frames[speaker]

    def segments_of(self, speaker: str) -> list[Segment]:
        return [s for s in self.segments if s.speaker == speaker]

    def stats(self) -> list[SpeakerStats]:
        total_speech = sum(s.duration_s for s in self.segments)
        return [self._stats(spk, total_speech) for spk in self.speakers]

    def _stats(self, spk: str, total_speech: float) -> SpeakerStats:
        fr = self.frames[spk]
        segs = self.segments_of(spk)
        speech_s = sum(s.duration_s for s in segs)
        speech = fr["is_speech"]
        f0 = fr["f0_hz"][speech]
        f0 = f0[np.isfinite(f0)]
        st = 12.0 * np.log2(f0 / np.median(f0)) if len(f0) >= 3 else None
        levels = fr["rms_db"][speech]
        n_syl = sum(1 for s, _ in self.nuclei if s == spk)
        tt = self.turn_taking
        if tt:
            turns = [t for t in self.turns.turns if t.speaker == spk]
            floor_s = sum(t.end_s - t.start_s for t in turns)
            offsets = [t.offset_s for t in self.turns.transitions if t.to_speaker == spk]
            overlaps = overlapping_starts(self.segments, spk)
            ev = {k: sum(1 for e in self.turns.events if e.speaker == spk and e.kind == k)
                  for k in ("interruption", "failed_interruption", "backchannel")}
        else:
            turns, offsets, overlaps, ev = None, [], None, {}
            floor_s = (segs[-1].end_s - segs[0].start_s) if segs else 0.0
        return SpeakerStats(
            speaker=spk,
            speech_s=round(speech_s, 3),
            talk_share=(speech_s / total_speech if total_speech > 0 else 0.0) if len(self.speakers) == 2 else None,
            n_segments=len(segs),
            n_turns=len(turns) if turns is not None else None,
            f0_median_hz=float(np.median(f0)) if len(f0) else None,
            f0_sd_st=float(np.std(st)) if st is not None else None,
            f0_range_st=float(np.subtract(*np.percentile(st, F0_RANGE_PERCENTILES[::-1]))) if st is not None else None,
            rms_db_median=float(np.median(levels)) if len(levels) else None,
            n_syllables=n_syl,
            speech_rate_syl_s=n_syl / floor_s if floor_s > 0 else None,
            articulation_rate_syl_s=n_syl / speech_s if speech_s > 0 else None,
            gap_median_s=float(np.median(offsets)) if offsets else None,
            overlaps=overlaps,
            interruptions=ev.get("interruption"),
            failed_interruptions=ev.get("failed_interruption"),
            backchannels=ev.get("backchannel"),
        )

    # -- outputs -------------------------------------------------------------
    def to_json_dict(self) -> dict:
        r = lambda x: None if x is None else round(float(x), 4)  # noqa: E731
        speakers = {}
        for s in self.stats():
            d = {k: (r(v) if isinstance(v, float) else v) for k, v in s.__dict__.items() if k != "speaker"}
            speakers[s.speaker] = d
        notes = []
        if not self.turn_taking:
            notes.append("one channel: turn-taking between two people needs one channel per speaker, "
                         "so turns, transitions and events are not reported (null)")
        seg = lambda x: {"speaker": x.speaker, "start_s": r(x.start_s), "end_s": r(x.end_s)}  # noqa: E731
        return {
            "schema": SCHEMA,
            "duration_s": r(self.duration_s),
            "frame_hop_s": self.grid.hop_s,
            "sources": self.sources,
            **({"attribution": self.attribution} if self.attribution is not None else {}),
            "speaker_order": list(self.speakers),
            "turn_taking": self.turn_taking,
            "notes": notes,
            "warnings": self.warnings,
            "config": self.config,
            "speakers": speakers,
            "segments": [seg(s) for s in self.segments],
            "turns": [seg(t) for t in self.turns.turns] if self.turn_taking else None,
            "pauses": [seg(p) for p in self.turns.pauses] if self.turn_taking else None,
            "transitions": [
                {"from_speaker": t.from_speaker, "to_speaker": t.to_speaker, "from_end_s": r(t.from_end_s),
                 "to_start_s": r(t.to_start_s), "offset_s": r(t.offset_s), "kind": t.kind}
                for t in self.turns.transitions] if self.turn_taking else None,
            "events": [{"kind": e.kind, "speaker": e.speaker, "start_s": r(e.start_s), "end_s": r(e.end_s)}
                       for e in self.turns.events] if self.turn_taking else None,
            "measures": self.measures,
        }

    def to_rttm(self, uri: str) -> str:
        uri = uri.replace(" ", "_") or "session"
        return "".join(f"SPEAKER {uri} 1 {s.start_s:.3f} {s.duration_s:.3f} <NA> <NA> {s.speaker} <NA> <NA>\n"
                       for s in sorted(self.segments, key=lambda s: (s.start_s, s.speaker)))

    def to_frames_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["time_s", "speaker", "is_speech", "f0_hz", "voiced_prob", "rms_db", "rms_rel_db", "hf500_db"])
        centres = self.grid.frame_centre_s(np.arange(self.n_frames))
        for spk in self.speakers:
            fr = self.frames[spk]
            speech_levels = fr["rms_db"][fr["is_speech"]]
            ref = float(np.median(speech_levels)) if len(speech_levels) else float("nan")
            for t, sp, f0, vp, lv, hf in zip(centres.tolist(), fr["is_speech"].tolist(), fr["f0_hz"].tolist(),
                                             fr["voiced_prob"].tolist(), fr["rms_db"].tolist(),
                                             fr["hf500_db"].tolist()):
                w.writerow([f"{t:.3f}", spk, int(sp), "" if f0 != f0 else f"{f0:.2f}", f"{vp:.3f}",
                            f"{lv:.2f}", "" if ref != ref else f"{lv - ref:.2f}", f"{hf:.2f}"])
        return buf.getvalue()


class SessionBuilder:
    """Consumes pipeline updates; ``build()`` returns the Session."""

    def __init__(self, pipeline: Pipeline, *, sources: list[str] = ()):
        self.pipeline = pipeline
        self._chunks: dict[str, list[FrameBlock]] = {s: [] for s in pipeline.speakers}
        self.session = Session(speakers=pipeline.speakers, grid=pipeline.grid, sources=list(sources),
                               turn_taking=pipeline.turn_taking, config=pipeline.config.to_dict())

    def add(self, up: Update) -> None:
        for fb in up.frames:
            if len(fb):
                self._chunks[fb.speaker].append(fb)
        self.session.segments += up.segments
        self.session.nuclei += up.nuclei
        self.session.turns.extend(up.turns)
        self.session.rolling += up.rolling

    def build(self) -> Session:
        s = self.session
        for spk, blocks in self._chunks.items():
            s.frames[spk] = {k: (np.concatenate([getattr(b, k) for b in blocks]) if blocks else np.zeros(0))
                             for k in ("is_speech", "f0_hz", "voiced_prob", "rms_db", "hf500_db")}
            s.frames[spk]["is_speech"] = s.frames[spk]["is_speech"].astype(bool)
        s.n_frames = self.pipeline.n_frames
        s.segments.sort(key=lambda x: (x.start_s, x.speaker))
        s.nuclei.sort(key=lambda x: (x[1], x[0]))
        s.measures = session_measures(s, self.pipeline.measures_config, profile=self.pipeline._rolling.profile,
                                      rolling=s.rolling)
        return s


def analyze_blocks(blocks, speakers: tuple[str, ...], config=None, *, sources: list[str] = (), on_block=None,
                   measures=None, profile=None, cross_talk: bool = True) -> Session:
    """Run the pipeline over an iterable of (n, n_speakers) 16 kHz blocks
    (``cross_talk=False``: diarized speaker channels, see ``Pipeline``)."""
    pipe = Pipeline(speakers, config, measures=measures, profile=profile, cross_talk=cross_talk)
    builder = SessionBuilder(pipe, sources=list(sources))
    for block in blocks:
        builder.add(pipe.push(block))
        if on_block is not None:
            on_block(pipe.n_samples)
    builder.add(pipe.flush())
    return builder.build()


def dumps(d: dict) -> str:
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"
