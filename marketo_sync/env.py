"""Typed readers of environment variables, for settings.py.

A bad value stops the process at start-up with one line naming the variable and what it
expects (manage.py prints it as "Configuration error: ..."), instead of a traceback from
deep inside Django or a silently wrong default. An unset or empty variable means its default.
Every name read is recorded in `variables_read`, so a test can hold `.env.example` to it.
"""

import math
import os
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

variables_read: set[str] = set()

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def raw(name: str) -> str | None:
    """The variable's text, or None when unset or empty."""
    variables_read.add(name)
    value = os.environ.get(name)
    return value if value else None


def shown(value: str) -> str:
    """A bad value as quoted in an error: short, so a pasted secret is not printed whole."""
    return repr(value if len(value) <= 40 else value[:37] + "...")


def env_str(name: str, default: str, pattern: str | None = None, expected: str = "") -> str:
    value = raw(name)
    if value is None:
        return default
    if pattern is not None and re.fullmatch(pattern, value) is None:
        raise ImproperlyConfigured(f"{name} must be {expected or pattern}, got {shown(value)}")
    return value


def env_bool(name: str, default: bool) -> bool:
    """Strict, so a typo fails loudly instead of meaning False."""
    value = raw(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {shown(value)}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = raw(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {shown(value)}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be an integer >= {minimum}, got {number}")
    return number


def env_float(name: str, default: float, minimum: float | None = None) -> float:
    value = raw(name)
    if value is None:
        return default
    try:
        number = float(value.strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ImproperlyConfigured(f"{name} must be a number, got {shown(value)}")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be a number >= {minimum}, got {number}")
    return number


def env_choice(name: str, default: str, choices: Iterable[str]) -> str:
    allowed = list(choices)
    value = raw(name)
    if value is None:
        return default
    if value not in allowed:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(allowed)}, got {shown(value)}"
        )
    return value


def env_list(
    name: str, default: str, pattern: str | None = None, expected: str = ""
) -> list[str]:
    """Comma-separated; with `pattern`, every item must match it."""
    value = raw(name)
    items = [item.strip() for item in (default if value is None else value).split(",")]
    items = [item for item in items if item]
    for item in items:
        if pattern is not None and re.fullmatch(pattern, item) is None:
            raise ImproperlyConfigured(
                f"{name} must be a comma-separated list of {expected or pattern}, "
                f"got the item {shown(item)}"
            )
    return items


def env_url(
    name: str, default: str, schemes: Iterable[str], allow_credentials: bool = False
) -> str:
    """A URL with one of `schemes` and a host.

    Errors never quote the value: a URL may carry a password (a database URL legitimately
    does; a login URL must not, and saying so must not print it).
    """
    allowed = list(schemes)
    value = raw(name)
    if value is None:
        return default
    expected = f"{name} must be a URL with a host and the scheme {' or '.join(allowed)}"
    try:
        parts = urlsplit(value)
        host, _port = parts.hostname, parts.port  # a port that is not a number raises
    except ValueError:
        raise ImproperlyConfigured(f"{expected}; its value does not parse as a URL") from None
    if parts.scheme not in allowed:
        found = f"the scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise ImproperlyConfigured(f"{expected}, got a value with {found}")
    if not host and parts.scheme != "unix":
        raise ImproperlyConfigured(f"{expected}, got a value without a host")
    if not allow_credentials and (parts.username is not None or parts.password is not None):
        raise ImproperlyConfigured(
            f"{name} must not carry credentials (user:password@); set them in their own variables"
        )
    return value
