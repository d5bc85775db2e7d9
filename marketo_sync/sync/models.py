"""Sync state is data: per object a watermark, per run a record, per failing record an error."""

from django.db import models


class SalesforceObject(models.TextChoices):
    USER = "User", "User"
    ACCOUNT = "Account", "Account"
    CONTACT = "Contact", "Contact"
    LEAD = "Lead", "Lead"
    OPPORTUNITY = "Opportunity", "Opportunity"


class SyncState(models.Model):
    """Where the incremental pull of one Salesforce object stands.

    The watermark `(modstamp, last_id)` is written in the same transaction as the page it covers,
    so a crash anywhere resumes without loss or duplicates.
    """

    object_name = models.CharField(max_length=40, choices=SalesforceObject.choices, unique=True)
    modstamp = models.DateTimeField("watermark SystemModstamp", null=True, blank=True)
    last_id = models.CharField("watermark Id", max_length=18, blank=True)
    last_full_at = models.DateTimeField(null=True, blank=True)
    last_reconcile_at = models.DateTimeField(null=True, blank=True)
    last_formula_refresh_at = models.DateTimeField(null=True, blank=True)
    last_describe_at = models.DateTimeField(null=True, blank=True)
    describe = models.JSONField(
        "cached describe", default=dict, blank=True, help_text="Field list from describe."
    )
    backlog = models.IntegerField(
        null=True, blank=True, help_text="totalSize of the last incremental query."
    )
    filled_fields = models.JSONField(
        "fields filled on every row", default=list, blank=True,
        help_text="The mapped Salesforce fields as of the last complete full read: every stored "
        "row has their columns. A field mapped since is filled by a full read (see the cycle).",
    )
    paused = models.BooleanField(default=False)
    paused_reason = models.CharField(max_length=255, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.CharField(
        max_length=150, blank=True,
        help_text="Who paused: a user name (admin), or the operator of `sync_sfdc --pause`.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["object_name"]
        verbose_name = "sync state"

    def __str__(self) -> str:
        return f"{self.object_name} @ {self.modstamp or 'start'}"


class SyncRun(models.Model):
    """One pull of one object (or one whole cycle when `object_name` is blank)."""

    class Mode(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"
        RECONCILE = "reconcile", "Reconcile"
        FORMULA = "formula", "Formula refresh"
        RECORDS = "records", "Selected records"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"
        PAUSED = "paused", "Paused"

    object_name = models.CharField(max_length=40, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    activities_logged = models.PositiveIntegerField(default=0)
    accounts_skipped_activity_limit = models.PositiveIntegerField(
        "accounts over the activity limit", default=0
    )
    local_edits_overwritten = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField("records quarantined", default=0)
    api_calls = models.PositiveIntegerField(default=0)
    api_used = models.PositiveIntegerField(null=True, blank=True)
    api_limit = models.PositiveIntegerField(null=True, blank=True)
    backlog = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    note = models.CharField(
        max_length=255, blank=True, help_text="Why this run did what it did, when not routine."
    )
    watermark_modstamp = models.DateTimeField(null=True, blank=True)
    watermark_id = models.CharField(max_length=18, blank=True)
    job_id = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveBigIntegerField(
        "cycle generation", null=True, blank=True,
        help_text="The CycleFence generation this run writes under; blank for re-syncs of "
        "selected records, which are not fenced.",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [
            ("run_sync", "Can start a Salesforce sync now"),
            ("pause_sync", "Can pause and resume the Salesforce sync"),
        ]
        indexes = [models.Index(fields=["object_name", "-started_at"], name="syncrun_object_idx")]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} {self.object_name or 'cycle'} ({self.status})"

    @property
    def succeeded(self) -> bool:
        return self.status == self.Status.SUCCESS


class SyncError(models.Model):
    """A record that could not be applied; retried on later cycles until fixed or dismissed."""

    object_name = models.CharField(max_length=40)
    sfdc_id = models.CharField("Salesforce ID", max_length=18)
    message = models.TextField()
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="record_errors"
    )
    attempts = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    next_try_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    dismissed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-last_seen_at"]
        permissions = [("dismiss_syncerror", "Can dismiss sync errors (stop retrying the record)")]
        constraints = [
            models.UniqueConstraint(
                fields=["object_name", "sfdc_id"], name="one_error_row_per_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_name} {self.sfdc_id}: {self.message[:60]}"


class SyncPartition(models.Model):
    """One id range of a partitioned full read, worked by whichever worker claims it first.

    Several RQ workers share one object's full sync this way inside a cycle. A claim is renewed
    after every page, so a partition whose worker died is claimed again once its heartbeat is
    older than the lock TTL; re-reading it is safe because applying a page twice is a no-op.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        PAUSED = "paused", "Paused (API limit)"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="partitions")
    first_id = models.CharField("from Id (inclusive)", max_length=18, blank=True)
    end_id = models.CharField("to Id (exclusive)", max_length=18, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    highest_modstamp = models.DateTimeField(null=True, blank=True)
    highest_id = models.CharField(max_length=18, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "first_id"]

    def __str__(self) -> str:
        return f"{self.run} [{self.first_id or 'start'}, {self.end_id or 'end'}) {self.status}"


class StreamState(models.Model):
    """One Change Data Capture channel: the replay id to resume from and how the stream is doing.

    The replay id is committed in the same transaction as the pending ids its events named, so a
    listener killed anywhere resumes without losing or doubling a trigger.
    """

    channel = models.CharField(max_length=80, unique=True)
    replay_id = models.BigIntegerField(null=True, blank=True)
    connected = models.BooleanField(default=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    events_received = models.BigIntegerField(default=0)
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_lag_seconds = models.FloatField(
        null=True, blank=True, help_text="From the Salesforce commit to the local re-sync commit."
    )
    last_fallback_at = models.DateTimeField(null=True, blank=True)
    last_fallback_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["channel"]
        verbose_name = "change stream"

    def __str__(self) -> str:
        return f"{self.channel} @ {self.replay_id}"


class PendingChange(models.Model):
    """Outbox row: ids that change events named, waiting for the re-sync job to read them."""

    object_name = models.CharField(max_length=40, choices=SalesforceObject.choices)
    sfdc_ids = models.JSONField(default=list)
    committed_at = models.DateTimeField(
        null=True, blank=True, help_text="Salesforce commit time of the newest change named."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["object_name", "id"])]

    def __str__(self) -> str:
        return f"{self.object_name}: {len(self.sfdc_ids)} ids"


class RecordCheck(models.Model):
    """The last time one record was read from Salesforce on request (Re-sync, Convert Person's
    read-back) and what came of it, so the record's page can say whether it worked."""

    class Result(models.TextChoices):
        UPDATED = "updated", "Updated from Salesforce"
        UNCHANGED = "unchanged", "Unchanged: the local copy was up to date"
        FAILED = "failed", "Failed"
        MISSING = "missing", "Not found in Salesforce"

    object_name = models.CharField(max_length=40)
    sfdc_id = models.CharField("Salesforce ID", max_length=18)
    checked_at = models.DateTimeField()
    result = models.CharField(max_length=16, choices=Result.choices)
    message = models.TextField(blank=True)
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["object_name", "sfdc_id"], name="one_check_per_record")
        ]

    def __str__(self) -> str:
        return f"{self.object_name} {self.sfdc_id}: {self.get_result_display()}"


class CycleFence(models.Model):
    """The fencing token of the cycle lock: one row, its generation bumped at every acquisition.

    The Redis lock can expire under a worker that is merely paused (a stopped VM, a long GC, a
    partition from Redis only). Every write transaction of a cycle therefore share-locks this row
    and compares the generation it started under, so a stale cycle's commit fails whatever Redis
    says. The holder's identity lets the next cycle break the lock of a worker that is provably
    dead instead of waiting out the TTL.
    """

    generation = models.PositiveBigIntegerField(default=0)
    lock_token = models.CharField(max_length=64, blank=True)
    holder_host = models.CharField(max_length=255, blank=True)
    holder_boot_id = models.CharField(max_length=64, blank=True)
    holder_pid_namespace = models.CharField(max_length=64, blank=True)
    holder_pid = models.PositiveIntegerField(null=True, blank=True)
    holder_started = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Process start time, in clock ticks after boot."
    )
    acquired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "cycle fence"

    def __str__(self) -> str:
        return f"generation {self.generation} ({self.holder_host} pid {self.holder_pid})"
