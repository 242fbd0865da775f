"""Domain errors raised by services and translated by views into pages or JSON."""


class DomainError(Exception):
    """Base class: something the user or operator asked for cannot be done."""


class InvalidToken(DomainError):
    """A link that cannot be used; ``reason`` says why for the page shown."""

    # The status code of the page such a link gets, by reason.
    STATUS = {"expired": 410, "gone": 410, "used": 409, "invalid": 400, "wrong_purpose": 400}

    def __init__(self, reason: str, *, signature_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.signature_id = signature_id

    @property
    def status(self) -> int:
        return self.STATUS.get(self.reason, 400)


class InvalidArgument(DomainError):
    pass


class ChangedMeanwhile(DomainError):
    """What a change was decided on was changed by another request first; nothing was saved.

    Raised where the database refuses a conditional update (``StaleDataError``); views
    answer 409 with a page that says so.
    """
