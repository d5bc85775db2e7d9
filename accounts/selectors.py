"""Reads for the admin: how an account diverges from what Salesforce last sent."""

from dataclasses import dataclass

from accounts.models import Account
from activities.services import salesforce_value_text
from marketo_sync.sync.mapping import ACCOUNT_FIELDS, BadRecord, converter_for


@dataclass(frozen=True)
class Divergence:
    api_name: str
    label: str
    local_value: str
    salesforce_value: str


def account_divergences(*, account: Account) -> list[Divergence]:
    """Fields whose local value differs from the stored last Salesforce value (no re-fetch).

    Salesforce's value goes through the same conversion the sync applies, so a number sent as
    `120000000.0` and stored as `120000000.00` is not reported as a difference.
    """
    stored = account.sfdc_values or {}
    found = []
    for api_name, column in ACCOUNT_FIELDS.items():
        model_field = Account._meta.get_field(column)
        local = getattr(account, column)
        try:
            remote = converter_for(model_field)(stored.get(api_name))
        except BadRecord:
            remote = stored.get(api_name)
        if local != remote:
            found.append(
                Divergence(
                    api_name=api_name,
                    label=str(model_field.verbose_name).capitalize(),
                    local_value=salesforce_value_text(local),
                    salesforce_value=salesforce_value_text(remote),
                )
            )
    return found
