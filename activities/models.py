"""The activity log: what happened to a person, as Marketo shows it on the person's timeline."""

from django.conf import settings
from django.db import models


class Activity(models.Model):
    """One entry on a person's timeline.

    For `change_data_value`, `attribute` is the Salesforce field API name and the values are
    Salesforce's JSON representation as text (null stored as empty).
    """

    class Type(models.TextChoices):
        CHANGE_DATA_VALUE = "change_data_value", "Change Data Value"
        CONVERT_PERSON = "convert_person", "Convert Person"
        MERGE = "merge", "Merged"
        DELETED = "deleted", "Deleted in Salesforce"

    class Source(models.TextChoices):
        SFDC_SYNC = "sfdc_sync", "Salesforce sync"
        LOCAL_EDIT = "local_edit", "Local edit"
        FLOW = "flow", "Flow step"

    contact = models.ForeignKey(
        "accounts.Contact", on_delete=models.PROTECT, related_name="activities"
    )
    activity_type = models.CharField(max_length=32, choices=Type.choices)
    attribute = models.CharField(max_length=255, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    reason = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    created_at = models.DateTimeField(db_index=True)
    sync_run = models.ForeignKey(
        "sync.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["contact", "-created_at"], name="activity_timeline_idx"),
            # the activity log filtered by person and type: counted and paged from the index,
            # without reading the person's other activities
            models.Index(
                fields=["contact", "activity_type", "-created_at"],
                name="activity_contact_type_idx",
            ),
            models.Index(fields=["activity_type", "source"], name="activity_type_source_idx"),
            models.Index(fields=["attribute"], name="activity_attribute_idx"),
        ]

    def __str__(self) -> str:
        label = self.get_activity_type_display()
        return f"{label}: {self.attribute}" if self.attribute else label


class AccountHistory(models.Model):
    """One change of one synced account field, recorded once per account.

    Unlike Change Data Value activities (one per contact, none above `ACTIVITY_CONTACT_LIMIT`
    contacts), every account gets these rows, so a change to a very large account leaves a trace
    too. A record's first arrival is the baseline and writes none; a delete or undelete writes
    one `IsDeleted` row.
    """

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="history"
    )
    attribute = models.CharField(max_length=255)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=Activity.Source.choices)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()
    sync_run = models.ForeignKey(
        "sync.SyncRun", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="account_history",
    )
    sfdc_modstamp = models.DateTimeField(
        null=True, blank=True, help_text="The Salesforce SystemModstamp of the update."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activities_skipped = models.BooleanField(
        default=False,
        help_text="The account had more contacts than the activity limit, so no Change Data "
        "Value activity was logged for this change.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "account history entry"
        verbose_name_plural = "account history"
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="account_history_idx"),
            models.Index(
                fields=["sync_run"], name="account_history_skipped_idx",
                condition=models.Q(activities_skipped=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attribute}: {self.old_value} → {self.new_value}"
