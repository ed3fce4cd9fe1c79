"""Errors a caller of the slidecast library can tell apart.

Each carries a one-line message meant for a person: the CLI prints it as is and the service
turns it into a 4xx answer or a failed job's `error`.
"""


class SlidecastError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code = 1


class InputNotFound(SlidecastError):
    exit_code = 2


class NotAVideo(SlidecastError):
    exit_code = 3


class NoVideoStream(SlidecastError):
    exit_code = 4


class CorruptVideo(SlidecastError):
    """Truncated or damaged file: demuxing or decoding failed part way."""

    exit_code = 5


class OutputNotWritable(SlidecastError):
    exit_code = 6


class InvalidOptions(SlidecastError):
    """An option names something this machine cannot do (an unknown or uninstalled engine)."""

    exit_code = 7


class Cancelled(SlidecastError):
    """Raised from inside the progress callback to stop work at the next checkpoint."""

    exit_code = 130
