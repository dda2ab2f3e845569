"""The live order page: the view's headers, and the page itself in headless Chromium.

The browser tests run the real thing end to end: uvicorn (embedded default: SQLite, in-memory
channel layer, in-process Celery) as a subprocess on a free port, Debian's chromium driven by
Selenium through chromedriver, and the API called over HTTP as a customer and as staff.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from testkit.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Live-Page-Test-Pass-93"
WAIT_SECONDS = 30

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
CHROMEDRIVER = shutil.which("chromedriver")

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary found: apt-get install -y chromium chromium-driver "
    "(.ci/run installs them)",
)

# The server under test runs the embedded default whatever the test process was pointed at.
SERVER_ENV_DROP = (
    "DATABASE_URL",
    "REDIS_URL",
    "CACHE_REDIS_URL",
    "CELERY_BROKER_URL",
    "CHANNEL_LAYER_REDIS_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_SETTINGS_MODULE",
)


# ---- the view ------------------------------------------------------------------------------


def test_live_page_is_html_with_a_strict_csp() -> None:
    response = Client().get("/live/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    directives = (d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    csp = {name: value for name, value in directives}
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'"
    assert csp["connect-src"] == "'self' ws://testserver wss://testserver"
    assert csp["frame-ancestors"] == "'none'"
    body = response.content.decode()
    assert '<script src="/static/notifications/live.js" defer></script>' in body
    assert "<script>" not in body  # nothing inline: script-src 'self' would refuse it
    assert "http://" not in body and "https://" not in body  # nothing from the internet


def test_live_page_refuses_writes() -> None:
    assert Client().post("/live/").status_code == 405


def test_live_page_assets_are_served() -> None:
    from django.contrib.staticfiles import finders

    for name in ("notifications/live.js", "notifications/live.css"):
        assert finders.find(name), name


# ---- the running stack ---------------------------------------------------------------------


class LiveServer:
    """uvicorn on a fixed loopback port and its own SQLite file; can be stopped and restarted."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "uvicorn.log"
        self.env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_DROP}
        self.env.update(
            DJANGO_SETTINGS_MODULE="config.settings.base",
            SQLITE_PATH=str(workdir / "live.sqlite3"),
            AUTH_THROTTLE_RATE="10000/min",
            PYTHONUNBUFFERED="1",
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.product_id = 0

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def start(self) -> None:
        uvicorn = str(Path(sys.executable).with_name("uvicorn"))
        command = [
            uvicorn,
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"uvicorn exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/live/", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)  # polling for the port, bounded by the deadline
        raise AssertionError(f"uvicorn did not answer within {WAIT_SECONDS}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        request = urllib.request.Request(
            self.base_url + "/api" + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {token}"} if token else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path} -> {exc.code}: {exc.read()!r}") from exc

    def token(self, username: str) -> str:
        tokens = self.call("POST", "/token/", {"username": username, "password": PASSWORD})
        return str(tokens["access"])

    def order(self, username: str, product_id: int) -> int:
        order = self.call(
            "POST",
            "/orders/",
            {"items": [{"product_id": product_id, "quantity": 1}]},
            token=self.token(username),
        )
        return int(order["id"])

    def set_status(self, order_id: int, status: str) -> None:
        order = self.call(
            "PATCH", f"/orders/{order_id}/", {"status": status}, token=self.token("live_staff")
        )
        assert order["status"] == status


SETUP = f"""
from accounts.models import User
from catalog.models import Category, Product
for name in ("live_alice", "live_bob"):
    User.objects.create_user(username=name, password={PASSWORD!r})
User.objects.create_user(username="live_staff", password={PASSWORD!r}, is_staff=True)
category = Category.objects.create(name="Lamps", slug="lamps")
product = Product.objects.create(
    name="Desk lamp", slug="desk-lamp", price="24.90", stock=1000, category=category
)
print(product.pk)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if CHROMIUM is None:
        pytest.skip("no chromium binary found")
    live = LiveServer(tmp_path_factory.mktemp("live_server"))
    live.manage("migrate", "--noinput", "-v", "0")
    live.product_id = int(live.shell(SETUP).strip().splitlines()[-1])
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    assert CHROMIUM is not None
    assert CHROMEDRIVER, (
        f"chromium is installed ({CHROMIUM}) but chromedriver is not: "
        "apt-get install -y chromium-driver"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """The live page in the browser, read the way a person would: badges and the state pill."""

    def __init__(self, driver: webdriver.Chrome, server: LiveServer):
        self.driver = driver
        self.server = server

    def sign_in(self, username: str) -> None:
        self.driver.get(self.server.base_url + "/live/")
        self.driver.find_element(By.ID, "username").send_keys(username)
        self.driver.find_element(By.ID, "password").send_keys(PASSWORD)
        self.driver.find_element(By.ID, "signin-submit").click()
        self.wait_state("connected")
        # Signed in: the form is gone from view, the orders are shown.
        assert not self.driver.find_element(By.ID, "signin").is_displayed()
        assert self.driver.find_element(By.ID, "orders-panel").is_displayed()

    def customer(self, order_id: int) -> str:
        return self.driver.find_element(
            By.CSS_SELECTOR, f'tr[data-order-id="{order_id}"] td:nth-child(2)'
        ).text

    def state(self) -> str | None:
        return self.driver.find_element(By.ID, "connection").get_attribute("data-state")

    def badge(self, order_id: int) -> str | None:
        return self.driver.find_element(
            By.CSS_SELECTOR, f'tr[data-order-id="{order_id}"] .badge'
        ).get_attribute("data-status")

    def order_ids(self) -> list[int]:
        rows = self.driver.find_elements(By.CSS_SELECTOR, "#orders-body tr")
        return [int(row.get_attribute("data-order-id") or 0) for row in rows]

    def wait(self, what: str, condition: Callable[[], bool]) -> None:
        try:
            WebDriverWait(self.driver, WAIT_SECONDS, poll_frequency=0.05).until(
                lambda _: condition()
            )
        except TimeoutException:
            console = "\n".join(str(e) for e in self.driver.get_log("browser"))
            raise AssertionError(
                f"page never showed {what} within {WAIT_SECONDS}s; state={self.state()!r}\n"
                f"browser console:\n{console}\nserver log:\n{self.server.log_tail()}"
            ) from None

    def wait_state(self, state: str) -> None:
        self.wait(f"connection {state!r}", lambda: self.state() == state)

    def wait_badge(self, order_id: int, status: str) -> None:
        self.wait(f"order {order_id} {status!r}", lambda: self.badge(order_id) == status)


@needs_chromium
@pytest.mark.timeout(240)
def test_customer_sees_status_changes_live_and_after_a_server_restart(
    server: LiveServer, browser: webdriver.Chrome
) -> None:
    product_id = server.product_id
    listed = server.order("live_alice", product_id)
    others = server.order("live_bob", product_id)
    page = Page(browser, server)

    page.sign_in("live_alice")
    page.wait_badge(listed, "pending")
    assert others not in page.order_ids()
    assert page.customer(listed) == "live_alice"

    # Pushed over the socket, no reload.
    server.set_status(listed, "processing")
    page.wait_badge(listed, "processing")
    # An order placed after the page loaded appears with its first change.
    placed = server.order("live_alice", product_id)
    server.set_status(placed, "shipped")
    page.wait_badge(placed, "shipped")
    server.set_status(others, "processing")  # not hers: never shown

    # The server goes away: the page says so and keeps retrying.
    server.stop()
    page.wait_state("reconnecting")
    # A change made while the web process is down (the same service the admin calls, from
    # another process): no socket can carry it, only the catch-up after the reconnect.
    server.shell(
        "from accounts.models import User\n"
        "from orders.services import order_status_change\n"
        f"order_status_change(order_id={listed}, status='shipped', "
        "by=User.objects.get(username='live_staff'))\n"
    )
    assert page.state() == "reconnecting"
    server.start()
    page.wait_badge(listed, "shipped")
    page.wait_state("connected")

    # And a change through the API right after the restart, by whichever path gets there first.
    server.set_status(placed, "delivered")
    page.wait_badge(placed, "delivered")
    server.set_status(listed, "delivered")
    page.wait_badge(listed, "delivered")

    assert sorted(page.order_ids()) == sorted([listed, placed])
    blocked = [e for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert blocked == []  # the page works under its own CSP
    assert browser.current_url == server.base_url + "/live/"  # never reloaded
    # The cursor reached the newest event this customer may see.
    newest = server.call("GET", "/notifications/?page_size=1", token=server.token("live_alice"))
    page.wait(
        "the newest event id",
        lambda: (
            browser.find_element(By.TAG_NAME, "body").get_attribute("data-last-event-id")
            == str(newest["items"][0]["id"])
        ),
    )


@needs_chromium
@pytest.mark.timeout(180)
def test_an_expired_access_token_is_refreshed_by_the_page(
    server: LiveServer, browser: webdriver.Chrome
) -> None:
    """The socket is refused with 4401 once the access token expired: the page refreshes its
    tokens (rotation), reconnects, and its catch-up call runs on the new access token."""
    lifetime_seconds = 3
    server.stop()
    server.env["JWT_ACCESS_MINUTES"] = str(lifetime_seconds / 60)
    server.start()
    try:
        order = server.order("live_bob", server.product_id)
        page = Page(browser, server)
        page.sign_in("live_bob")
        page.wait_badge(order, "pending")
        time.sleep(lifetime_seconds + 1)  # the page's access token has now expired

        server.stop()
        page.wait_state("reconnecting")
        server.shell(
            "from accounts.models import User\n"
            "from orders.services import order_status_change\n"
            f"order_status_change(order_id={order}, status='processing', "
            "by=User.objects.get(username='live_staff'))\n"
        )
        log_mark = server.log_path.stat().st_size
        server.start()

        page.wait_badge(order, "processing")
        page.wait_state("connected")
        after_restart = server.log_path.read_bytes()[log_mark:].decode(errors="replace")
        assert '"POST /api/token/refresh/ HTTP/1.1" 200' in after_restart
        assert '"POST /api/token/refresh/ HTTP/1.1" 401' not in after_restart
    finally:
        server.stop()
        del server.env["JWT_ACCESS_MINUTES"]
        server.start()


@needs_chromium
@pytest.mark.timeout(120)
def test_staff_see_every_order_update(server: LiveServer, browser: webdriver.Chrome) -> None:
    product_id = server.product_id
    alices = server.order("live_alice", product_id)
    page = Page(browser, server)

    page.sign_in("live_staff")
    page.wait_badge(alices, "pending")
    assert page.customer(alices) == "live_alice"

    bobs = server.order("live_bob", product_id)
    server.set_status(alices, "processing")
    server.set_status(bobs, "cancelled")
    page.wait_badge(alices, "processing")
    page.wait_badge(bobs, "cancelled")
    # The row added from the event is filled in from the API.
    page.wait("bob's name", lambda: page.customer(bobs) == "live_bob")
    page.wait(
        "bob's order total",
        lambda: (
            browser.find_element(By.CSS_SELECTOR, f'tr[data-order-id="{bobs}"] td:nth-child(3)')
            .text.strip()
            .startswith("24.90")
        ),
    )


@needs_chromium
def test_sign_in_refusal_is_shown(server: LiveServer, browser: webdriver.Chrome) -> None:
    browser.get(server.base_url + "/live/")
    browser.find_element(By.ID, "username").send_keys("live_alice")
    browser.find_element(By.ID, "password").send_keys("wrong password")
    browser.find_element(By.ID, "signin-submit").click()
    page = Page(browser, server)
    page.wait(
        "the sign-in error",
        lambda: browser.find_element(By.ID, "signin-error").is_displayed(),
    )
    assert page.state() == "offline"
    assert not browser.find_element(By.ID, "orders-panel").is_displayed()
