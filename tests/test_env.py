"""The typed environment readers: defaults, strict parsing, one-line errors, the registry."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from marketo_sync import env


@pytest.fixture(autouse=True)
def own_registry(monkeypatch):
    """These tests read made-up names; the process's registry of real settings stays intact."""
    monkeypatch.setattr(env, "variables_read", set())


def refused(reader, *args, **kwargs) -> str:
    with pytest.raises(ImproperlyConfigured) as caught:
        reader("MS_VALUE", *args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("MS_VALUE ")
    return message


def test_unset_and_empty_mean_the_default_and_are_recorded(monkeypatch):
    monkeypatch.delenv("MS_VALUE", raising=False)
    assert env.env_int("MS_VALUE", 7) == 7
    monkeypatch.setenv("MS_OTHER", "")
    assert env.env_float("MS_OTHER", 1.5) == 1.5
    assert env.variables_read == {"MS_VALUE", "MS_OTHER"}


@pytest.mark.parametrize(
    ("reader", "text", "expected"),
    [
        (env.env_bool, "yes", True),
        (env.env_bool, "0", False),
        (env.env_int, " 42 ", 42),
        (env.env_float, "0.25", 0.25),
        (env.env_list, "a, b,,c", ["a", "b", "c"]),
        (env.env_str, "text", "text"),
    ],
)
def test_values_are_parsed(monkeypatch, reader, text, expected):
    monkeypatch.setenv("MS_VALUE", text)
    assert reader("MS_VALUE", "") == expected


@pytest.mark.parametrize(
    ("reader", "text", "kwargs", "message"),
    [
        (env.env_bool, "maybe", {}, "must be a boolean (1/0, true/false), got 'maybe'"),
        (env.env_int, "abc", {}, "must be an integer, got 'abc'"),
        (env.env_int, "1.5", {}, "must be an integer, got '1.5'"),
        (env.env_int, "-1", {"minimum": 0}, "must be an integer >= 0, got -1"),
        (env.env_float, "abc", {}, "must be a number, got 'abc'"),
        (env.env_float, "nan", {}, "must be a number, got 'nan'"),
        (env.env_float, "inf", {}, "must be a number, got 'inf'"),
        (env.env_float, "0", {"minimum": 0.5}, "must be a number >= 0.5, got 0.0"),
        (env.env_choice, "loud", {"choices": ("INFO", "DEBUG")}, "one of INFO, DEBUG"),
        (env.env_str, "x y", {"pattern": r"\w+", "expected": "a word"}, "must be a word"),
        (env.env_list, "a:b,c", {"pattern": r"\w+:\w+", "expected": "k:v"}, "item 'c'"),
    ],
)
def test_bad_values_are_refused_in_one_line(monkeypatch, reader, text, kwargs, message):
    monkeypatch.setenv("MS_VALUE", text)
    default = {env.env_bool: False, env.env_int: 0, env.env_float: 0.0}.get(reader, "")
    assert message in refused(reader, default, **kwargs)


def test_a_long_bad_value_is_shortened(monkeypatch):
    monkeypatch.setenv("MS_VALUE", "x" * 500)
    assert len(refused(env.env_int, 0)) < 120


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not-a-url", "got a value with no scheme"),
        ("file:///etc/passwd", "got a value with the scheme 'file'"),
        ("http://login.example.com", "got a value with the scheme 'http'"),
        ("https://", "got a value without a host"),
        ("https://login.example.com:port", "does not parse as a URL"),
    ],
)
def test_urls_need_an_allowed_scheme_and_a_host(monkeypatch, text, message):
    monkeypatch.setenv("MS_VALUE", text)
    refusal = refused(env.env_url, "", schemes=("https",))
    assert "must be a URL with a host and the scheme https" in refusal
    assert message in refusal


def test_credentials_in_a_url_are_refused_without_printing_them(monkeypatch):
    monkeypatch.setenv("MS_VALUE", "https://someone:hunter2secret@login.example.com")
    refusal = refused(env.env_url, "", schemes=("https",))
    assert "must not carry credentials" in refusal
    assert "hunter2secret" not in refusal and "someone" not in refusal


def test_urls_that_may_carry_credentials(monkeypatch):
    url = "postgres://app:pw@db.example:5432/app"
    monkeypatch.setenv("MS_VALUE", url)
    assert env.env_url("MS_VALUE", "", schemes=("postgres",), allow_credentials=True) == url
    monkeypatch.setenv("MS_VALUE", "mysql://app:pw@db.example/app")
    assert "pw" not in refused(env.env_url, "", schemes=("postgres",), allow_credentials=True)
