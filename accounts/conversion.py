"""Convert Person: the only way an account comes into being here.

A conversion is a record that is written before every remote step, and every step first asks
Salesforce whether it already happened — so a double submit, a retried job or a worker killed
between the remote call and the local write completes the conversion instead of redoing it.
"""

import difflib
import re
import uuid
from dataclasses import asdict

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Account, Contact, PersonConversion
from activities.models import Activity
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.convert import (
    ConvertedIds,
    ConvertOptions,
    convert_lead,
    lead_conversion_state,
    lead_created_since,
)
from marketo_sync.salesforce.errors import SalesforceError
from marketo_sync.sync.crashpoints import crashpoint
from marketo_sync.sync.cycle import sync_object
from marketo_sync.sync.models import SyncRun

MAX_PEOPLE_PER_CONVERSION = 20
LEGAL_SUFFIXES = re.compile(
    r"\b(inc|ltd|llc|gmbh|corp|corporation|co|plc|sa|ag|bv|limited|company)\b\.?", re.IGNORECASE
)
SIMILAR_NAME_RATIO = 0.85


class ConversionRefused(ValueError):
    """This person cannot be converted (already a contact, no company, ...)."""


def normalized_company(name: str) -> str:
    name = LEGAL_SUFFIXES.sub(" ", name.lower())
    return " ".join(re.sub(r"[^\w\s]", " ", name).split())


def similar_accounts(*, company: str, limit: int = 5) -> list[Account]:
    """Local accounts with the same or a very similar name: likely duplicates."""
    wanted = normalized_company(company)
    if not wanted:
        return []
    first_word = wanted.split()[0]
    candidates = Account.objects.filter(is_deleted=False, name__icontains=first_word)[:200]
    scored = [
        (difflib.SequenceMatcher(None, wanted, normalized_company(a.name)).ratio(), a)
        for a in candidates
    ]
    return [a for ratio, a in sorted(scored, key=lambda s: -s[0]) if ratio >= SIMILAR_NAME_RATIO][
        :limit
    ]


def conversion_refusal(person: Contact) -> str:
    """Why this person cannot be converted, or '' when it can."""
    if person.sfdc_type == Contact.SfdcType.CONTACT:
        return "already a contact in Salesforce"
    if person.is_deleted:
        return "deleted in Salesforce"
    if not person.company:
        return "no company: the new account is named after it"
    return ""


def conversion_request(
    *, person: Contact, options: ConvertOptions, user: AbstractBaseUser, idempotency_key: str
) -> tuple[PersonConversion, bool]:
    """Record the request (once per key, once per person); returns (conversion, created)."""
    refusal = conversion_refusal(person)
    if refusal:
        raise ConversionRefused(f"{person} cannot be converted: {refusal}")
    existing = PersonConversion.objects.filter(idempotency_key=idempotency_key).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            conversion = PersonConversion.objects.create(
                person=person,
                idempotency_key=idempotency_key,
                options=asdict(options),
                requested_by=user,
                lead_sfdc_id=person.sfdc_lead_id or "",
            )
    except IntegrityError:
        open_one = PersonConversion.objects.exclude(status=PersonConversion.Status.FAILED)
        return open_one.get(person=person), False
    return conversion, True


def conversion_retry(*, conversion: PersonConversion) -> PersonConversion:
    """A failed conversion goes back to the queue; its recorded progress is kept."""
    if conversion.status != PersonConversion.Status.FAILED:
        raise ConversionRefused("only a failed conversion can be retried")
    conversion.status = (
        PersonConversion.Status.LEAD_CREATED if conversion.lead_sfdc_id
        else PersonConversion.Status.PENDING
    )
    conversion.error = ""
    conversion.save(update_fields=["status", "error", "updated_at"])
    return conversion


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def conversion_run(*, conversion_id: int) -> PersonConversion:
    """Carry a conversion forward from wherever it stopped; failures are recorded, not lost."""
    conversion = PersonConversion.objects.select_related("person").get(pk=conversion_id)
    if conversion.status == PersonConversion.Status.COMPLETED:
        return conversion
    PersonConversion.objects.filter(pk=conversion.pk).update(attempts=conversion.attempts + 1)
    try:
        client = SalesforceClient.from_settings()
        lead_id = ensure_lead(client, conversion)
        ids = lead_conversion_state(client, lead_id)
        if ids is None:
            ids = convert_lead(client, lead_id, ConvertOptions(**conversion.options))
        record_step(
            conversion,
            PersonConversion.Status.CONVERTED,
            account_sfdc_id=ids.account_id,
            contact_sfdc_id=ids.contact_id,
            opportunity_sfdc_id=ids.opportunity_id,
        )
        crashpoint("conversion_after_remote_convert")
        mirror_locally(client, conversion, lead_id, ids)
    except SalesforceError as exc:
        record_step(conversion, PersonConversion.Status.FAILED, error=str(exc))
        raise
    return conversion


def record_step(conversion: PersonConversion, status: str, **fields: str) -> None:
    conversion.status = status
    for name, value in fields.items():
        setattr(conversion, name, value)
    conversion.save(update_fields=["status", *fields, "updated_at"])


def ensure_lead(client: SalesforceClient, conversion: PersonConversion) -> str:
    """The person's lead in Salesforce, created first if the person is not there yet."""
    if conversion.lead_sfdc_id:
        return conversion.lead_sfdc_id
    person = conversion.person
    lead_id = person.email and lead_created_since(client, person.email, conversion.created_at)
    if not lead_id:
        created = client.call(
            lambda sf: sf.Lead.create(
                {
                    "FirstName": person.first_name or None,
                    "LastName": person.last_name,
                    "Email": person.email or None,
                    "Phone": person.phone or None,
                    "Title": person.title or None,
                    "Company": person.company,
                }
            )
        )
        lead_id = created["id"]
    with transaction.atomic():
        record_step(conversion, PersonConversion.Status.LEAD_CREATED, lead_sfdc_id=lead_id)
        Contact.objects.filter(pk=person.pk).update(sfdc_lead_id=lead_id)
    return lead_id


def mirror_locally(
    client: SalesforceClient, conversion: PersonConversion, lead_id: str, ids: ConvertedIds
) -> None:
    """The new records, read back from Salesforce so local rows match; the person stays one row.

    The person is linked to the new contact id first, so the contact's sync updates this row
    instead of creating a second person.
    """
    Contact.objects.filter(pk=conversion.person_id).update(
        sfdc_id=ids.contact_id, sfdc_type=Contact.SfdcType.CONTACT, sfdc_lead_id=lead_id
    )
    pulls = [("Account", ids.account_id), ("Contact", ids.contact_id), ("Lead", lead_id)]
    if ids.opportunity_id:
        pulls.append(("Opportunity", ids.opportunity_id))
    for object_name, sfdc_id in pulls:
        run = sync_object(client, object_name, SyncRun.Mode.RECORDS, sfdc_ids=[sfdc_id])
        if run.status != SyncRun.Status.SUCCESS:
            raise SalesforceError(f"could not read back the new {object_name}: {run.error}")
    with transaction.atomic():
        record_step(conversion, PersonConversion.Status.COMPLETED, error="")
        Activity.objects.create(
            contact_id=conversion.person_id,
            activity_type=Activity.Type.CONVERT_PERSON,
            source=Activity.Source.FLOW,
            reason=f"Convert Person: account {ids.account_id}, opportunity "
            f"{ids.opportunity_id or 'none'}",
            created_at=timezone.now(),
            user=conversion.requested_by,
        )
