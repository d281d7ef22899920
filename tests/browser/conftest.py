"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's
live server, on the seed data (loaded afresh for each test: live_server needs a
transactional database, which is emptied after every test).

Where /usr/bin/chromium is missing the tests are skipped with the command that installs
it, except in CI (CI=true), where a missing browser is a failure, never a skip.
"""

import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"


def _in_ci():
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def chromium_path():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} not found: install it with `apt-get install chromium` to run the browser tests."
        if _in_ci():
            pytest.fail(message + " CI must run them.", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses database
    # calls from a thread with a running loop unless told the calls are deliberate.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def seeded(transactional_db):
    """The seed data (fixtures/*.json): every partner, project and activity of the sources."""
    call_command("seed", stdout=io.StringIO())


class Console:
    """What a page printed to the browser console, CSP reports in particular."""

    def __init__(self):
        self.messages = []

    def __call__(self, message):
        self.messages.append(message.text)

    def csp_violations(self):
        return [m for m in self.messages if "Content Security Policy" in m]

    def clear(self):
        self.messages.clear()


def _new_page(browser, viewport, **options):
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.console = Console()
    page.on("console", page.console)
    page.on("pageerror", lambda error: page.console.messages.append(f"pageerror: {error}"))
    return context, page


@pytest.fixture
def page(browser, live_server, seeded):
    context, page = _new_page(browser, DESKTOP, base_url=live_server.url)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server, seeded):
    context, page = _new_page(browser, PHONE, base_url=live_server.url, is_mobile=True, has_touch=True)
    yield page
    context.close()


@pytest.fixture
def no_js_page(browser, live_server, seeded):
    context, page = _new_page(browser, DESKTOP, base_url=live_server.url, java_script_enabled=False)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
