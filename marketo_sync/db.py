"""Set-based SQL helpers shared by the apps: rows moved and re-pointed in statements, not loops."""

from django.db import connection, models
from django.db.models import ForeignObjectRel

from marketo_sync.fields import concrete_field


def quoted_table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def quoted_column(field: models.Field | ForeignObjectRel) -> str:
    """The quoted column of a concrete field (a reverse relation has none)."""
    assert isinstance(field, models.Field) and field.column is not None
    return connection.ops.quote_name(field.column)


def distinct_values(model: type[models.Model], field_name: str) -> list[str]:
    """The non-empty values of an indexed text column, in order, one index probe per value.

    A "loose index scan" (a recursive query that asks the index for the next value above the
    last one): `SELECT DISTINCT` reads every row instead, and a filter's choices are read on
    every page of its list.
    """
    table = quoted_table(model)
    column = quoted_column(model._meta.get_field(field_name))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE found(value) AS (
                (SELECT {column} FROM {table} WHERE {column} > '' ORDER BY {column} LIMIT 1)
                UNION ALL
                SELECT (SELECT {column} FROM {table} WHERE {column} > found.value
                        ORDER BY {column} LIMIT 1)
                FROM found WHERE found.value IS NOT NULL
            )
            SELECT value FROM found WHERE value IS NOT NULL
            """  # noqa: S608 - identifiers from model metadata
        )
        return [row[0] for row in cursor.fetchall()]


def reassign_related(model: type[models.Model], pairs: list[tuple[int, int]]) -> None:
    """Point everything that references a loser row at its survivor: one UPDATE per relation.

    Walks the model's reverse foreign keys, so a relation added later moves too.
    """
    if not pairs:
        return
    losers, survivors = (list(column) for column in zip(*pairs, strict=True))
    for relation in model._meta.related_objects:
        if not relation.one_to_many:  # reverse side of a ForeignKey
            continue
        table = quoted_table(relation.related_model)
        column = quoted_column(relation.field)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {table} AS r SET {column} = v.survivor
                FROM unnest(%s::bigint[], %s::bigint[]) AS v(loser, survivor)
                WHERE r.{column} = v.loser
                """,  # noqa: S608 - identifiers from model metadata
                [losers, survivors],
            )


def column_has_statistics(model: type[models.Model], field_name: str) -> bool:
    """Whether the planner has statistics for this column (an ANALYZE has sampled it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() "
            "AND tablename = %s AND attname = %s)",
            [model._meta.db_table, concrete_field(model, field_name).column],
        )
        return bool(cursor.fetchone()[0])


def analyze_column(model: type[models.Model], field_name: str) -> None:
    """Sample one column for the planner (a fifth of the cost of the whole table's ANALYZE);
    skipped when another ANALYZE or a VACUUM holds the table, which gives the same."""
    column = quoted_column(concrete_field(model, field_name))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE (SKIP_LOCKED) {quoted_table(model)} ({column})")
