"""Hardening settings: the proxy header is trusted only when told, sessions end when configured."""

from tests.helpers.settings import read_setting

DEPLOY = {"DEBUG": "0", "SECRET_KEY": "k" * 60}


def test_the_forwarded_proto_header_is_not_trusted_by_default():
    assert read_setting("getattr(settings, 'SECURE_PROXY_SSL_HEADER', None)", **DEPLOY) == "None"


def test_behind_a_proxy_the_forwarded_proto_header_says_https():
    assert read_setting("settings.SECURE_PROXY_SSL_HEADER", BEHIND_PROXY="1", **DEPLOY) == (
        "('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_admin_sessions_last_eight_hours_unless_configured():
    assert read_setting("settings.SESSION_COOKIE_AGE", **DEPLOY) == "28800"
    assert read_setting("settings.SESSION_COOKIE_AGE", ADMIN_SESSION_SECONDS="3600", **DEPLOY) == (
        "3600"
    )


def test_login_limits_come_from_the_environment():
    env = {**DEPLOY, "LOGIN_FAILURES_PER_USER": "4", "LOGIN_LOCKOUT_MINUTES": "60"}
    assert read_setting("settings.AXES_FAILURE_LIMIT", **env) == "4"
    assert read_setting("settings.AXES_COOLOFF_TIME", **env) == "1:00:00"
    assert read_setting("settings.LOGIN_FAILURES_PER_ADDRESS", **env) == "50"
