"""Failed-login throttling for the admin login, on django-axes.

Two limits, each within `LOGIN_LOCKOUT_MINUTES` of the last failure: `LOGIN_FAILURES_PER_USER`
failures lock that user name from that address (a password guess against one account), and
`LOGIN_FAILURES_PER_ADDRESS` failures lock the address whatever name it tries (a spray). Axes
compares one failure count with one limit, so an address past its own limit counts as past the
per-user one. A locked login is refused even with the right password until the lockout ends or
`manage.py axes_reset_username NAME` (or `axes_reset_ip ADDRESS`) releases it.
"""

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.contrib import admin
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOCKED_STATUS = 429


class LoginThrottleHandler(AxesDatabaseHandler):
    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        per_user, per_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if per_address >= settings.LOGIN_FAILURES_PER_ADDRESS:
            return max(per_user, settings.LOGIN_FAILURES_PER_USER)
        return per_user


def client_address(request: HttpRequest) -> str | None:
    """The socket's address, or behind a proxy the last address its header names.

    The last entry is the one the proxy appended; earlier ones come from the client and are
    not trusted. A value that is not an IP address is ignored rather than stored.
    """
    if settings.BEHIND_PROXY and settings.CLIENT_ADDRESS_HEADER:
        key = "HTTP_" + settings.CLIENT_ADDRESS_HEADER.upper().replace("-", "_")
        candidate = request.META.get(key, "").rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The admin's own page saying the login is locked and for how long."""
    context = {
        **admin.site.each_context(request),
        "title": "Login locked",
        "lockout_minutes": settings.LOGIN_LOCKOUT_MINUTES,
    }
    return render(request, "admin/login_locked.html", context, status=LOCKED_STATUS)
