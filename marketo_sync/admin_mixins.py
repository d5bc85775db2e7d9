"""Admin building blocks shared by the apps' admin modules."""

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Mirrored from Salesforce or written by the sync: shown, never added, changed or deleted."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
