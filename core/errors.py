"""Errors that reach the user as one line.

Every problem a user can fix (bad input, a missing file, an unknown model) raises a
HubscapeError subclass whose message says what was wrong and how to fix it. The CLI prints
it as one line and exits with status 2; anything else is a bug and keeps its traceback.
"""


class HubscapeError(Exception):
    """A problem with the user's input or environment, reported as one line (exit code 2)."""


class InputError(HubscapeError):
    """A file, argument or value that cannot be used as given."""


class BundleError(InputError):
    """A bundle file that is missing, corrupt, of the wrong kind or of a newer schema."""


class HubError(HubscapeError):
    """The Hugging Face Hub could not give what was asked (unknown id, gated, offline)."""
