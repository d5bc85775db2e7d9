"""RQ jobs for accounts: thin wrappers taking ids, enqueued by dotted path like every job."""

import django_rq
from django.db import transaction

from accounts.conversion import JOB_TIMEOUT_SECONDS, conversion_run


def run_person_conversion(conversion_id: int) -> str:
    return conversion_run(conversion_id=conversion_id).status


def enqueue_person_conversion(conversion_id: int) -> None:
    """After the request's transaction commits, so the worker sees the conversion record."""
    transaction.on_commit(
        lambda: django_rq.get_queue("default").enqueue(
            "accounts.jobs.run_person_conversion",
            conversion_id,
            job_timeout=JOB_TIMEOUT_SECONDS,
            result_ttl=86400,
        )
    )
