"""The errors a user can cause, each printed as one line by the command line.

Library code raises these instead of printing and exiting, so the CLI stays the only place
that turns an error into an exit status.
"""

import signal


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


class Stopped(GradgamesError):
    """A run stopped by ``signal_name`` (SIGINT, SIGTERM) after saving what it had; exit
    status 128 + the signal."""

    def __init__(self, signal_name: str, message: str):
        super().__init__(message)
        self.exit_code = 128 + int(signal.Signals[signal_name])


class DivergenceError(GradgamesError):
    """Training produced non-finite losses or parameters (exit status 1)."""


class ConfigError(UsageError, ValueError):
    """A config field with a value it cannot take (exit status 2).

    Raised by a config's ``__post_init__`` and by library functions that check their
    arguments. It is a ``ValueError`` for Python callers and names the field they passed; the
    command line names the flag instead (``field`` ``batch_size`` -> ``--batch-size``).
    ``problem`` may name other fields, listed in ``mentions``, in braces:
    ``ConfigError("out", "... pass {resume} to continue it", mentions=("resume",))`` reads
    ``out ... pass resume ...`` in Python and ``--out ... pass --resume ...`` on the command line.

    Attributes:
        field: the name of the field (or argument) as the Python API spells it.
        problem: what is wrong with it and what to give instead, without the name.
        mentions: the other fields ``problem`` names in braces.
    """

    def __init__(self, field: str, problem: str, *, mentions: tuple[str, ...] = ()):
        self.field = field
        self.problem = problem
        self.mentions = mentions
        super().__init__(f"{field} {self._spelled(str)}")

    def _spelled(self, spell) -> str:
        text = self.problem
        for name in self.mentions:
            text = text.replace(f"{{{name}}}", spell(name))
        return text

    def for_command_line(self) -> str:
        """The message as the command line prints it, naming the flags."""
        return f"{_flag(self.field)} {self._spelled(_flag)}"


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")
