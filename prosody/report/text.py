"""Text a person typed (names, notes, tags, file names), made safe to show.

On a terminal, control characters are never passed through: ESC starts
escape sequences that can clear the screen, move the cursor or (OSC 52) write
to the clipboard; other C0/C1 controls and DEL garble the layout. Each is
shown instead as a visible ``\\xNN`` (or ``\\uNNNN``), so nothing typed is
silently lost. Callers hand the result to rich as ``rich.text.Text``, never as
markup, so ``[brackets]`` stay text. Pages use ``html_safe``: the same, then
HTML-escaped."""
from __future__ import annotations

import re
from html import escape as _html_escape

from ..typed_text import (CONTROL as _CONTROL, DEPRECATED_FORMAT as _DEPRECATED_FORMAT, OTHER_UNSEEN as _OTHER_UNSEEN,
                          UNSEEN as _UNSEEN, show_control as _show)

# multi-line text (notes; a page's typed text): the bidi marks stay, a note written right to left places its
# punctuation with them (the store keeps them in notes only)
_CONTROL_KEEP_NL = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
                              f"{_UNSEEN}{_OTHER_UNSEEN}{_DEPRECATED_FORMAT}]")


def terminal_safe(text, *, newlines: bool = False) -> str:
    """``text`` (any value; None is "") with every control character shown as
    ``\\xNN``; ``newlines=True`` keeps line feeds (multi-line notes)."""
    if text is None:
        return ""
    s = str(text)
    return (_CONTROL_KEEP_NL if newlines else _CONTROL).sub(_show, s)


# a run of characters without a space longer than this, in a one-line message, is shown by its two ends and its
# length: a 100,000-character --channels or --profile was quoted whole in its error (hostile sweep 17's leftover)
LONG_RUN_CHARS, LONG_RUN_HEAD, LONG_RUN_TAIL = 400, 160, 60
_LONG_RUN = re.compile(rf"\S{{{LONG_RUN_CHARS + 1},}}")


def message_safe(text) -> str:
    """A one-line message that quotes typed text (an error, a warning): ``terminal_safe``, and each run of more
    than ``LONG_RUN_CHARS`` characters without a space shown by its ends and its length, so that the message's
    own words (what was wrong, what to do) stay on the screen."""
    return _LONG_RUN.sub(lambda m: f"{m.group(0)[:LONG_RUN_HEAD]}...[{len(m.group(0)):,} characters]..."
                                   f"{m.group(0)[-LONG_RUN_TAIL:]}", terminal_safe(text))


def html_safe(text, quote: bool = True) -> str:
    """Typed text for a page: control characters shown as \\xNN (as on the
    terminal), line feeds kept, then HTML-escaped."""
    return _html_escape(terminal_safe(text, newlines=True), quote=quote)
