import pytest

from marketo_sync.salesforce.errors import SalesforceRequestError
from marketo_sync.sync.bulk import rest_records, wait_for_job


@pytest.fixture
def slept(monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr("marketo_sync.sync.bulk.time.sleep", delays.append)
    return delays


def states(*names):
    answers = iter(names)
    return lambda: {"state": next(answers)}


def test_a_job_is_polled_soon_then_at_doubling_intervals_up_to_the_setting(slept):
    wait_for_job(states("UploadComplete", "InProgress", "InProgress", "InProgress",
                        "InProgress", "JobComplete"), poll_seconds=2.0)
    assert slept == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_a_poll_interval_below_the_first_poll_is_kept(slept):
    wait_for_job(states("InProgress", "JobComplete"), poll_seconds=0.01)
    assert slept == [0.01, 0.01]


@pytest.mark.parametrize("state", ["Aborted", "Failed"])
def test_a_failed_job_is_an_error_naming_why(slept, state):
    with pytest.raises(SalesforceRequestError) as raised:
        wait_for_job(lambda: {"state": state, "errorMessage": "the query timed out"}, 2.0)
    assert raised.value.error_code == "BULK_JOB_FAILED"
    assert "the query timed out" in str(raised.value)


def test_bulk_cells_read_as_the_rest_api_sends_them():
    lines = [
        "Id,Name,IsActive,NumberOfEmployees,AnnualRevenue,SystemModstamp,Unknown\n",
        '001A,"Acme, Inc.",true,12.0,1.5,2026-11-24T21:19:53.000Z,x\n',
        "001B,,false,,,2026-11-24T21:19:53Z,\n",
    ]
    types = {"Id": "id", "Name": "string", "IsActive": "boolean", "NumberOfEmployees": "int",
             "AnnualRevenue": "currency", "SystemModstamp": "datetime"}
    assert list(rest_records(lines, types)) == [
        {"Id": "001A", "Name": "Acme, Inc.", "IsActive": True, "NumberOfEmployees": 12,
         "AnnualRevenue": 1.5, "SystemModstamp": "2026-11-24T21:19:53.000+0000",
         "Unknown": "x"},
        {"Id": "001B", "Name": None, "IsActive": False, "NumberOfEmployees": None,
         "AnnualRevenue": None, "SystemModstamp": "2026-11-24T21:19:53.000+0000",
         "Unknown": None},
    ]
