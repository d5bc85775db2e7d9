"""Reading ahead: the next page is requested while the caller still holds this one."""

import threading

import pytest

from marketo_sync.sync import bulk
from marketo_sync.sync.engine import read_ahead
from tests.fixtures.sync import cycle


def test_the_next_page_is_requested_while_this_one_is_with_the_caller():
    requested: list[int] = []
    second_requested = threading.Event()

    def pages():
        for number in range(3):
            requested.append(number)
            if number == 1:
                second_requested.set()
            yield number

    ahead = read_ahead(pages())
    assert next(ahead) == 0
    assert second_requested.wait(timeout=5)
    assert requested == [0, 1]
    assert list(ahead) == [1, 2]


def test_a_failed_read_is_raised_after_the_pages_before_it():
    def pages():
        yield 0
        raise RuntimeError("INVALID_QUERY_LOCATOR")

    ahead = read_ahead(pages())
    assert next(ahead) == 0
    with pytest.raises(RuntimeError, match="INVALID_QUERY_LOCATOR"):
        next(ahead)


@pytest.mark.django_db(transaction=True)
def test_bulk_results_are_parsed_by_the_thread_that_prepares_them(sandbox, settings, monkeypatch):
    """Bulk results download ahead on their own: a reading thread as well would only contend
    for the GIL with the preparation."""
    settings.SYNC_BULK_THRESHOLD = 10
    settings.SYNC_BULK_MAX_RECORDS = 7
    settings.SYNC_BULK_POLL_SECONDS = 0.01
    parsed_in: set[str] = set()
    parse = bulk.rest_records

    def recorded(lines, field_types):
        for record in parse(lines, field_types):
            parsed_in.add(threading.current_thread().name)
            yield record

    monkeypatch.setattr(bulk, "rest_records", recorded)
    cycle(full=True)
    assert parsed_in == {"sfdc-prefetch"}
