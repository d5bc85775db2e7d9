"""`manage.py sfdc_sandbox create|update|delete|undelete` against a running sandbox."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def run(sandbox, *args: str) -> str:
    out = StringIO()
    call_command("sfdc_sandbox", *args, state_file=sandbox.state_path, stdout=out)
    return out.getvalue().strip()


def test_create_update_delete_undelete_from_the_command_line(sandbox, sf):
    record_id = run(sandbox, "create", "Account", "Name=Command Line Co", "NumberOfEmployees=12")
    assert len(record_id) == 18 and record_id.startswith("001")
    created = sf.Account.get(record_id)
    assert created["Name"] == "Command Line Co" and created["NumberOfEmployees"] == 12
    before = created["SystemModstamp"]

    assert run(sandbox, "update", "Account", record_id, "Industry=Banking", "Website=null") == (
        f"updated Account {record_id}"
    )
    updated = sf.Account.get(record_id)
    assert updated["Industry"] == "Banking" and updated["Website"] is None
    assert updated["SystemModstamp"] > before

    assert run(sandbox, "delete", "Account", record_id) == f"deleted Account {record_id}"
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{record_id}'"
    assert sf.query(soql)["totalSize"] == 0
    assert sf.query_all(soql, include_deleted=True)["records"][0]["IsDeleted"] is True

    run(sandbox, "undelete", "Account", record_id)
    assert sf.query(soql)["records"][0]["IsDeleted"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("update", "Account", "0015g0000000999AAA", "Name=x"), "does not exist"),
        (("update", "Account", "0015g0000000001AAA", "Bogus__c=1"), "No such column"),
        (("create", "Account", "Industry=Banking"), "Required fields are missing"),
        (("delete", "Account"), "needs a record id"),
        (("update", "Account", "0015g0000000001AAA", "Name"), "expected Field=value"),
    ],
)
def test_command_errors_are_reported(sandbox, args, message):
    with pytest.raises(CommandError, match=message):
        run(sandbox, *args)


def test_command_without_a_running_sandbox(tmp_path):
    with pytest.raises(CommandError, match="no running sandbox"):
        call_command("sfdc_sandbox", "delete", "Account", "x", state_file=tmp_path / "none.json")
