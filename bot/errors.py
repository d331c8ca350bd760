"""Errors that carry a message meant for the member who caused them.

Raised deep in the core; the one tree error handler turns them into a short ephemeral reply.
"""


class UserFacingError(Exception):
    """Something the member can fix or should know; `str(error)` is shown to them as it is."""


class NotAllowed(UserFacingError):
    """The member lacks the role or permission the action needs."""


class SettingError(Exception):
    """A setting in the environment or `.env` is missing or malformed (one line, names the setting)."""
