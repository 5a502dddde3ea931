"""Browser fixtures (a pytest plugin, loaded by the root conftest.py): customer pages on a phone, in real Chromium,
and admin pages on a desktop (`desktop_page`, logged in with `admin_login`).

The browser is Debian's `chromium` package (`apt-get install -y chromium`), driven by Playwright
through `executable_path`; Playwright's own browser download is not used. `CHROMIUM_PATH`
points elsewhere. A missing browser fails the browser tests with that advice: they never skip.

`phone_page` is a page of a fresh browser context that looks like a phone (viewport, screen,
user agent, touch) whose relative URLs go to pytest-django's `live_server`; the links the product
builds (`PUBLIC_BASE_URL`) point there too, so a test can open the link a message carries.

Chromium starts once per test session. Playwright's sync API marks its asyncio loop as running
in this thread between calls, and Django refuses ORM calls while a loop runs (it takes them for
calls from async code): outside browser tests the mark is taken off, so other tests see a plain
thread; inside them it is on and `DJANGO_ALLOW_ASYNC_UNSAFE` lets the test's own synchronous ORM
calls through (the live server answers in threads of its own). While the mark is on, Django gives
the test a database connection of its own (asgiref's Local), closed when the test ends; the
data is shared all the same, as `live_server` makes every browser test a transactional one.
"""

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium"
# Playwright's descriptor of a common Android phone: 412x839 CSS pixels, touch, a mobile user agent.
PHONE = "Pixel 7"
PHONE_FIELDS = ("viewport", "screen", "user_agent", "device_scale_factor", "is_mobile", "has_touch")
TIMEOUT_MS = 15_000  # a slow shared CI machine; a passing step takes milliseconds


def chromium_path() -> Path:
    return Path(os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM_PATH)


@dataclass
class BrowserSession:
    playwright: Any
    browser: Any
    loop: asyncio.AbstractEventLoop

    def resume(self) -> None:
        asyncio._set_running_loop(self.loop)  # what Playwright's own wait_for_future does after each call

    def park(self) -> None:
        asyncio._set_running_loop(None)


@pytest.fixture(scope="session")
def _browser_session() -> Iterator[BrowserSession]:
    path = chromium_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"The browser tests need Chromium at {path}, which is missing. On Debian: `apt-get install -y chromium` "
            "(.ci/run does this), or set CHROMIUM_PATH to a Chromium binary.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    session = BrowserSession(playwright=playwright, browser=None, loop=asyncio.get_running_loop())
    try:
        session.browser = playwright.chromium.launch(executable_path=str(path))
        session.park()
        yield session
        session.resume()
        session.browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def browser(_browser_session, monkeypatch) -> Iterator[Any]:
    """The session's headless Chromium (a Playwright `Browser`), for this test."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    _browser_session.resume()
    try:
        yield _browser_session.browser
    finally:
        # With a loop running, Django keeps this thread's database connections apart (asgiref's
        # Local): close the ones the test opened, or PostgreSQL cannot drop the test database.
        connections.close_all()
        _browser_session.park()


@pytest.fixture
def phone_page_make(browser, _browser_session, live_server, settings) -> Iterator[Callable[..., Any]]:
    """Make a phone page: `phone_page_make(locale="de-DE")` for a phone set to another language."""
    settings.PUBLIC_BASE_URL = live_server.url
    device = _browser_session.playwright.devices[PHONE]
    contexts = []

    def make(*, locale: str = "en-US") -> Any:
        context = browser.new_context(
            **{field: device[field] for field in PHONE_FIELDS}, locale=locale, base_url=live_server.url
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    _live_server_requests_finish()


def _live_server_requests_finish(timeout: float = 10.0) -> None:
    """Wait for the live server's request threads, which the closed browser contexts have hung up on.

    Each keeps its own database connection (kept for CONN_MAX_AGE) until the browser closes the
    socket; a connection still open when the test database is dropped makes PostgreSQL refuse.
    """
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):  # socketserver.ThreadingMixIn's handler threads
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def phone_page(phone_page_make) -> Any:
    """A page on a phone in English (Accept-Language en-US); `page.goto("/path")` opens the live server."""
    return phone_page_make()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where a browser test saves its screenshots: docs/screenshots/ with UPDATE_SCREENSHOTS=1, else a temp folder.

    So `make test` leaves the tracked pictures alone; `UPDATE_SCREENSHOTS=1 make pytest` renews them.
    """
    if os.environ.get("UPDATE_SCREENSHOTS", "") not in ("", "0"):
        return Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    return tmp_path


@pytest.fixture
def desktop_page(browser, live_server, settings) -> Iterator[Any]:
    """A page of a desktop browser (1280x900, English) whose relative URLs go to the live server: the admin."""
    settings.PUBLIC_BASE_URL = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()
    _live_server_requests_finish()


def admin_login(page: Any, *, username: str, password: str) -> None:
    """Log in to the admin through its login form, as a person would."""
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
