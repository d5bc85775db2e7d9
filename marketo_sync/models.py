"""Abstract base shared by every model that mirrors a Salesforce object."""

from django.db import models

from marketo_sync.fields import SalesforceIdField
from marketo_sync.salesforce.ids import ID_18_REGEX


class SalesforceRecord(models.Model):
    """Columns every synced model carries, whatever its Salesforce object.

    `custom_fields` keeps whatever Salesforce sends that has no column here (custom and formula
    fields included), so a field added in Salesforce is kept rather than dropped.
    """

    sfdc_last_modified = models.DateTimeField(
        "Salesforce SystemModstamp", null=True, blank=True, db_index=True
    )
    # Indexed by `deleted_rows_index` in each model: only the deleted rows.
    is_deleted = models.BooleanField("deleted in Salesforce", default=False)
    custom_fields = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # The sync run that last wrote the row: a full read tells the rows it wrote from the ones it
    # never saw without noting their ids. A number, not a foreign key: runs are the sync app's.
    synced_by_run = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


def sfdc_id_shape_constraint(model_name: str, field: str = "sfdc_id") -> models.CheckConstraint:
    """Database-level guard: a stored Salesforce id is always the 18-character form (or null)."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__isnull": True})
        | models.Q(**{f"{field}__regex": ID_18_REGEX}),
        name=f"{model_name}_{field}_is_18_chars",
    )


def deleted_rows_index(model_name: str) -> models.Index:
    """An index of the rows deleted in Salesforce alone, which the "deleted" filters look for.

    An index of every row's flag never serves the common `is_deleted = false` (most rows), yet
    costs every row a sync writes an index entry.
    """
    return models.Index(
        fields=["is_deleted"], condition=models.Q(is_deleted=True), name=f"{model_name}_deleted_idx"
    )


def edited_rows_index(model_name: str) -> models.Index:
    """The rows a user edited locally, by user: what deleting a user updates (`SET_NULL`); an
    index of the foreign key on every row would mostly hold nulls, written by every sync."""
    return models.Index(
        fields=["locally_edited_by"], condition=models.Q(locally_edited_by__isnull=False),
        name=f"{model_name}_edited_by_idx",
    )


__all__ = [
    "SalesforceIdField", "SalesforceRecord", "deleted_rows_index", "edited_rows_index",
    "sfdc_id_shape_constraint",
]
