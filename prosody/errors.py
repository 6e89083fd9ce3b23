"""Every user-facing failure is a ProsodyError; the CLI prints its message on one line."""


class ProsodyError(Exception):
    """Base class: the message names the value, the constraint and a fix."""


class InputError(ProsodyError):
    """An input file or array cannot be analysed (missing, empty, undecodable, non-finite)."""


class ConfigError(ProsodyError):
    """A configuration value is out of range or inconsistent."""


class DecoderMissingError(InputError):
    """The file format needs a decoder that is not installed on this machine."""
