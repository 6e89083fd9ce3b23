"""``prosody enrol`` (the therapist's voice profile) and ``prosody relabel`` (exchange the
two voices of a saved session); issue 9, item 4. Parse, call the library, print."""
from __future__ import annotations

from pathlib import Path

from prosody.errors import InputError
from prosody.report.text import terminal_safe

from .sessions import _confirm, _open, _signalled, _signals_wait, _store_option, say_unerased
from .options import input_path, session_ref, voices_told

EXIT_OK, EXIT_ERROR = 0, 1


def load_profile(args):
    """The VoiceProfile analyze/batch/live name the therapist with: ``--profile NAME``
    (must exist), else the profile of ``--therapist`` when one is stored, else None."""
    from prosody.engine.speakers import VoiceProfile
    from prosody.store.db import default_store_path
    name, required = getattr(args, "profile", None), True
    if not name:
        name, required = getattr(args, "therapist", None), False
    if not name:
        return None
    folder = Path(args.store).expanduser() if getattr(args, "store", None) else default_store_path()
    if not (folder / "sessions.db").exists():
        if required:
            raise InputError(f"--profile {name}: no session store at {folder}; enrol the voice first "
                             "(`prosody enrol ME.wav --therapist NAME`)")
        return None
    with _open(args) as store:
        d = store.profile(name)
    if d is None:
        if required:
            raise InputError(f"--profile {name}: no voice profile of that name in {folder}; "
                             "`prosody enrol --list` lists them")
        return None
    return VoiceProfile.from_dict(d)


def cmd_enrol(args, out, err) -> int:
    _check_enrol_actions(args)
    if args.list:
        return _list_profiles(args, out)
    if args.delete is not None:
        return _delete_profile(args, out, err)
    _check_enrol_args(args)
    if args.file is not None:
        prof = _profile_of_recording(args, err)
        with _open(args, create=True) as store:
            before, said, came = _save_profile(store, args, prof, f"recording {Path(args.file).name}", (None, None),
                                               out, err)
    else:
        from prosody.engine.speakers import profile_from_frames
        from prosody.enrol import session_voice
        with _open(args) as store:
            voices = store.voices_stamp(args.from_session)  # a relabel meanwhile is not saved over (sweep 35)
            stored, frames = store.read(args.from_session)  # one state of it (sweep 12)
            sid = stored.info.id
            x, mask, speaker = session_voice(stored.doc, frames, speaker=args.speaker, session_id=sid)
            prof = profile_from_frames(x, speech=mask, name=args.therapist)
            before, said, came = _save_profile(store, args, prof, f"session {sid} ({speaker})", (sid, voices),
                                               out, err)
        _say_naming_assumed(stored.doc, sid, args.therapist, err)
    if args.voices == 1:  # the user's word, not the diarizer's: said, as what it leaves unchecked
        err.write(terminal_safe(f"prosody: note: {args.file} was not checked for a second voice (--voices 1): a "
                                "profile of two voices would name either one the therapist") + "\n")
    if before is not None:  # one profile per name: the one it replaces is said, never lost unsaid
        err.write(terminal_safe(f"prosody: note: this replaces the voice profile {args.therapist} built "
                                f"{before[0]} from {before[1]}") + "\n")
    if came:
        return _signalled(came, err, terminal_safe(f"the voice profile {args.therapist} was saved first"))
    return EXIT_OK if said else EXIT_ERROR


def _say_naming_assumed(doc: dict, sid: int, name: str, err) -> None:
    """A profile from a session whose voices were named by an assumption is said to be of that guess (sweep 35:
    "enrolled ... from session 3 (therapist)", the therapist there the voice heard first, unsaid), with how to mend
    it: `relabel` where the session holds two voices; where it holds one (which `relabel` refuses: it was told
    and refused, hostile sweep 63), the profile taken away and one enrolled from the therapist alone."""
    from prosody.enrol import naming_assumed
    rule = naming_assumed(doc)
    if rule is None:
        return
    if len(doc.get("speaker_order") or ()) == 2:
        mend = f"`prosody relabel {sid}` exchanges them and enrol builds the profile again"
    else:
        import shlex
        word = shlex.quote(name)
        mend = (f"the profile {name} is the client's: `prosody enrol --delete {word}` removes it, and a recording "
                f"of the therapist alone enrols it (`prosody enrol FILE --therapist {word}`)")
    err.write(terminal_safe(f"prosody: note: in session {sid} the speakers were named by an assumption ({rule}): "
                            f"if that voice is the client's, {mend}") + "\n")


def _check_enrol_actions(args) -> None:
    """One action at a time: an option the chosen one does not use is refused, never dropped in silence
    (`enrol ME.wav --therapist T --list` listed the profiles and enrolled nobody, without a word)."""
    actions = [flag for flag, given in (("--list", args.list), ("--delete", args.delete is not None)) if given]
    enrolling = [flag for flag, value in (("FILE", args.file), ("--therapist", args.therapist),
                                          ("--from-session", args.from_session), ("--speaker", args.speaker),
                                          ("--voices", args.voices)) if value is not None]
    if len(actions) > 1:
        raise InputError("--list and --delete are two commands: give one")
    if actions and enrolling:
        raise InputError(f"{actions[0]} takes no {' or '.join(enrolling)}, which enrol a voice: give one or the "
                         "other")
    if args.speaker is not None and args.from_session is None:
        raise InputError("--speaker chooses a voice of a saved session (--from-session N); a recording (FILE) holds "
                         "the therapist alone")


def _check_enrol_args(args) -> None:
    """Enrolling: a name, one source (a recording of the therapist alone or a saved session), --voices 1 only for
    a recording."""
    if not args.therapist:
        raise InputError("enrol needs --therapist NAME: the profile is kept under that name")
    if (args.file is None) == (args.from_session is None):
        raise InputError("give either a recording of the therapist alone (FILE) or --from-session N")
    if args.voices == 2:
        raise InputError("--voices 2: a voice profile is built from one voice, the therapist's alone")
    if args.voices == 1 and args.file is None:
        raise InputError("--voices 1 applies to a recording (FILE): a saved session's speaker is read from its own "
                         "speech")


def _list_profiles(args, out) -> int:
    with _open(args) as store:
        rows = store.profiles()
    for name, source, sid, created in rows:
        # the fields are escaped, the tabs between them are the layout
        out.write("\t".join(terminal_safe(x) for x in (name, source, created)) + "\n")
    if not rows:
        out.write("no voice profiles yet (`prosody enrol ME.wav --therapist NAME`)\n")
    return EXIT_OK


def _delete_profile(args, out, err) -> int:
    unerased = []
    with _signals_wait() as came:  # a biometric profile: its commit and the checkpoint that erases it
        with _open(args) as store:
            store.delete_profile(args.delete, unerased=unerased)
    said = _confirm(out, err, terminal_safe(f"deleted the voice profile {args.delete}") + "\n")
    say_unerased(err, unerased, f"the voice profile {args.delete}'s deleted bytes are")
    if came:  # said last: the delete was not cut short
        return _signalled(came, err, f"the voice profile was deleted {'first' if unerased else 'completely first'}")
    return EXIT_OK if said else EXIT_ERROR


def _profile_of_recording(args, err):
    """The profile of a recording of the therapist alone (checked for a second voice unless --voices 1); an error
    where the file was replaced or cut short while it was read (the voice another's, or lost), a warning where a
    recorder still appends (the profile is of what was read)."""
    from prosody.engine.speakers import build_profile, check_one_voice
    from prosody.enrol import recording_channels
    from prosody.fileio import check_input_file, input_change, input_state
    check_input_file(args.file)
    state = input_state(args.file)  # a file replaced or written to meanwhile is said, as analyze says it
    mix, pair, said = recording_channels(args.file)
    for warning in said:
        err.write(terminal_safe(f"prosody: warning: {warning}") + "\n")
    if args.voices is None:  # its first two channels too: one voice each is two people
        for warning in check_one_voice(pair, mix=mix, label=args.file):
            err.write(terminal_safe(f"prosody: warning: {warning}") + "\n")
    del pair
    prof = build_profile(mix, name=args.therapist)
    del mix
    change = input_change(args.file, state, doing="read", made="what was read is")
    if change is not None and change[0] != "changed":
        raise InputError(change[1] + "; no voice profile was saved: enrol it again once nothing writes to it")
    if change is not None:
        err.write(terminal_safe(f"prosody: warning: {change[1]}: the "
                                f"profile is of the {prof.speech_s:.0f} s of speech read; enrol it again once the "
                                "recording is finished") + "\n")
    return prof


def _save_profile(store, args, prof, source: str, session, out, err):
    """The profile saved and said, Ctrl-C / SIGTERM / SIGHUP held meanwhile (sweep 12): (the profile it
    replaced or None, whether the line was written, the signals that came). ``session``: (id, voices stamp)
    of the session it was built from, else (None, None)."""
    sid, voices = session
    with _signals_wait() as came:
        before = store.save_profile(args.therapist, prof.to_dict(), source=source, session_id=sid, voices=voices)
        said = _confirm(out, err, terminal_safe(f"enrolled {args.therapist}: {prof.speech_s:.0f} s of speech from "
                                                f"{source}, {prof.n_windows} windows (spread {prof.spread:.2f})")
                        + "\n")
    return before, said, came


def cmd_relabel(args, out, err) -> int:
    from prosody.moments import swapped_label
    from prosody.relabel import relabel
    with _open(args) as store:
        stamp = store.stamp(args.session)  # another prosody's change meanwhile is not undone (sweep 12)
        stored, frames = store.read(args.session)
        doc, frames = relabel(stored.doc, frames)
        with _signals_wait() as came:  # the save and its line: after its commit, a signal said nothing of it
            store.save(doc, frames, meta=stored.info.meta, bookmarks=stored.bookmarks, session_id=stored.info.id,
                       unchanged=stamp, note_labels=swapped_label)  # "talked over the client" is the client's now
            a, b = doc["speaker_order"]
            said = _confirm(out, err, terminal_safe(f"session {stored.info.id}: the two voices exchanged ({a} and "
                                                    f"{b}); measures recomputed") + "\n")
    if came:
        return _signalled(came, err, f"session {stored.info.id} was relabelled first")
    return EXIT_OK if said else EXIT_ERROR


def add_parser(sub) -> None:
    p = sub.add_parser("enrol", help="keep the therapist's voice profile (names the therapist in shared/mono audio)")
    p.add_argument("file", nargs="?", metavar="FILE", type=input_path,  # speakers.MIN_PROFILE_SPEECH_S (was "5 s")
                   help="a short recording of the therapist alone (>= 3 s speech)")
    p.add_argument("--therapist", metavar="NAME", help="the profile's name (as given to analyze --therapist)")
    p.add_argument("--from-session", type=session_ref, metavar="SESSION", help="build it from a saved session's audio instead")
    p.add_argument("--speaker", default=None, metavar="NAME",
                   help="with --from-session: whose voice (default the session's therapist)")
    p.add_argument("--voices", type=voices_told, default=None, metavar="1",
                   help="1: FILE holds the therapist alone, as you know it; it is not checked for a second voice "
                        "(the check can split one voice in two, and refuse it)")
    p.add_argument("--delete", metavar="NAME", help="delete the voice profile NAME")
    p.add_argument("--list", action="store_true", help="list the stored voice profiles")
    _store_option(p)
    p.set_defaults(run=cmd_enrol)

    p = sub.add_parser("relabel", help="exchange the two voices of a saved session and recompute its measures")
    p.add_argument("session", type=session_ref, metavar="SESSION")
    _store_option(p)
    p.set_defaults(run=cmd_relabel)


__all__ = ["add_parser", "load_profile"]

