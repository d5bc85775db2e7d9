"""Refusals a user can act on: every 403 is an admin page naming the permission that is missing.

Views that check a permission of their own raise `MissingPermission`; on a ModelAdmin's standard
pages (list, add, change, delete, history) the missing permission follows from the page itself.
"""

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# A standard admin page's URL name ends with one of these; the permission it needs.
PAGE_PERMISSIONS = {
    "changelist": "view", "history": "view", "add": "add", "change": "change", "delete": "delete",
}


class MissingPermission(PermissionDenied):
    """Refused for lack of `permission` ("app_label.codename")."""

    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission


def standard_page_permission(request: HttpRequest) -> str | None:
    """The permission a ModelAdmin's standard page needs, as "app_label.codename"."""
    match = request.resolver_match
    model_admin = getattr(getattr(match, "func", None), "model_admin", None)
    if match is None or model_admin is None or not match.url_name:
        return None
    action = PAGE_PERMISSIONS.get(match.url_name.rsplit("_", 1)[-1])
    if action is None:
        return None
    opts = model_admin.model._meta
    if action == "change" and not request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        action = "view"  # a page showing the record: viewing it is what is missing first
    return f"{opts.app_label}.{action}_{opts.model_name}"


def permission_label(permission: str) -> str:
    app_label, _, codename = permission.partition(".")
    name = (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .values_list("name", flat=True)
        .first()
    )
    return f"“{name}” ({permission})" if name else permission


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: the admin's layout, with the sentence saying what to ask for."""
    permission = getattr(exception, "permission", None) or standard_page_permission(request)
    context = {
        **admin.site.each_context(request),
        "title": "Permission needed",
        "missing_permission": permission_label(permission) if permission else None,
    }
    return render(request, "admin/403.html", context, status=403)
