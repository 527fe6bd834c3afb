"""Typed refusals. Every message names the rule and the figures, so a page, a sheet's Sync note and
the CLI can show it as it is; `messages.say(error.text, lang)` says it in the person's language."""
from core.messages import Text


class LtcError(Exception):
    """Base of every refusal the domain raises on purpose."""

    rule = "error"

    def __init__(self, message: str, *, field: str | None = None, **params):
        """`message` is core's English, either a `messages.Text` or a template whose figures are `params`
        (the field's name is a figure too: "{field}: is required"), so a page can say it in Chinese."""
        text = message if isinstance(message, Text) else Text(message, field=field, **params)
        super().__init__(str(text))
        self.message = str(text)
        self.text = text
        self.field = field

    def __str__(self) -> str:
        return self.message


class ValidationError(LtcError):
    """Bad input: a field's value is missing, of the wrong type or out of range."""
    rule = "validation"


class NotFound(LtcError):
    rule = "not_found"


class PermissionDenied(LtcError):
    rule = "permission"


class GateError(LtcError):
    """A lifecycle gate is not passed (ATI, ATB, ATC, acceptance, closure...)."""
    rule = "gate"


class AmountError(LtcError):
    """Figures that do not add up: over-invoicing, terms not summing to the contract, ..."""
    rule = "amount"


class DuplicateError(LtcError):
    rule = "duplicate"
    existing_id: int | None = None   # the record this one duplicates, when there is one


class StaleVersionError(LtcError):
    """Someone else saved the record since it was read."""
    rule = "stale"
