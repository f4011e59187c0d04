"""The errors a user can cause, each printed as one line by the command line.

Library code raises these instead of printing and exiting, so the CLI stays the only place
that turns an error into an exit status.
"""


class GradgamesError(Exception):
    """A failure the user can act on; the message is one line that says what to do.

    Attributes:
        exit_code: the command's exit status when this error ends it.
    """

    exit_code = 1


class UsageError(GradgamesError):
    """Bad input: an argument, a file or a directory the command cannot use (exit status 2)."""

    exit_code = 2


class DataError(UsageError):
    """A data set file that is missing, truncated or malformed (exit status 2)."""


class DivergenceError(GradgamesError):
    """Training produced non-finite losses or parameters (exit status 1)."""
