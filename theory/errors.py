"""The one kind of error that is the user's: bad input.

It lives here, in the lowest layer, because theory and numerics validate the
parameters they are given and must say so in the same terms as the CLI.

Everything dyncheck rejects because of what the user typed or asked for (an
expression, an option out of range, an output path that cannot be written, a
size that would not fit in memory) raises :class:`UsageError`.  The command
line turns it into one line and exit status 2; any other exception is a bug
and is shown with its traceback.
"""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(ValueError):
    """Bad input; the message, one line, says what is wrong and what is allowed."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
