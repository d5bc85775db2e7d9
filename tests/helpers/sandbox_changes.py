"""Changes made in the sandbox org the way a Salesforce user makes them."""

from accounts.models import Account
from marketo_sync.sandbox.control import SandboxControl


def update_accounts(control: SandboxControl) -> int:
    """Change two fields of every account with contacts; returns the activities expected."""
    expected = 0
    for number, account in enumerate(Account.objects.exclude(contacts=None).order_by("sfdc_id")):
        control.update(
            "Account", account.sfdc_id, {"Industry": f"Crash Test {number}", "Tier__c": 90 + number}
        )
        expected += 2 * account.contacts.filter(is_deleted=False).count()
    return expected
