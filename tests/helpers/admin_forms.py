"""The admin's change forms as a browser posts them, for tests that save through the admin."""

from typing import Any

from accounts.forms import ACCOUNT_COLUMNS, PERSON_COLUMNS
from accounts.models import Account, Contact


def as_posted(values: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What the browser posts: the values shown, their hidden initial copies, and the edits."""
    shown = {name: "" if value is None else value for name, value in values.items()}
    return {**shown, **{f"initial-{name}": value for name, value in shown.items()}, **changes}


def contact_form(contact: Contact, **changes: Any) -> dict[str, Any]:
    values = {name: getattr(contact, name) for name in PERSON_COLUMNS}
    values.update({f"account_{c}": getattr(contact.account, c) for c in ACCOUNT_COLUMNS})
    return as_posted(values, **changes)


def account_form(account: Account, **changes: Any) -> dict[str, Any]:
    return as_posted({name: getattr(account, name) for name in ACCOUNT_COLUMNS}, **changes)
