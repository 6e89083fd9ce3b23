"""Text a person typed (speaker labels, names, notes, file names), made inert
for each file format it is written into. Ground floor: the writers of every
floor above (session, formats, batch, report) use it.

A typed label is data: it must never add a line or a field to a file, nor be
read as a formula. What each format needs:

- RTTM: whitespace separates fields and a line ends a record, so a label is
  one token (``rttm_token``).
- TextGrid, EAF: one line of printable text, then quoted by the writer
  (``prosody.formats.tiers.clean_label``).
- CSV opened in a spreadsheet: a cell starting with ``= + - @`` (or tab/CR, or
  the full-width ``＝ ＋ － ＠``)
  is run as a formula (``=HYPERLINK(...)`` leaks data on a click); such text
  gets a leading ``'`` (``spreadsheet_cell``), the usual neutraliser, which
  spreadsheets hide. The terminal's and the page's rules are in
  ``prosody.report.text``."""
from __future__ import annotations

import re

# C0 controls, DEL, C1 controls; the Unicode line and paragraph separators; the bidi
# overrides/isolates, which reorder what follows them on screen; and lone surrogates, the
# bytes of a command line or file name that are not UTF-8 (Python's surrogateescape: a
# file named with byte 0x9b, an 8-bit CSI, would otherwise reach the terminal as that byte)
# The invisible format characters, as regular-expression class bodies, in one place for the store
# (``store.db.nfc``), the name rule (``types.name_problem``) and the terminal (``report.text``):
# ``UNSEEN`` (soft hyphen, zero-width space, word joiner, byte-order mark): every name, tag and note is
# stored without them; ``BIDI_MARKS`` (LRM, RLM, the Arabic letter mark) and ``OTHER_UNSEEN`` (the
# Mongolian vowel separator, the invisible operators, the tag characters): names and tags are stored
# without them too, notes keep the bidi marks (they place a right-to-left note's punctuation).
# ``INVISIBLE`` (all of them, and the deprecated format characters U+206A..U+206F) is shown on a
# terminal as escapes, so that one planted in an older store or a database edited by hand is seen.
# ZWJ and ZWNJ are none of these: they join letters and emoji.
UNSEEN = "\u00ad\u200b\u2060\ufeff"
BIDI_MARKS = "\u061c\u200e\u200f"
OTHER_UNSEEN = "\u180e\u2061-\u2064\U000e0000-\U000e007f"
DEPRECATED_FORMAT = "\u206a-\u206f"
INVISIBLE = UNSEEN + BIDI_MARKS + OTHER_UNSEEN + DEPRECATED_FORMAT
CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff{INVISIBLE}]")
# anything that ends a line or separates fields, and every control character
_NOT_TOKEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# "'" too, so reading back strips exactly one; and the full-width forms of = + - @ (U+FF1D, U+FF0B, U+FF0D, U+FF20),
# which a spreadsheet or an input method may normalise to the ASCII ones (hostile sweep 11: not seen run here, where
# no spreadsheet is installed; guarded since the guard is undone exactly and such a name is rare)
FULL_WIDTH_FORMULA_START = ("\uff1d", "\uff0b", "\uff0d", "\uff20")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'") + FULL_WIDTH_FORMULA_START


def show_control(m: re.Match) -> str:
    """A control character as visible text: ``\\xNN`` (or ``\\uNNNN``); a byte that
    was not UTF-8 (a lone surrogate U+DC80..U+DCFF) as the byte it was, ``\\xNN``."""
    c = ord(m.group(0))
    if 0xDC80 <= c <= 0xDCFF:
        c -= 0xDC00
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}"


def rttm_token(text, *, empty: str = "_") -> str:
    """``text`` as one RTTM field: each whitespace or control character is
    ``_`` ("my session\\n" -> "my_session_"); ``empty`` when nothing is left."""
    s = _NOT_TOKEN.sub("_", "" if text is None else str(text))
    return s or empty


def rttm_clash(names) -> tuple[str, str] | None:
    """Two of ``names`` that ``rttm_token`` writes alike ("a b" and "a_b" are both
    ``a_b``), or None: an RTTM file could not tell those speakers apart."""
    seen: dict[str, str] = {}
    for name in names:
        tok = rttm_token(name)
        if tok in seen and seen[tok] != name:
            return seen[tok], name
        seen.setdefault(tok, name)
    return None


def alike_names(names) -> tuple[str, str] | None:
    """Two of ``names`` that a reader (or RTTM) could not tell apart: equal but for spaces at their
    ends, or for spaces and control characters inside ("therapist" / "therapist ", "a b" / "a_b");
    or None."""
    seen: dict[str, str] = {}
    for name in names:
        key = rttm_token(str(name).strip())
        if key in seen and seen[key] != name:
            return seen[key], name
        seen.setdefault(key, name)
    return None


# what JSON leaves raw inside a string (it escapes C0 itself) and a terminal would act on: DEL, the C1
# controls (U+009B is CSI), the line and paragraph separators, the bidi overrides, lone surrogates
_JSON_RAW_CONTROL = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def json_text(obj, **kwargs) -> str:
    """``json.dumps(obj, ensure_ascii=False, **kwargs)`` with every control character that JSON
    leaves raw written as its ``\\u`` escape (four hex digits): JSON printed on a terminal (``export`` without
    ``-o``, ``analyze --json -``) cannot carry an 8-bit CSI or a bidi override from a file name, and
    reads back the same. Only strings can hold them, so the escape is always inside one."""
    import json
    return _JSON_RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(obj, ensure_ascii=False, **kwargs))


# where a spreadsheet may start a new cell inside one CSV field: a spreadsheet set to another separator (";" where
# the decimal mark is a comma: Excel opens a .csv with the system's list separator), or a tab-separated import,
# cuts a field at ";" or tab whatever its quotes, and a line break inside a quoted field ends the row when the
# field's opening quote is not at the cell's start there; "," for readers without quotes
CELL_BREAKS = (",", ";", "\t", "\r", "\n")
_CELL_START = f"(?:^|(?<=[{re.escape(''.join(CELL_BREAKS))}]))"
_FORMULA_AT = re.compile(f"{_CELL_START}(?=[{re.escape(''.join(FORMULA_START))}])")
_GUARD_AT = re.compile(f"{_CELL_START}'")


# the bidi overrides and isolates (U+202A..U+202E, U+2066..U+2069) in a CSV cell: written as the escapes the terminal
# and JSON written for a person show (``\u202e``), so that a spreadsheet does not show the cell's text reordered
# (``ab<U+202E>cd`` read "abdc"; older leftovers, 2026-12-05); so are the control characters but tab, LF and CR
# (the CSV's quotes hold those): a file name's ESC or 8-bit CSI went raw into the batch table, run by a terminal
# that printed it (`cat`; hostile sweep 25). A run of backslashes before such an escape's text (``\u202e`` typed)
# or before such a character is doubled, so that reading back is exact
_CSV_RAW = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_CSV_RAW_CHAR = re.compile(f"[{_CSV_RAW}]")
_CSV_ESCAPE_TEXT = "u(?:00(?:0[0-8bce-f]|1[0-9a-f]|7f|[89][0-9a-f])|202[a-e]|206[6-9])"
_BACKSLASHES_BEFORE = re.compile(f"(\\\\+)(?={_CSV_ESCAPE_TEXT}|[{_CSV_RAW}])")
_CSV_ESCAPED = re.compile(f"(\\\\+)({_CSV_ESCAPE_TEXT})")


def _unescape_csv(m: re.Match) -> str:
    n, code = len(m.group(1)), m.group(2)
    return "\\" * (n // 2) + (chr(int(code[1:], 16)) if n % 2 else code)


def spreadsheet_cell(text: str) -> str:
    """Typed text for a CSV cell: a ``'`` before its first character when that is ``= + - @`` (or their
    full-width forms), tab, CR or ``'`` (shown as text, never run as a formula), and the same after each ``CELL_BREAKS``
    character inside it (``therapist;=HYPERLINK(...)``, a list of speakers or tags, is two cells in a
    spreadsheet that splits at ";", the second a formula); a bidi override or isolate, or a control character but
    tab, LF and CR, as its escape (``\\u202e``, ``\\u001b``, with the backslashes before one, or before such an
    escape's text, doubled); anything else unchanged. Only for text columns: numbers are written as numbers.
    ``from_spreadsheet_cell`` undoes it."""
    text = _BACKSLASHES_BEFORE.sub(lambda m: m.group(1) * 2, text)
    text = _CSV_RAW_CHAR.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
    return _FORMULA_AT.sub("'", text)


def from_spreadsheet_cell(text: str) -> str:
    """The typed text of a cell ``spreadsheet_cell`` wrote."""
    return _CSV_ESCAPED.sub(_unescape_csv, _GUARD_AT.sub("", text))
