"""One error type for everything a user can cause, so the UI and CLI can show it plainly."""

from __future__ import annotations


class LayerlabError(Exception):
    """A problem the user can fix: `message` says what is wrong, `hint` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class SpecError(LayerlabError):
    """A project value is wrong; `field` is its dotted path (e.g. `train.epochs`)."""

    def __init__(self, field: str, message: str, hint: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message, hint)
        self.field = field


class DataError(LayerlabError):
    """The user's data cannot be used as it is."""
