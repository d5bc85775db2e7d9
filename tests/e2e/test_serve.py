"""The deploy configuration (DEBUG=0) under gunicorn, as the Procfile's `web` runs it.

The admin must be styled there: WhiteNoise serves `collectstatic`'s output, nothing else does.
"""

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from accounts.models import Account, Contact
from tests.fixtures.browser import log_in, screenshot
from tests.fixtures.users import create_marketer
from tests.fixtures.workers import ROOT, child_environment
from tests.helpers.network import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def procfile_command(process: str) -> list[str]:
    """The Procfile's own command line for this process, so the test runs what a platform runs."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name == process:
            return shlex.split(command)
    raise AssertionError(f"no {process!r} in the Procfile")


@pytest.fixture
def deployed(tmp_path):
    """gunicorn on a free loopback port, DEBUG=0, with static files collected for it."""
    port = free_port()
    env = child_environment(
        DEBUG="0", SECRET_KEY="deploy-test-" + "k" * 50, SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=str(tmp_path / "static"), SERVE_PORT=str(port), WEB_CONCURRENCY="1",
        METRICS_TOKEN="deploy-metrics-token",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    collect = subprocess.run(  # noqa: S603 - our own manage.py
        ["python", str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert collect.returncode == 0, collect.stderr
    log = tmp_path / "web.log"
    with log.open("w") as sink:
        server = subprocess.Popen(  # noqa: S603 - the Procfile's web command
            procfile_command("web"), cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, log.read_text()
        try:
            urllib.request.urlopen(f"{url}/admin/login/", timeout=2)  # noqa: S310 - loopback
            break
        except OSError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(timeout=30)


def test_gunicorn_serves_the_styled_admin_and_a_marketer_opens_a_person(page, deployed):
    create_marketer("deploy-marketer", "deploy-password-1")
    account = Account.objects.create(sfdc_id="001000000000001AAA", name="Deployed Inc")
    person = Contact.objects.create(
        sfdc_id="003000000000001AAA", sfdc_type="contact", first_name="Ada",
        last_name="Lovelace", email="ada@example.org", account=account,
    )
    page.goto(f"{deployed}/admin/login/")
    stylesheets = page.eval_on_selector_all(
        "link[rel=stylesheet]", "links => links.map(link => link.href)"
    )
    assert stylesheets, "the login page links no stylesheet"
    for href in stylesheets:
        response = page.request.get(href)
        assert response.status == 200, href
        assert response.headers["content-type"].startswith("text/css"), href
        # collectstatic's content-hashed names: cacheable for ever
        assert "immutable" in response.headers.get("cache-control", ""), href
    assert page.evaluate(
        "getComputedStyle(document.querySelector('#header')).backgroundColor"
    ) not in ("rgba(0, 0, 0, 0)", "transparent")

    log_in(page, type("Server", (), {"url": deployed}), "deploy-marketer", "deploy-password-1")
    page.goto(f"{deployed}/admin/accounts/contact/{person.pk}/change/")
    assert page.input_value("#id_last_name") == "Lovelace"
    assert "Deployed Inc" in page.inner_text("#content")
    screenshot(page, "deployed-person")


def test_gunicorn_serves_metrics_to_the_token_holder(deployed):
    scrape = urllib.request.Request(
        f"{deployed}/metrics", headers={"Authorization": "Bearer deploy-metrics-token"}
    )
    with urllib.request.urlopen(scrape, timeout=10) as response:  # noqa: S310 - loopback
        body = response.read().decode()
    assert "marketo_sync_paused 0.0" in body
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{deployed}/metrics", timeout=10)  # noqa: S310 - loopback
    assert refused.value.code == 401


def test_make_serve_refuses_without_a_secret_key():
    env = {key: value for key, value in os.environ.items() if key != "SECRET_KEY"}
    result = subprocess.run(  # noqa: S603 - our own script
        ["bash", str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "SECRET_KEY is not set" in result.stderr
    assert "secrets.token_urlsafe" in result.stderr and "SECURE_SSL_REDIRECT=0" in result.stderr


@pytest.mark.slow
def test_make_serve_runs_web_worker_and_clock_until_ctrl_c(tmp_path):
    port = free_port()
    env = child_environment(
        SECRET_KEY="serve-test-" + "k" * 50, SECURE_SSL_REDIRECT="0", SERVE_PORT=str(port),
        STATIC_ROOT=str(tmp_path / "static"), WEB_CONCURRENCY="1", METRICS_TOKEN="t0ken",
    )
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        serve = subprocess.Popen(  # noqa: S603 - our own script
            ["bash", str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, env=env, stdout=sink,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        while not all(f"{name}.1 " in log.read_text() for name in ("web", "worker", "clock")):
            assert serve.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        while True:
            try:
                with urllib.request.urlopen(  # noqa: S310 - loopback
                    f"http://127.0.0.1:{port}/admin/login/", timeout=2
                ) as response:
                    assert "/static/admin/css/base." in response.read().decode()
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        expected = (
            "release: python manage.py migrate --noinput",
            "Listening at: http://127.0.0.1:" + str(port),
            "Listening on sync, default",  # the worker's queues
            "Registered 'marketo_sync.sync.jobs.tick'",  # the clock's schedule
        )
        # each process logs at its own pace: the web may answer before the clock has spoken
        while not all(line in log.read_text() for line in expected):
            assert serve.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
    finally:
        os.killpg(serve.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's group
        serve.wait(timeout=60)
    output = log.read_text()
    for name in ("web", "worker", "clock"):
        assert f"{name}.1 stopped" in output, output[-2000:]
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "gunicorn still listens"
