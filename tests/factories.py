"""factory_boy factories for the synced rows: valid 18-character Salesforce ids, readable names.

A test names only the fields its rule is about; everything else gets a unique, valid value.
"""

import factory
from factory.django import DjangoModelFactory

from accounts.models import Account, Contact, SalesforceUser
from marketo_sync.salesforce.ids import normalize_sfdc_id


def salesforce_ids(prefix: str) -> factory.Sequence:
    """Distinct ids of one object (`001`, `003`, ...), with the checksum suffix Salesforce adds."""
    return factory.Sequence(lambda n: normalize_sfdc_id(f"{prefix}{n:012d}"))


class SalesforceUserFactory(DjangoModelFactory[SalesforceUser]):
    class Meta:
        model = SalesforceUser

    sfdc_id = salesforce_ids("005")
    name = factory.Sequence(lambda n: f"User {n}")


class AccountFactory(DjangoModelFactory[Account]):
    class Meta:
        model = Account

    sfdc_id = salesforce_ids("001")
    name = factory.Sequence(lambda n: f"Company {n}")


class ContactFactory(DjangoModelFactory[Contact]):
    """A Salesforce contact of an account."""

    class Meta:
        model = Contact

    sfdc_id = salesforce_ids("003")
    sfdc_type = Contact.SfdcType.CONTACT
    last_name = factory.Sequence(lambda n: f"Person {n}")
    account = factory.SubFactory(AccountFactory)


class LeadFactory(DjangoModelFactory[Contact]):
    """A person who is only a Salesforce lead: no contact id, no account."""

    class Meta:
        model = Contact

    sfdc_lead_id = salesforce_ids("00Q")
    sfdc_type = Contact.SfdcType.LEAD
    last_name = factory.Sequence(lambda n: f"Lead {n}")
    company = factory.Sequence(lambda n: f"Prospect {n}")
