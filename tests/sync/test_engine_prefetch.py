"""Reading ahead: the next page is requested while the caller still holds this one."""

import threading

import pytest

from marketo_sync.sync.engine import read_ahead


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
