"""Request values the admin cannot use are refused with a 400 before any view sees them.

A NUL character or a lone surrogate reaches PostgreSQL through a list filter or a search and
fails there (a 500, whose DEBUG page shows the environment); an action's selected ids or index
that are not ids fail in Django's action code, and a date hierarchy's year of 30 digits in
Django's changelist. One middleware checks every parameter of every
admin request, so a filter or view added later is covered without anyone remembering to.
"""

import re
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse

# What PostgreSQL cannot store in text: NUL, and UTF-16 surrogates (never valid on their own).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A date hierarchy's year, month or day; Django turns a longer number into a C long and fails.
DATE_PART = re.compile(r"\d{1,4}")
BAD_REQUEST = 400


def unstorable_parameter(parameters: QueryDict) -> str | None:
    """The first parameter whose name or a value PostgreSQL could not store."""
    for name, values in parameters.lists():
        if UNSTORABLE.search(name) or any(UNSTORABLE.search(value) for value in values):
            return UNSTORABLE.sub("?", name)
    return None


def malformed_action_parameter(request: HttpRequest, model_admin: Any) -> str | None:
    """`_selected_action` values that are not ids of the model, or an `index` not a number."""
    if request.method != "POST" or model_admin is None:
        return None
    primary_key = model_admin.model._meta.pk
    for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
        try:
            primary_key.to_python(value)
        except ValidationError:
            return helpers.ACTION_CHECKBOX_NAME
    if not request.POST.get("index", "0").isdigit():
        return "index"
    return None


def malformed_date_hierarchy(request: HttpRequest, model_admin: Any) -> str | None:
    field = getattr(model_admin, "date_hierarchy", None)
    if not field:
        return None
    for part in ("year", "month", "day"):
        name = f"{field}__{part}"
        if any(not DATE_PART.fullmatch(value) for value in request.GET.getlist(name)):
            return name
    return None


def bad_request(request: HttpRequest, parameter: str) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Bad request",
        "parameter": parameter,
    }
    return render(request, "admin/bad_request.html", context, status=BAD_REQUEST)


class AdminInputMiddleware:
    """Answers 400 in the admin's layout for an admin request carrying an unusable value."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        if not request.path.startswith(reverse("admin:index")):
            return None
        model_admin = getattr(view_func, "model_admin", None)
        parameter = (
            unstorable_parameter(request.GET)
            or (request.method == "POST" and unstorable_parameter(request.POST))
            or malformed_action_parameter(request, model_admin)
            or malformed_date_hierarchy(request, model_admin)
        )
        return bad_request(request, parameter) if parameter else None
