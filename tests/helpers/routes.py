"""Every URL the project serves, and a requestable path for each, built from real records."""

import re
from collections.abc import Iterator

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Account, PersonConversion

# Reachable without a staff login, on purpose (`metrics` answers to its bearer token instead:
# tests/test_metrics.py).
PUBLIC = {"admin/login/", "admin/logout/", "healthz/", "metrics"}

PLACEHOLDERS = {
    "queue_index": "0",
    "connection_index": "0",
    "scheduler_index": "0",
    "result_id": "result",
    "scheduler_name": "scheduler",
    "cron_job_name": "cron",
    "token": "notTheToken",
    "url": "does-not-exist/",
}
ID_PARAMETERS = ("object_id", "pk", "id")
# django-rq's statistics API (and its Prometheus view, mounted once prometheus-client is
# installed) answers 401 (a bearer token) instead of the login redirect.
TOKEN_API = {
    "admin/django_rq/dashboard/^stats.json/?$",
    "admin/django_rq/dashboard/^stats.json/(?P<token>[\\w]+)?/?$",
    "admin/django_rq/dashboard/^metrics/?$",
}


def walk(patterns: list, prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def expand(route: str) -> list[str]:
    """The admin's app index route (`(?P<app_label>auth|accounts|...)`) once per app."""
    match = re.search(r"\(\?P<app_label>([\w|]+)\)", route)
    if match is None:
        return [route]
    return [route.replace(match.group(0), label) for label in match.group(1).split("|")]


ROUTES = sorted(
    {expanded for route in walk(get_resolver().url_patterns) for expanded in expand(route)}
    - PUBLIC
)

# Routes whose id is not one of the model their admin lives under.
ID_OWNERS: dict[str, type[Model]] = {
    "admin/r/<path:content_type_id>/<path:object_id>/": Account,
    "admin/accounts/contact/conversions/<int:pk>/retry/": PersonConversion,
}


def concrete(route: str, records: dict[type[Model], Model], values: dict[str, str]) -> str:
    """A requestable path for a route: ids of real records, every other parameter filled in."""
    owner = ids_owner(route)
    values = {**PLACEHOLDERS, **values}
    if owner in records:
        values.update(dict.fromkeys(ID_PARAMETERS, str(records[owner].pk)))
        values["content_type_id"] = str(ContentType.objects.get_for_model(owner).pk)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)\??", lambda m: values.get(m.group(1), "1"), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), path)
    path = path.replace("^", "").replace("$", "").replace("/?", "/").replace("\\", "")
    return "/" + path


def ids_owner(route: str) -> type[Model] | None:
    """The model whose admin the route lives under (an id in it is that model's), unless
    `ID_OWNERS` names another."""
    if route in ID_OWNERS:
        return ID_OWNERS[route]
    for model in admin.site._registry:
        if route.startswith(f"admin/{model._meta.app_label}/{model._meta.model_name}/"):
            return model
    return None
