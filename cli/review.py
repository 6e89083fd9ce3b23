"""``prosody moments|play|note``: reviewing a stored session -- the moments worth
hearing, playing them, and a supervisor's notes. Views are pure functions."""
from __future__ import annotations

import textwrap

from rich.console import Group
from rich.text import Text

from prosody.report.text import terminal_safe

from prosody.errors import CaptureError, ConfigError, InputError
from prosody.types import UNATTRIBUTED
from .options import input_path, number, session_ref, whole_number
from .sessions import _confirm
from .stopping import SaidConsole

EXIT_OK, EXIT_ERROR = 0, 1


def moments_config(args):
    from prosody.moments import MomentsConfig
    cfg = MomentsConfig()
    if getattr(args, "config", None):
        from prosody.config import AnalysisConfig, read_toml_file
        table = read_toml_file(args.config)
        AnalysisConfig.from_dict(table)  # every section checked, as analyze does: one file serves every command
        cfg = MomentsConfig.from_table(table)
    over = {}
    from dataclasses import replace
    for flag, attr, key in (("--max", "max", "max_total"), ("--max-per-kind", "max_per_kind", "max_per_kind"),
                            ("--min-gap-s", "min_gap_s", "min_gap_s")):
        value = getattr(args, attr, None)
        if value is not None:
            try:  # the flag named, not the [moments] key it overrides
                replace(MomentsConfig(), **{key: value}).validate()
            except ConfigError as exc:
                raise ConfigError(f"{flag} {value}: {exc}") from None
            over[key] = value
    weights = dict(cfg.weights)
    for item in getattr(args, "weight", None) or []:
        from prosody.formats.bundle import parse_number
        kind, _, w = item.partition("=")
        value = parse_number(w)  # digits 0-9: float() took "１", "٠.٥" and "1_0" (10), as no other option does
        if value is None:
            raise ConfigError(f"--weight {item!r}: expected KIND=NUMBER (digits 0-9), e.g. --weight silence=0.5")
        weights[kind.strip()] = value
    if getattr(args, "weight", None):
        over["weights"] = tuple(weights.items())
    if over:
        cfg = replace(cfg, **over)
    return cfg.validate()


def session_moments(stored, cfg=None):
    """The ranked moments of a ``StoredSession`` (its bookmarks and notes included)."""
    from prosody.moments import MomentsConfig, moments
    return moments(stored.doc, bookmarks=stored.bookmarks, notes=stored.notes, cfg=cfg or MomentsConfig())



def moments_view(stored, ms) -> Group:
    """A numbered list: time, kind, what happened, the numbers, why it was picked."""
    from prosody.moments import KIND_LABELS, numbers_text
    from prosody.report.wording import fmt_clock
    info = stored.info
    head = Text(f"session {info.id}: {len(ms)} moment{'' if len(ms) == 1 else 's'} to review", style="bold")
    parts = [head]
    if UNATTRIBUTED in (stored.doc.get("speaker_order") or ()):  # an empty list would say nothing of why
        parts.append(Text(f"who spoke when is unsure in this session (its speech left {UNATTRIBUTED}): no moment about "
                          "you or the client is looked for; long silences, bookmarks and notes are", style="dim"))
    if not ms:
        parts.append(Text("nothing stood out by the current rules (see docs/moments.md to change them)", style="dim"))
    for m in ms:
        span = fmt_clock(m.start_s) if m.end_s - m.start_s < 1.0 else f"{fmt_clock(m.start_s)}–{fmt_clock(m.end_s)}"
        line = Text(f"{m.rank:>2}  ")
        line.append(f"{span:<11}", style="bold")
        line.append(f" {terminal_safe(KIND_LABELS.get(m.kind, m.kind))}", style="cyan")
        parts.append(line)
        parts.append(Text("\n".join(textwrap.wrap(terminal_safe(m.what), width=76, initial_indent="    ",
                                                  subsequent_indent="    "))))
        nums = numbers_text(m.numbers)
        why = terminal_safe(f"why: {m.why}" + (f" ({nums})" if nums else ""))
        parts.append(Text("\n".join(textwrap.wrap(why, width=76,
                                                  initial_indent="    ", subsequent_indent="    ")), style="dim"))
    parts.append(Text(f"play one: prosody play {info.id} RANK · note one: prosody note {info.id} --moment RANK TEXT",
                      style="dim"))
    return Group(*parts)


def cmd_moments(args, out, err) -> int:
    from .sessions import _open
    cfg = moments_config(args)
    with _open(args) as store:
        stored = store.get(args.session)
    ms = session_moments(stored, cfg)
    if args.json:
        from prosody.typed_text import json_text
        getattr(out, "write_data", out.write)(json_text([m.to_dict() for m in ms], indent=2) + "\n")  # UTF-8
    else:
        SaidConsole(file=out, width=None if out.isatty() else 80).print(moments_view(stored, ms))
    return EXIT_OK


def _device(text):
    """An output device: a number, a PulseAudio sink name (played through
    PortAudio's ALSA ``pulse`` device with ``PULSE_SINK`` set) or part of a name."""
    if text is None:
        return None
    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    import os
    import subprocess
    from prosody.live.devices import SOUND_SERVER_WAIT_S
    try:
        res = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True,
                             timeout=SOUND_SERVER_WAIT_S)
        sinks = [line.split("\t")[1] for line in res.stdout.splitlines() if line.count("\t") >= 2]
    except OSError:
        sinks = []
    except subprocess.TimeoutExpired:  # PortAudio's start would wait on it next (hostile sweep 27)
        raise CaptureError(f"the sound server did not answer: `pactl list short sinks` had not ended in "
                           f"{SOUND_SERVER_WAIT_S:.0f} s (a PulseAudio or PipeWire server that is frozen or hung; "
                           "restart it); nothing was played") from None
    if text in sinks:
        os.environ["PULSE_SINK"] = text  # read by the pulse plugin when the stream opens
        return "pulse"
    return text


def cmd_play(args, out, err) -> int:
    from prosody.clips import clip_span, locate, play
    from .sessions import _open
    cfg = moments_config(args)
    with _open(args) as store:
        stored = store.get(args.session)
    ms = session_moments(stored, cfg)
    if not 1 <= args.moment <= len(ms):
        raise InputError(f"session {stored.info.id} has {len(ms)} moment{'s' if len(ms) != 1 else ''}; choose 1..{len(ms)} "
                         f"(`prosody moments {stored.info.id}` lists them)" if ms else
                         f"session {stored.info.id} has no moments to play")
    m = ms[args.moment - 1]
    if not 0.0 <= args.context_s <= 60.0:
        raise InputError(f"--context-s {args.context_s}: must be within 0..60 s")
    audio, why = locate(stored.doc)
    if audio is None:
        err.write(f"prosody: error: {terminal_safe(why)}\n")
        return 1
    duration_s = float(stored.doc["duration_s"])
    heard_s = _heard_s(m, duration_s, audio)
    a, b = clip_span(m.start_s, m.end_s, duration_s=heard_s, context_s=args.context_s)
    x = audio.listen(a, b)
    if not len(x):  # "playing" said, 0.2 s of silence played, exit 0 (hostile sweep 26)
        where = (f"it is at {m.start_s:.1f} s, at or after the end of the {duration_s:.1f} s recording"
                 if m.start_s >= duration_s else f"{a:.1f}–{b:.1f} s of the {duration_s:.1f} s recording")  # was "41.0–40.2 s": a span backwards
        raise InputError(f"moment {m.rank} ({m.what}) leaves nothing to play: {where}"
                         f"{'; give --context-s over 0' if args.context_s == 0 else ''}")
    from .library_lines import held_back
    with held_back(args, doing="playing"):
        play(x, audio.sample_rate, device=_device(args.device), device_text=args.device,  # said once it took it
             on_start=lambda: err.write(f"prosody: playing moment {m.rank} ({terminal_safe(m.what)}), "
                                        f"{a:.1f}–{b:.1f} s{_after_end_said(m, duration_s, heard_s, b)}\n"))
    return EXIT_OK


def _heard_s(m, duration_s: float, audio) -> float:
    """Where a moment's clip may end: the analysed end, or, for a moment after it (a live bookmark set on audio
    not analysed when the session stopped), the recording's end where it runs on past it."""
    return max(duration_s, audio.length_s()) if m.start_s > duration_s else duration_s


def _after_end_said(m, duration_s: float, heard_s: float, b: float) -> str:
    """The words added to "playing moment K" for a moment after the analysed end: played from the recording past
    it, or only up to the recording's end (was played so, unsaid: hostile sweep 38); "" for any other."""
    if m.start_s <= duration_s:
        return ""
    if m.start_s < heard_s:
        return (f" (it is at {m.start_s:.1f} s, after the {duration_s:.1f} s analysed: played from the recording, "
                f"which runs to {heard_s:.1f} s)")
    return (f" (it is at {m.start_s:.1f} s, after the {heard_s:.1f} s recording's end: only up to that end, "
            f"{b:.1f} s, is played)")


def cmd_note(args, out, err) -> int:
    from prosody.moments import KIND_LABELS
    from .sessions import _open, _signalled, _signals_wait
    if args.at is not None and args.moment is not None:  # was "say where the note goes", as if neither was given
        raise InputError(f"--at {args.at} and --moment {args.moment} both say where the note goes: give one of them")
    if args.at is None and args.moment is None:
        raise InputError("say where the note goes: --at 12:30 (a time) or --moment K (see `prosody moments`)")
    with _open(args) as store:
        voices = store.voices_stamp(args.session)  # a moment's label made before a relabel meanwhile (sweep 35)
        stored = store.get(args.session)
        end_s, label = None, ""
        if args.moment is not None:
            ms = session_moments(stored, moments_config(args))
            if not 1 <= args.moment <= len(ms):
                raise InputError(f"--moment {args.moment}: session {stored.info.id} has {len(ms)} "
                                 f"moment{'s' if len(ms) != 1 else ''}"
                                 + (f"; choose 1..{len(ms)} (`prosody moments {stored.info.id}` lists them)"
                                    if ms else ""))
            m = ms[args.moment - 1]
            time_s, end_s = m.start_s, (m.end_s if m.end_s > m.start_s else None)
            label = f"{KIND_LABELS.get(m.kind, m.kind)} at {m.start_s:.1f} s"
            duration_s = float(stored.doc["duration_s"])
            if time_s > duration_s:  # a live bookmark set on audio not analysed when the session stopped: the note
                # was refused, "note time 100.0 s is outside session 1 (0 to 40.2 s)", for a moment the list offers
                time_s, end_s = duration_s, None
                label += f", after the {duration_s:.1f} s analysed: noted at its end"
        else:
            from prosody.formats.bundle import parse_clock
            time_s = parse_clock(args.at)
        from prosody.report.wording import fmt_clock
        with _signals_wait() as came:  # the note and its line (sweep 12)
            note = store.add_note(stored.info.id, args.text, time_s=time_s, end_s=end_s, author=args.author or "",
                                  moment=label, voices=voices if label else None)
            said = _confirm(out, err, f"session {stored.info.id}: note at {fmt_clock(note.time_s)}"
                                      f"{' (' + terminal_safe(label) + ')' if label else ''}\n")
    if came:
        return _signalled(came, err, f"the note was added to session {stored.info.id} first")
    return EXIT_OK if said else EXIT_ERROR


def _ranking_options(p) -> None:
    g = p.add_argument_group("ranking (see docs/moments.md)")
    g.add_argument("--config", metavar="TOML", type=input_path, help="config file with a [moments] table")
    g.add_argument("--max", type=whole_number, metavar="N",
                   help="at most N moments in the ranked list (supervisor notes follow it)")
    g.add_argument("--max-per-kind", type=whole_number, metavar="N", help="at most N moments of one kind")
    g.add_argument("--min-gap-s", type=number, metavar="S", help="moments start at least S seconds apart")
    g.add_argument("--weight", action="append", metavar="KIND=W",
                   help="weight of a kind (0 leaves it out), repeatable, e.g. --weight silence=0.5")


def add_parser(sub) -> None:
    from .sessions import _store_option
    p = sub.add_parser("moments", help="the moments of a stored session worth reviewing, ranked")
    p.add_argument("session", type=session_ref, metavar="SESSION")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    _ranking_options(p)
    _store_option(p)
    p.set_defaults(run=cmd_moments)

    p = sub.add_parser("play", help="play a moment (with a few seconds around it) from the session's recording")
    p.add_argument("session", type=session_ref, metavar="SESSION")
    p.add_argument("moment", type=whole_number, metavar="MOMENT", help="its rank in `prosody moments SESSION`")
    p.add_argument("--device", metavar="DEV", help="output device number or name (default: the system's)")
    p.add_argument("--context-s", type=number, default=3.0, metavar="S", help="seconds around it (default 3)")
    _ranking_options(p)
    _store_option(p)
    p.set_defaults(run=cmd_play)

    p = sub.add_parser("note", help="a supervisor's note on a time or a moment of a stored session")
    p.add_argument("session", type=session_ref, metavar="SESSION")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--at", metavar="TIME", help="where: m:ss, h:mm:ss or seconds")
    p.add_argument("--moment", type=whole_number, metavar="K", help="on moment K of `prosody moments SESSION`")
    p.add_argument("--author", metavar="NAME", help="who wrote it (e.g. the supervisor)")
    _ranking_options(p)
    _store_option(p)
    p.set_defaults(run=cmd_note)


__all__ = ["add_parser", "moments_view", "session_moments"]
