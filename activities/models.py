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
            models.Index(fields=["activity_type", "source"], name="activity_type_source_idx"),
            models.Index(fields=["attribute"], name="activity_attribute_idx"),
        ]

    def __str__(self) -> str:
        label = self.get_activity_type_display()
        return f"{label}: {self.attribute}" if self.attribute else label
