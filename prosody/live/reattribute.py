"""After a live session from one device (issue 9, item 5): the whole recording
attributed again on save, as ``prosody analyze`` attributes a file.

While live, one device's channels are taken as given (provisional). With
``--record``, the saved session is re-analysed from the recording when the
layout found over the whole session is shared or mono (speakers by
diarization and the voice profile); for separate channels the live analysis
stands and only the layout record is added. Without a recording the session
says that its attribution stayed provisional."""
from __future__ import annotations

from pathlib import Path


from ..frames import frames_to_npz_bytes
from ..types import FRAME_COLUMNS
from ..speaker_channels import analyze_recording, attribute_recording, recording_plan
from ..timebase import stopwatch_text
from .layout_watch import AS_GIVEN, FOUND_LIVE, SEPARATE_AFTER
from .runner import frames_path_for, load_live_session, write_session

PROVISIONAL_NOTE = (f"one device: {AS_GIVEN} while live (provisional); "
                    "record with --record so that the whole session is attributed again (layout, diarization, "
                    "voice profile) when it is saved")


def provisional_replay_note(files) -> str:
    """``PROVISIONAL_NOTE`` for a replay (``prosody live --input FILE`` without --record): the file replayed
    is itself the recording, so the note names the command that attributes it whole, not --record."""
    names = " ".join(str(f) for f in files)
    return (f"one device (a replay of {names}): {AS_GIVEN} (provisional); "
            f"`prosody analyze {names}` attributes the whole recording (layout, diarization, voice profile), as "
            "--record would on save")


def _stopwatch(t_s) -> str:
    return stopwatch_text(float(t_s)) if isinstance(t_s, (int, float)) else "the switch"


def _arrays(doc: dict, frames: dict) -> bytes:
    """The frames in the one frames file layout (``prosody.frames``), cut to the document's length."""
    n = int(round(doc["duration_s"] / doc["frame_hop_s"]))
    return frames_to_npz_bytes({s: {k: frames[s][k][:n] for k in FRAME_COLUMNS if k in frames[s]}
                                for s in doc["speaker_order"]}, doc["speaker_order"])


STOPPED_EARLY = "the recording stopped early"
# the live layout check's words ("read from now as one shared device, as --mono reads it (its first channel ...);
# who speaks is named provisionally") told what the live view did; saved, they stood over figures of the whole
# recording attributed again, both channels, which they did not describe (walk60)
SAVED_BY_VOICE = ("saved, the whole recording was attributed again by voice, as `prosody analyze` reads it: the "
                  "session's figures are that attribution's, not the live view's")


def provisional_note(why: str) -> str:
    """The warning of a one-device session recorded with --record whose whole-session
    attribution did not happen (``why``: e.g. "re-attribution interrupted"). A recording that
    stopped early holds only the session's start: `prosody analyze` on it is not offered as
    the whole session's attribution (it would drop the rest)."""
    what = ("the recording holds only the session's start, so no whole-session attribution can be made from it "
            "(`prosody analyze` on it attributes that start alone)") if why == STOPPED_EARLY \
        else "`prosody analyze` on the recording attributes the whole session"
    return (f"one device: attribution stayed provisional ({why}): speakers were taken from its channels as "
            f"given while live; {what}")


def note_provisional(json_path, why: str) -> dict:
    """Add ``provisional_note(why)`` to a saved live session's warnings (rewritten
    atomically, as saved); returns the new document."""
    json_path = Path(json_path)
    doc, frames = load_live_session(json_path)
    note = provisional_note(why)
    if note not in doc.get("warnings", []):
        doc["warnings"] = list(doc.get("warnings") or []) + [note]
    write_session(json_path, doc, _arrays(doc, frames))
    return doc


def reattribute_saved(json_path, *, config=None, measures=None, baseline=None, profile=None,
                      voices_told: int | None = None) -> dict | None:
    """Re-attribute a saved one-device live session from its ``live.recording_file``;
    returns the new document (also written to ``json_path`` and its frames file), or
    None when there is no recording to read (see ``reattribute_document``)."""
    got = reattribute_document(json_path, config=config, measures=measures, baseline=baseline, profile=profile,
                               voices_told=voices_told)
    if got is None:
        return None
    doc, arrays = got
    write_session(json_path, doc, arrays)
    return doc


def reattribute_document(json_path, *, config=None, measures=None, baseline=None,
                         profile=None, voices_told: int | None = None) -> tuple[dict, bytes] | None:
    """The work of ``reattribute_saved`` without the write: (new document, its frames
    file's bytes) for ``write_session``, or None when there is no whole recording to
    read (none named, gone, more than two channels, or ``live.recording_complete``
    false: a recording that stopped early would lose the rest of the session).
    Writes nothing, so that it can be interrupted without harm."""
    import soundfile as sf

    json_path = Path(json_path)
    doc, frames = load_live_session(json_path)
    live = doc.get("live") or {}
    rec = live.get("recording_file")
    if not rec or not Path(rec).is_file() or live.get("recording_complete") is False:
        return None
    n_channels = sf.info(rec).channels
    if n_channels > 2 or doc["duration_s"] <= 0:
        return None
    att, voices = attribute_recording([rec], n_channels=n_channels, layout="auto", profile=profile,
                                      voices=voices_told,  # ``--voices``: how many people speak
                                      vad=config.vad if config is not None else None)
    lay = live.get("layout") if isinstance(live.get("layout"), dict) else {}
    switched = voices is None and lay.get("switched") is True
    if voices is None and not switched:  # separate channels: the live analysis (the channels as given) stands
        if att is not None:
            doc["attribution"] = att.to_dict()
            if att.channels_swapped:  # it read channel 1 as the therapist: said, not redone
                doc["attribution"]["channels"] = {att.speakers[0]: 1, att.speakers[1]: 2}
                doc["attribution"].pop("naming", None)
                doc["warnings"] = list(doc.get("warnings") or []) + [
                    f"the voice profile names channel 2 the {att.speakers[0]} ({att.naming.rule}); the live analysis "
                    f"took channel 1 as the {att.speakers[0]}: `prosody relabel` exchanges the two speakers of the "
                    "imported session"]
        return doc, _arrays(doc, frames)
    layout = None
    if switched:  # found shared live and read as one shared device, but the recording read whole has separate
        # channels: the live analysis (its first channel, one speaker) does not stand; the recording is analysed
        # as `prosody analyze` reads it, a channel each (hostile sweep 18: it kept one speaker and said "separate")
        from ..analysis import default_layout
        layout = default_layout(n_files=1, n_channels=n_channels, channel_map=None, speaker=None, file_label=str(rec))
    # as analyze assembles a session (speaker_channels.analyze_recording), from the whole recording
    session = analyze_recording(recording_plan([rec], layout, voices=voices, attribution=att), config, attribution=att,
                                sources=list(doc.get("sources") or []), measures=measures, profile=baseline)
    new = session.to_json_dict()
    # the capture's warnings stay; "X never speaks" of the live channels is the new analysis's to say
    from ..session import SAME_SOUND_MARK, is_silent_speaker_warning
    kept = [w for w in doc.get("warnings") or [] if not is_silent_speaker_warning(w, doc.get("speaker_order") or ())
            and SAME_SOUND_MARK not in str(w)  # the channels read as given: the new analysis's to say
            and not (switched and str(w).startswith(SEPARATE_AFTER))]  # what the session no longer is
    if switched:
        why = att.layout_report.reason if att is not None else "a channel each"
        kept.append(f"the recording read whole has separate channels ({why}): the saved session is its channels a "
                    "speaker each, as `prosody analyze` reads it, not the one shared device read live from "
                    f"{_stopwatch(lay.get('found_at_s'))}")
    if voices is not None and lay.get("switched") is True:  # found shared live and read whole by voice as well
        kept = [f"{w}; {SAVED_BY_VOICE}" if str(w).startswith(FOUND_LIVE) else w for w in kept]
    new["warnings"] = kept + new["warnings"]
    for key in ("bookmarks", "capture", "live"):
        if key in doc:
            new[key] = doc[key]
    new["live"] = dict(new.get("live") or {}, analysed_s=round(session.duration_s, 4), reattributed=True,
                       frames_file=frames_path_for(json_path).name)
    return new, _arrays(new, session.frames)
