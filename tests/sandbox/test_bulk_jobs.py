"""Bulk API 2.0 query jobs as Salesforce reports them: the URL's version, the CSV format the
create request asked for, jobType, and the job list."""

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.helpers.salesforce import error_body


def create_job(sf, version: str = "59.0", **options) -> dict:
    body = {"operation": "query", "query": "SELECT Id, Name FROM Account"} | options
    if version == sf.sf_version:
        return sf.restful("jobs/query", method="POST", json=body)
    response = sf.session.post(
        f"https://{sf.sf_instance}/services/data/v{version}/jobs/query",
        json=body, headers=sf.headers, timeout=10,
    )
    assert response.status_code == 200
    return response.json()


def complete(sf, job_id: str) -> dict:
    sf.restful(f"jobs/query/{job_id}")
    return sf.restful(f"jobs/query/{job_id}")


@pytest.mark.parametrize("version", ["57.0", "59.0", "62.0"])
def test_api_version_is_the_urls(sf, version):
    job = create_job(sf, version)
    assert job["apiVersion"] == float(version)


def test_create_answers_with_the_requested_format_and_info_adds_job_type(sf):
    job = create_job(sf, columnDelimiter="SEMICOLON", lineEnding="CRLF", contentType="CSV")
    assert (job["contentType"], job["columnDelimiter"], job["lineEnding"]) == (
        "CSV", "SEMICOLON", "CRLF"
    )
    assert job["state"] == "UploadComplete" and "jobType" not in job
    info = complete(sf, job["id"])
    assert info["jobType"] == "V2Query" and info["state"] == "JobComplete"
    assert info["columnDelimiter"] == "SEMICOLON" and info["lineEnding"] == "CRLF"


@pytest.mark.parametrize(("delimiter", "character"), [("TAB", "\t"), ("PIPE", "|")])
@pytest.mark.parametrize(("ending", "terminator"), [("LF", "\n"), ("CRLF", "\r\n")])
def test_results_use_the_delimiter_and_line_ending_asked_for(
    sf, delimiter, character, ending, terminator
):
    job = create_job(sf, columnDelimiter=delimiter, lineEnding=ending)
    complete(sf, job["id"])
    response = sf.session.get(
        f"{sf.bulk2_url}query/{job['id']}/results", headers=sf.headers, timeout=10
    )
    text = response.text
    lines = text.split(terminator)
    assert lines[-1] == "" and all("\n" not in line and "\r" not in line for line in lines)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=character))
    assert rows[0] == ["Id", "Name"]
    names = {r["Name"] for r in sf.query("SELECT Name FROM Account")["records"]}
    assert {row[1] for row in rows[1:]} == names


@pytest.mark.parametrize(
    "options",
    [{"columnDelimiter": "SPACE"}, {"lineEnding": "CR"}, {"contentType": "JSON"}],
)
def test_unknown_formats_are_refused(sf, options):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        create_job(sf, **options)
    assert error_body(excinfo.value)[0]["errorCode"] == "INVALIDJOB"


def test_get_jobs_lists_the_query_jobs(sf):
    first = create_job(sf)["id"]
    second = create_job(sf, columnDelimiter="TAB")["id"]
    complete(sf, first)
    listing = sf.restful("jobs/query")
    assert listing["done"] is True and listing["nextRecordsUrl"] is None
    by_id = {job["id"]: job for job in listing["records"]}
    assert by_id[first]["state"] == "JobComplete"
    assert by_id[second]["state"] == "UploadComplete"
    assert by_id[second]["columnDelimiter"] == "TAB"
    assert {job["jobType"] for job in listing["records"]} == {"V2Query"}


def test_simple_salesforce_bulk_query_still_reads_its_pages(sf):
    (page,) = sf.bulk2.Account.query("SELECT Name FROM Account", wait=0.1)
    assert page.splitlines()[0] == '"Name"'
