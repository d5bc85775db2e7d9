"""gunicorn's settings for the Procfile's `web` process, from the environment.

`make serve` sets `SERVE_PORT` (default 8000) and serves on loopback only; a Procfile platform
sets `PORT` and expects every interface (honcho sets `PORT` too, hence `SERVE_PORT` wins).
"""

from marketo_sync.env import env_int

SERVE_PORT = env_int("SERVE_PORT", 0, minimum=0)
PLATFORM_PORT = env_int("PORT", 0, minimum=0)
if SERVE_PORT or not PLATFORM_PORT:
    bind = [f"127.0.0.1:{SERVE_PORT or 8000}"]
else:
    bind = [f"0.0.0.0:{PLATFORM_PORT}"]  # noqa: S104 - the platform's router in front
workers = env_int("WEB_CONCURRENCY", 2, minimum=1)
# Admin pages that count or export large tables may take a while; the load balancer's timeout
# is usually the tighter one.
timeout = env_int("GUNICORN_TIMEOUT", 120, minimum=1)
accesslog = "-"
# No control socket in $HOME: several servers (tests, a second checkout) would share its path.
control_socket_disable = True
