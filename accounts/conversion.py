"""Convert Person: the only way an account comes into being here.

A conversion is a record that is written before every remote step, and every step first asks
Salesforce whether it already happened — so a double submit, a retried job or a worker killed
between the remote call and the local write completes the conversion instead of redoing it.
"""

import difflib
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from accounts.models import Account, Contact, PersonConversion
from accounts.services import person_absorb
from activities.models import Activity
from marketo_sync.faults import crashpoint
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.convert import (
    ConvertedIds,
    ConvertOptions,
    convert_lead,
    lead_conversion_state,
    lead_find_or_create,
)
from marketo_sync.salesforce.errors import SalesforceError
from marketo_sync.sync.services import sync_records

logger = logging.getLogger(__name__)

MAX_PEOPLE_PER_CONVERSION = 20
JOB_TIMEOUT_SECONDS = 600
# RQ kills a conversion job after JOB_TIMEOUT_SECONDS, so an unfinished conversion untouched for
# longer than that has no live worker: its worker was SIGKILLed or lost, and it may be retried.
STALE_AFTER = timedelta(seconds=JOB_TIMEOUT_SECONDS + 300)
# First key of the PostgreSQL advisory lock one worker holds while it runs a conversion.
ADVISORY_LOCK_CLASS = 7007
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
    if not person.sfdc_lead_id and not person.email:
        return (
            "not in Salesforce and no email: the lead created for it could not be found again "
            "after an interruption, so a retry might create a second one"
        )
    return ""


def conversion_request(
    *, person: Contact, options: ConvertOptions, user: User, idempotency_key: str
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


def people_with_open_conversion(*, person_ids: list[int]) -> set[int]:
    """Of these people, those a conversion is already under way for (one at a time each)."""
    return set(
        PersonConversion.objects.filter(person_id__in=person_ids)
        .exclude(status__in=[PersonConversion.Status.FAILED, PersonConversion.Status.COMPLETED])
        .values_list("person_id", flat=True)
    )


def retryable() -> Q:
    """Failed, or unfinished and untouched for longer than any live job leaves it (stuck)."""
    unfinished = Q(
        status__in=[
            PersonConversion.Status.PENDING,
            PersonConversion.Status.LEAD_CREATED,
            PersonConversion.Status.CONVERTED,
        ],
        updated_at__lte=timezone.now() - STALE_AFTER,
    )
    return Q(status=PersonConversion.Status.FAILED) | unfinished


def conversion_retryable_ids(*, person_id: int) -> set[int]:
    """The person's conversions the marketer may retry (the person page shows a button)."""
    return set(
        PersonConversion.objects.filter(retryable(), person_id=person_id).values_list(
            "pk", flat=True
        )
    )


def conversion_retry(*, conversion: PersonConversion) -> PersonConversion:
    """A failed or stuck conversion goes back to the queue; its recorded progress is kept, and
    the job asks Salesforce again what already happened before each step."""
    minutes = int(STALE_AFTER.total_seconds() // 60)
    with transaction.atomic():
        locked = (
            PersonConversion.objects.select_for_update()
            .filter(retryable(), pk=conversion.pk)
            .first()
        )
        if locked is None:
            raise ConversionRefused(
                "only a failed conversion, or one that has not moved for "
                f"{minutes} minutes, can be retried"
            )
        locked.status = (
            PersonConversion.Status.LEAD_CREATED if locked.lead_sfdc_id
            else PersonConversion.Status.PENDING
        )
        locked.error = ""
        try:
            with transaction.atomic():
                locked.save(update_fields=["status", "error", "updated_at"])
        except IntegrityError:
            raise ConversionRefused(
                f"{locked.person} has another conversion in progress; this one stays failed"
            ) from None
    return locked


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


@contextmanager
def conversion_lock(conversion_id: int) -> Iterator[bool]:
    """Held by the one worker running this conversion (a retried stuck conversion may still have
    a queued job); PostgreSQL drops it with a killed worker's connection."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_LOCK_CLASS, conversion_id]
        )
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_LOCK_CLASS, conversion_id]
                    )
            except DatabaseError:
                logger.warning("conversion %s: lock not released (connection lost)", conversion_id)


def conversion_run(*, conversion_id: int) -> PersonConversion:
    """Carry a conversion forward from wherever it stopped; failures are recorded, not lost."""
    with conversion_lock(conversion_id) as mine:
        conversion = PersonConversion.objects.select_related("person").get(pk=conversion_id)
        if not mine or conversion.status == PersonConversion.Status.COMPLETED:
            return conversion
        PersonConversion.objects.filter(pk=conversion.pk).update(
            attempts=F("attempts") + 1, updated_at=timezone.now()
        )
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
        except Exception as exc:
            record_failure(conversion, exc)
            raise
    return conversion


def record_step(conversion: PersonConversion, status: str, **fields: str) -> None:
    conversion.status = status
    for name, value in fields.items():
        setattr(conversion, name, value)
    conversion.save(update_fields=["status", *fields, "updated_at"])


def record_failure(conversion: PersonConversion, exc: Exception) -> None:
    """Any error (a timeout, a lost database connection, ...) shows on the person page; a broken
    connection is replaced once so the failure can still be written."""
    error = str(exc) if isinstance(exc, SalesforceError) else f"{type(exc).__name__}: {exc}"
    for _attempt in range(2):
        try:
            record_step(conversion, PersonConversion.Status.FAILED, error=error)
            return
        except DatabaseError:
            connection.close()
    logger.error("conversion %s failed and the failure could not be recorded", conversion.pk)


def person_claim(person_id: int, *, lead_id: str, contact_id: str = "") -> None:
    """Give the person row its Salesforce ids. A row a sync cycle stored them in first (it can
    run between a remote step and this write) is absorbed as the Lead sync absorbs a contact
    row made first: its data and history move to this row and it goes."""
    holders = Q(sfdc_lead_id=lead_id)
    if contact_id:
        holders |= Q(sfdc_id=contact_id)
    with transaction.atomic():
        rows = list(
            Contact.objects.select_for_update()
            .filter(holders | Q(pk=person_id))
            .order_by("pk")
            .values("pk", "sfdc_id")
        )
        others = sorted(
            (row for row in rows if row["pk"] != person_id),
            key=lambda row: row["sfdc_id"] == contact_id,
        )
        for other in others:  # the contact's row last, so its data wins over a lead row's
            person_absorb([(other["pk"], person_id)])
        link = {"sfdc_lead_id": lead_id}
        if contact_id:
            link.update(sfdc_id=contact_id, sfdc_type=Contact.SfdcType.CONTACT)
        Contact.objects.filter(pk=person_id).update(**link)


def lead_search_start(conversion: PersonConversion) -> datetime:
    """The first request for this person: an earlier failed one may have created the lead."""
    return PersonConversion.objects.filter(person_id=conversion.person_id).aggregate(
        first=Min("created_at")
    )["first"] or conversion.created_at


def ensure_lead(client: SalesforceClient, conversion: PersonConversion) -> str:
    """The person's lead in Salesforce, created first if the person is not there yet."""
    if conversion.lead_sfdc_id:
        return conversion.lead_sfdc_id
    person = conversion.person
    if not person.email:
        raise ConversionRefused(f"{person} cannot be converted: {conversion_refusal(person)}")
    fields = {
        "FirstName": person.first_name or None,
        "LastName": person.last_name,
        "Email": person.email,
        "Phone": person.phone or None,
        "Title": person.title or None,
        "Company": person.company,
    }
    lead_id = lead_find_or_create(client, fields, lead_search_start(conversion))
    crashpoint("conversion_after_lead_create")
    with transaction.atomic():
        record_step(conversion, PersonConversion.Status.LEAD_CREATED, lead_sfdc_id=lead_id)
        person_claim(person.pk, lead_id=lead_id)
    return lead_id


def mirror_locally(
    client: SalesforceClient, conversion: PersonConversion, lead_id: str, ids: ConvertedIds
) -> None:
    """The new records, read back from Salesforce so local rows match; the person stays one row.

    The person is linked to the new contact id first, so the contact's sync updates this row
    instead of creating a second person.
    """
    person_claim(conversion.person_id, lead_id=lead_id, contact_id=ids.contact_id)
    pulls = [("Account", ids.account_id), ("Contact", ids.contact_id), ("Lead", lead_id)]
    if ids.opportunity_id:
        pulls.append(("Opportunity", ids.opportunity_id))
    for object_name, sfdc_id in pulls:
        run = sync_records(object_name=object_name, sfdc_ids=[sfdc_id])
        if not run.succeeded:
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
