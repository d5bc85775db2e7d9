"""Admin building blocks shared by the apps' admin modules."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property


def staff_user(request: HttpRequest) -> User:
    """The user of an admin request: the admin site serves only logged-in staff."""
    assert isinstance(request.user, User)
    return request.user


class ReadOnlyAdminMixin:
    """Mirrored from Salesforce or written by the sync: shown, never added, changed or deleted."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def whole_table(queryset: QuerySet) -> bool:
    """True when the query selects every row of its table (no WHERE, DISTINCT, slice or union).

    Joins from `select_related` follow foreign keys and never change the row count.
    """
    query = queryset.query
    return not (
        query.where
        or query.distinct
        or query.combinator
        or query.is_sliced
        or query.group_by
        or queryset.model._meta.proxy
    )


def planner_row_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's `pg_class.reltuples` for the table; None on other databases.

    A partitioned table (the activity log) has no figure of its own (autovacuum never analyzes
    it), so its partitions' figures are summed. A table never analyzed since it was created or
    emptied by TRUNCATE (a first full sync, before autovacuum gets to it) has no figure either:
    the planner's own guess from its size on disk stands in, never a count of every row.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT CASE WHEN c.relkind = 'p' THEN (
                SELECT sum(p.reltuples) FILTER (WHERE p.reltuples >= 0)
                FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
                WHERE i.inhparent = c.oid
            ) ELSE c.reltuples END
            FROM pg_class c WHERE c.oid = to_regclass(%s)
            """,
            [table],
        )
        row = cursor.fetchone()
        if row is not None and row[0] is not None and row[0] >= 0:
            return int(row[0])
        cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {table}")  # noqa: S608 - quoted
        plan = cursor.fetchone()[0]
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(queryset: QuerySet, limit: int) -> int:
    """Rows counted up to `limit`: cheap proof that a table is small whatever its statistics say."""
    return queryset.order_by().values("pk")[:limit].count()


class EstimatedCountPaginator(Paginator):
    """Counts exactly when filtered or small; uses the planner's estimate for a whole big table.

    Django's changelist counts the whole table on every page (`paginator.count`), which on
    200,000 people or a fast-growing activity log is the slowest query of the page. An
    unfiltered list only needs a page count that is about right; filtered lists stay exact (see
    `BoundedCountPaginator` for a table where they may not).
    """

    # A filtered list counted only up to the threshold (one past it), as "more than" it.
    bounded_when_filtered = False

    @cached_property
    def counted(self) -> tuple[int, bool]:
        """(rows, whether that is not an exact count: the planner's estimate, or one more
        than the threshold for a filtered list counted only that far)."""
        if not isinstance(self.object_list, QuerySet):
            return super().count, False
        threshold = settings.ADMIN_COUNT_ESTIMATE_THRESHOLD
        if not whole_table(self.object_list):
            if not self.bounded_when_filtered:
                return super().count, False
            rows = bounded_count(self.object_list, threshold + 1)
            return rows, rows > threshold
        rows = bounded_count(self.object_list, threshold)
        if rows < threshold:
            return rows, False
        estimate = planner_row_estimate(self.object_list)
        if estimate is None:
            return self.object_list.count(), False
        return max(estimate, threshold), True

    @cached_property
    def count(self) -> int:
        return self.counted[0]

    @property
    def estimated(self) -> bool:
        return self.counted[1]

    @property
    def more_than(self) -> int | None:
        """The threshold, when a filtered list has more rows than it and was counted no further."""
        filtered = isinstance(self.object_list, QuerySet) and not whole_table(self.object_list)
        if self.estimated and filtered:
            return self.count - 1
        return None

    def validate_number(self, number: Any) -> int:
        """An estimate may be a little short: pages past it are served (empty) instead of 404."""
        if not self.estimated:
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from exc
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def page(self, number: Any) -> Page:
        if not self.estimated:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return Page(self.object_list[bottom : bottom + self.per_page], number, self)


class KeysFirstPaginator(EstimatedCountPaginator):
    """Reads a page's keys from the sorted matches first, then only those rows with their joins.

    A list whose matches are sorted (rather than read in an index's order) otherwise carries
    every column of every match, and of its joined rows, through the sort: with 22,000 matches
    that is most of the page's time. The keys are sorted narrow; the page's rows are then found
    by primary key, in the same statement.
    """

    def page(self, number: Any) -> Page:
        page = super().page(number)
        assert isinstance(self.object_list, QuerySet) and isinstance(page.object_list, QuerySet)
        keys = page.object_list.values("pk")  # still sliced and ordered: a LIMIT subquery
        page.object_list = self.object_list.filter(pk__in=keys)
        return page


class BoundedCountPaginator(EstimatedCountPaginator):
    """For a table that grows without bound (the activity log): a filter may still match most of
    it (one activity type is nearly all rows), so filtered lists are counted only up to the
    threshold too, shown as "more than" it, and later pages are still served."""

    bounded_when_filtered = True
