"""gunicorn's settings for the Procfile's `web` process, from the environment.

`make serve` sets `SERVE_PORT` (default 8000) and serves on loopback only; a Procfile platform
sets `PORT` and expects every interface (honcho sets `PORT` too, hence `SERVE_PORT` wins).
"""

import os

if os.environ.get("SERVE_PORT") or not os.environ.get("PORT"):
    bind = [f"127.0.0.1:{os.environ.get('SERVE_PORT') or '8000'}"]
else:
    bind = [f"0.0.0.0:{os.environ['PORT']}"]  # noqa: S104 - the platform's router in front
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Admin pages that count or export large tables may take a while; the load balancer's timeout
# is usually the tighter one.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
accesslog = "-"
# No control socket in $HOME: several servers (tests, a second checkout) would share its path.
control_socket_disable = True
