"""Errors that carry a message meant for the member who caused them.

Raised deep in the core; the one tree error handler turns them into a short ephemeral reply.
"""


class UserFacingError(Exception):
    """Something the member can fix or should know; `str(error)` is shown to them as it is."""


class NotAllowed(UserFacingError):
    """The member lacks the role or permission the action needs."""


class SettingError(Exception):
    """A setting in the environment or `.env` is missing or malformed (one line, names the setting)."""


class StorageUnavailable(UserFacingError):
    """The database cannot be written (disk full, read-only file, an I/O error): nothing was saved or
    changed, and the member is told exactly that."""

    def __init__(self, message: str | None = None):
        super().__init__(message or (
            "I couldn't save anything just now: my storage can't be written (the disk may be full or "
            "read-only). What you asked for did not happen and nothing was changed. Please try again later; "
            "the server's admins can see this in the bot's log."))
