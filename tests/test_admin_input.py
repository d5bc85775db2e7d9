"""The admin's input guard: what it refuses, and that it stays out of other paths."""

import pytest
from django.http import QueryDict

from marketo_sync.admin_input import unstorable_parameter


@pytest.mark.parametrize(
    ("name", "value"), [("q", "a\x00b"), ("q", "\ud800"), ("x\x00", "ok"), ("q", "x\udfff")]
)
def test_nul_and_lone_surrogates_are_unstorable(name, value):
    parameters = QueryDict(mutable=True)
    parameters.appendlist("p", "1")
    parameters.appendlist(name, value)
    assert unstorable_parameter(parameters) == name.replace("\x00", "?")


def test_ordinary_text_passes():
    assert unstorable_parameter(QueryDict("q=Caf%C3%A9%20%F0%9F%98%80&p=2")) is None


@pytest.mark.django_db
def test_other_paths_are_left_to_their_views(client):
    assert client.get("/healthz/?x=%00").status_code != 400


@pytest.mark.django_db
def test_the_refusal_names_the_parameter_not_its_value(admin_client):
    response = admin_client.get("/admin/accounts/account/?industry=secret%00value")
    body = response.content.decode()
    assert response.status_code == 400
    assert "industry" in body and "secret" not in body
