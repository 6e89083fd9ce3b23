"""The layout of one stereo device found live (issue 9, items 1 and 5).

A table recorder or a speakerphone carries both voices on both channels; read
as two speakers' channels, the cross-talk rejection takes every frame of each
voice for the other channel's leak and the live view shows both people
"quiet" for the whole session. ``LayoutWatch`` looks at the audio as it comes
and, once it finds the device shared, the runner (``prosody.live.runner``)
reads the device from then on as ``--mono`` would: its first channel, one
shared device, analysed again from the session's start (the audio is held for
that), with the provisional online attribution where a voice profile is given
and the "nobody named live" line where not.

The evidence and thresholds are the whole-file detector's
(``prosody.engine.speakers.detect_layout``: the same function, over the last
``WINDOW_S`` of audio, the probe length of ``prosody analyze``), checked every
``CHECK_S`` of audio. A check counts as *shared* where that detector says
shared over at least ``MIN_SPEECH_S`` of speech **and** the channels read as
the channels' sound lines up in time: the peak of their phase-transform
cross-correlation (GCC-PHAT over the louder half of the window's 0.5 s chunks,
``phat_lag_ms``) lies within ``TABLE_MAX_LAG_MS`` (two microphones of one
device: each voice reaches both within a couple of ms; channels identical, one
mix stored twice, line up at 0). The second condition keeps
separate channels with heavy cross-talk where they are: a headset beside a
loud call channel whose leak is 3-10 dB under while one person speaks alone
looks "shared" to the level-difference rule (one mode within 12 dB), but the
leak comes the playback's delay later (tens of ms). One voice alone whose leak
is its dry copy, late, is "one mix stored twice, one copy late" to the detector
(its copy test): not switched live either (a device's own two channels are not
two buffers). ``AGREE`` shared checks in a row switch. Checkpoints sit at fixed audio positions, each
is evaluated once the pipeline's final decisions reach it (or at the end), and
the switch analyses again from sample 0, so the saved session does not depend
on how the audio came in blocks: it is the ``--mono`` session of that audio.

An explicit ``--channels`` is the user's word: it is not switched; the audio
found shared is said (a warning, live and in the saved session), naming
``--mono``.

After a switch, or once the device was found separate, the layout is confirmed
every ``CONFIRM_S`` over the last ``WINDOW_S`` (saved in ``live.layout``).
Audio for a switch is held up to ``HOLD_S``; a device found shared only later
is said, not switched."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..timebase import GRID, stopwatch_text

CHECK_S = 5.0          # a check every this much audio until the layout is found
WINDOW_S = 60.0        # each check looks at the last this much audio (speaker_channels.PROBE_S)
MIN_SPEECH_S = 10.0    # speech a check needs before it says anything
TABLE_MAX_LAG_MS = 2.0  # shared only where the channels' sound lines up within this (two mics of one device:
                        # 69 cm of path difference; a leak is the other channel's sound later by the playback's delay)
LAG_MAX_S = 0.2         # the lag looked for up to this either way
_LAG_CHUNK = 8192       # samples per cross-spectrum (0.51 s)
AGREE = 2              # shared checks in a row that switch
HOLD_S = 120.0         # the first channel is held this long for a switch (analysed again from the start: at most
                       # some 14 s of analysis with the online attribution, well inside a device queue's 60 s)
CONFIRM_S = 60.0       # after a switch, or once found separate: a check this often
# the provisional note of one device (prosody.live.reattribute) says how its speakers were taken; after a switch
# that is no longer so, and the saved session says what it is instead (hostile sweep 18)
AS_GIVEN = "speakers were taken from its channels as given"
SEPARATE_AFTER = "the layout checks after the switch found the channels separate"
FOUND_LIVE = "layout found live at "  # how the live layout check's words open (runner.LiveSession)
AS_SWITCHED = ("it was read as one shared device once its layout was found live (its first channel from the start, "
               "one speaker: who speaks is not attributed in the saved session)")


@dataclass
class Check:
    """One check: the audio position it covers up to (``end_s``), the detector's report and the verdict
    (``shared``, ``separate`` or ``unsure``), and the share of the speech the channels as given showed."""

    end_s: float
    verdict: str
    layout: str                      # detect_layout's
    speech_s: float
    shown_share: float | None
    reason: str
    evidence: dict

    def to_dict(self) -> dict:
        return {"end_s": round(self.end_s, 2), "verdict": self.verdict, "layout": self.layout,
                "speech_s": round(self.speech_s, 2),
                "shown_share": None if self.shown_share is None else round(self.shown_share, 3),
                "phat_lag_ms": self.evidence.get("phat_lag_ms"), "reason": self.reason}


def phat_lag_ms(audio: np.ndarray, *, sample_rate: int = GRID.sample_rate) -> float | None:
    """The lag (ms; positive: channel 2 later) at the peak of the two channels' GCC-PHAT
    cross-correlation, summed over the louder half of ``audio``'s 0.5 s chunks, looked for up to
    ``LAG_MAX_S`` either way; None where there is no chunk with sound."""
    n = len(audio) // _LAG_CHUNK
    if n == 0:
        return None
    x = np.asarray(audio[:n * _LAG_CHUNK, :2], np.float64).reshape(n, _LAG_CHUNK, 2)
    energy = np.mean(x * x, axis=(1, 2))
    loud = (energy >= np.median(energy)) & (energy > 0)
    if not loud.any():
        return None
    a = np.fft.rfft(x[loud, :, 0], 2 * _LAG_CHUNK, axis=1)
    b = np.fft.rfft(x[loud, :, 1], 2 * _LAG_CHUNK, axis=1)
    c = np.conj(a) * b
    r = np.fft.irfft(np.sum(c / np.maximum(np.abs(c), 1e-20), axis=0), 2 * _LAG_CHUNK)
    lags = np.arange(-int(LAG_MAX_S * sample_rate), int(LAG_MAX_S * sample_rate) + 1)
    return float(1000.0 * lags[int(np.argmax(np.abs(r[lags])))] / sample_rate)


def verdict_of(report, lag_ms: float | None, shown_s: float | None = None) -> tuple[str, float | None]:
    """(verdict, shown share) of one ``detect_layout`` report over a window whose channels line up at
    ``lag_ms`` (``phat_lag_ms``) and whose channels as given showed ``shown_s`` seconds of anyone's
    speech (said, not used)."""
    speech_s = float(report.evidence.get("speech_s", 0.0))
    if speech_s < MIN_SPEECH_S:
        return "unsure", None
    shown = None if shown_s is None else shown_s / speech_s
    if report.layout == "shared":
        near = lag_ms is not None and abs(lag_ms) <= TABLE_MAX_LAG_MS
        return ("shared" if near else "unsure"), shown
    if {"silent_channel", "quiet_channel"} & set(report.evidence):  # one voice so far: not told yet
        return "unsure", shown
    return "separate", shown


class LayoutWatch:
    """The stereo audio of one device as it comes (``add``), checked at fixed positions
    (``due`` / ``check``) by the runner. ``channels_given``: the user named the channels
    (``--channels``): said, never switched."""

    def __init__(self, *, channels_given: bool = False, sample_rate: int = GRID.sample_rate):
        self.channels_given = channels_given
        self.sr = sample_rate
        self.n = 0                                   # samples added
        self._stereo: list[tuple[int, np.ndarray]] = []   # (start sample, block) of the last WINDOW_S and more
        self._first: list[np.ndarray] = []           # channel 1 from the start, up to HOLD_S (for a switch)
        self._first_n = 0
        self.step = int(round(CHECK_S * sample_rate))
        self.next_end = self.step                    # the next checkpoint (samples)
        self.run = 0                                 # shared checks in a row
        self.checks: list[Check] = []
        self.found: str | None = None                # "shared" / "separate" once found
        self.found_at_s: float | None = None         # the checkpoint that decided
        self.switched = False
        self.said = ""                               # the one line said live (a switch, or a contradiction)
        self.reanalysis_s: float | None = None       # wall seconds the switch took (the held audio analysed again)

    # -- audio ---------------------------------------------------------------------------------
    def add(self, x: np.ndarray) -> None:
        """A block of (n, 2) samples, as analysed (zeros while paused)."""
        x = np.asarray(x, np.float32)
        self._stereo.append((self.n, x))
        if self._first is not None:
            if self._first_n + len(x) <= int(HOLD_S * self.sr):
                self._first.append(x[:, 0].copy())
                self._first_n += len(x)
            else:
                self._first = None                   # too long to analyse again: a later finding is said only
        self.n += len(x)
        keep_from = self.n - int((WINDOW_S + CONFIRM_S + CHECK_S) * self.sr)
        while len(self._stereo) > 1 and self._stereo[1][0] <= keep_from:
            self._stereo.pop(0)

    def first_channel(self) -> np.ndarray | None:
        """Channel 1 from the start (None: more than HOLD_S were held, or nothing)."""
        if self._first is None:
            return None
        return np.concatenate(self._first) if self._first else np.zeros(0, np.float32)

    def drop_held(self) -> None:
        self._first = None

    def _audio(self, a: int, b: int) -> np.ndarray:
        parts = [blk[max(a - s, 0):b - s] for s, blk in self._stereo if s < b and s + len(blk) > a]
        return np.concatenate(parts) if parts else np.zeros((0, 2), np.float32)

    # -- checks --------------------------------------------------------------------------------
    def due(self, decided_samples: int) -> int | None:
        """The checkpoint (samples) to check now: the audio is there and the channels' own
        decisions reach it (``decided_samples``); None: none yet."""
        end = self.next_end
        return end if end <= self.n and end <= decided_samples else None

    def check(self, end: int, shown_s: float | None) -> Check:
        """Check the window ending at ``end`` (``due``): ``shown_s`` is the speech the channels as
        given showed there (None after a switch). Moves to the next checkpoint and returns the check;
        ``switch_now`` says whether it decided a switch."""
        from ..engine.speakers import detect_layout

        a = max(0, end - int(WINDOW_S * self.sr))
        audio = self._audio(a, end)
        rep = detect_layout(audio, probe_s=None)
        lag = phat_lag_ms(audio) if rep.layout == "shared" else None
        verdict, shown = verdict_of(rep, lag, None if self.switched else shown_s)
        evidence = dict(rep.evidence, **({} if lag is None else {"phat_lag_ms": round(lag, 2)}))
        c = Check(end / self.sr, verdict, rep.layout, float(rep.evidence.get("speech_s", 0.0)), shown, rep.reason,
                  evidence)
        self.checks.append(c)
        self.run = self.run + 1 if verdict == "shared" else 0
        if self.found is None or (self.found == "separate" and not self.switched):
            if verdict == "separate" and self.found is None:
                self.found, self.found_at_s = "separate", c.end_s
            elif self.run >= AGREE:
                self.found, self.found_at_s = "shared", c.end_s
        searching = self.found is None or (self.found == "separate" and self.run > 0)
        self.next_end = end + (self.step if searching else int(CONFIRM_S * self.sr))
        return c

    @property
    def window_start(self) -> int:
        return max(0, self.next_end - int(WINDOW_S * self.sr))

    def saved_warnings(self, warnings: list[str]) -> list[str]:
        """The saved session's ``warnings`` as they stand after this watch: once switched, the
        provisional note's "taken from its channels as given" says what the session is instead, and
        checks after the switch that found the channels separate are said (the session stays one
        shared device's first channel; nothing said that the evidence changed; hostile sweep 18)."""
        if not self.switched:
            return warnings
        out = [w.replace(AS_GIVEN, AS_SWITCHED) for w in warnings]
        later = [c for c in self.checks if self.found_at_s is not None and c.end_s > self.found_at_s]
        apart = [c for c in later if c.verdict == "separate"]
        if apart:
            first = apart[0]
            out.append(f"{SEPARATE_AFTER} {len(apart)} of {len(later)} times (first over the minute to "
                       f"{stopwatch_text(first.end_s)}: {first.reason}): the session stays the first channel read "
                       "as one shared device; where each channel is a person's, analyse the recording whole "
                       "(`prosody analyze`, or --record)")
        return out

    def record(self) -> dict:
        """``live.layout`` of the saved session."""
        confirm = [c for c in self.checks if self.found_at_s is not None and c.end_s > self.found_at_s]
        counts = {k: sum(c.verdict == k for c in confirm) for k in ("shared", "separate", "unsure")}
        last = self.checks[-1].to_dict() if self.checks else None
        found = next((c for c in self.checks if c.end_s == self.found_at_s), None)
        return {"found": self.found, "found_at_s": self.found_at_s, "switched": self.switched,
                "channels_given": self.channels_given, "said": self.said or None,
                "check_every_s": CHECK_S, "window_s": WINDOW_S, "checks": len(self.checks),
                "decided_by": None if found is None else found.to_dict(),
                "evidence": None if found is None else found.evidence,
                "confirmations": counts, "last_check": last,
                "reanalysis_s": None if self.reanalysis_s is None else round(self.reanalysis_s, 3)}


class SameSoundWatch:
    """Two inputs read as a person's each (two devices, or two replayed files) that carry one sound: each voice
    is taken for the other channel's leak and not shown. The saved session says so (``session.same_sound_warning``);
    this says it while live, once, as soon as the final frames tell: every ``CHECK_S`` of them, where
    ``MIN_SPEECH_S`` of sound above -60 dBFS carry one level difference, the speech either channel shows so far
    too (``session.same_sound_db``, the saved warning's rule). Said only, never switched: which input is the shared
    one is the user's to choose (hostile sweep 57; sweep 58: also where both channels show some speech, which they
    had to lack before; sweep 60: also two inputs up to 60 ms apart)."""

    def __init__(self, speakers: tuple[str, str], *, hop_s: float = GRID.hop_s):
        self.speakers = tuple(speakers)
        self.hop_s = hop_s
        self._levels: dict[str, list[np.ndarray]] = {s: [] for s in self.speakers}
        self._speech: dict[str, list[np.ndarray]] = {s: [] for s in self.speakers}
        self._n = dict.fromkeys(self.speakers, 0)
        self.step = int(round(CHECK_S / hop_s))
        self.next_n = self.step                      # the next checkpoint (frames)
        self.spoke: set[str] = set()                 # speakers whose channel showed speech
        self.said = ""
        self.settled = False                         # both channels showed their own speech: nothing to say
        self.lag: float | None = None                # the delay between the two, kept once past its first minute

    @property
    def done(self) -> bool:
        """Said, or settled: the rule failed where both channels had shown ``MIN_SPEECH_S`` of speech each (their
        own voices; each later check costs more, some 28 ms an hour in, and would find the same)."""
        return bool(self.said) or self.settled

    def add(self, fb) -> None:
        """A ``FrameBlock`` of final frames."""
        if self.done or fb.speaker not in self._levels:
            return
        if fb.is_speech.any():
            self.spoke.add(fb.speaker)
        self._levels[fb.speaker].append(np.asarray(fb.rms_db, np.float32))
        self._speech[fb.speaker].append(np.asarray(fb.is_speech, bool))
        self._n[fb.speaker] += len(fb.rms_db)

    def check(self) -> str:
        """The line to say, found at this call ("" where not, or said already). Each checkpoint is a fixed frame
        position, checked once both channels' final frames reach it: what is said does not depend on the blocks."""
        from ..session import same_sound_lag_span, same_sound_read, same_sound_words
        n = min(self._n.values())
        while not self.done and n >= self.next_n:
            end, self.next_n = self.next_n, self.next_n + self.step
            for kept in (self._levels, self._speech):  # joined once: an hour's frames are not joined again
                for s in self.speakers:
                    kept[s] = [np.concatenate(kept[s])]
            a, b = (self._levels[s][0][:end] for s in self.speakers)
            speech = [self._speech[s][0][:end] for s in self.speakers]
            diff, lag = same_sound_read(a, b, min_s=MIN_SPEECH_S, hop_s=self.hop_s, speech=speech, lag=self.lag)
            if self.lag is None and end >= same_sound_lag_span(self.hop_s):  # looked for on the first minute only
                self.lag = lag
            if diff is not None:
                shown = ("each voice is taken for the other channel's leak and not shown"
                         if not all(sp.any() for sp in speech) else
                         "each voice is taken for the other channel's leak, and the speech shown is what slipped "
                         "through, not who spoke")
                self.said = (f"layout found live at {stopwatch_text(end * self.hop_s)}: "
                             f"{same_sound_words(*self.speakers, diff, span='so far')}: {shown}; two inputs that "
                             "both carry both people are one shared input: stop, and take one of them alone as one "
                             "shared device (`--device NAME --mono`; a replay: one --input file)")
                return self.said
            if all(float(sp.sum()) * self.hop_s >= MIN_SPEECH_S for sp in speech):
                self.settled = True
                self._levels, self._speech = ({s: [] for s in self.speakers} for _ in range(2))  # never read again
        return ""
