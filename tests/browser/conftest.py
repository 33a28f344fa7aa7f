"""Browser fixtures: the app served by a real server thread, and Debian's chromium.

`live_server(config_overrides)` starts the app on a fresh SQLite file and returns a
`LiveServer` (unpacks as `url, app`); `new_context(**options)` opens a browser context
on the session's chromium. Both are cleaned up after the test.
"""
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from survey_app import create_app
from survey_app.devices import create_device
from survey_app.extensions import db
from survey_app.facilities import load_shipped_facilities
from survey_app.models import Facility

from ..conftest import ARTIFACTS_DIR

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

IPAD_PORTRAIT = {"viewport": {"width": 768, "height": 1024}, "has_touch": True, "is_mobile": True}
IPAD_LANDSCAPE = {"viewport": {"width": 1024, "height": 768}, "has_touch": True, "is_mobile": True}
PHONE = {"viewport": {"width": 375, "height": 667}, "has_touch": True, "is_mobile": True}


def axe_script_path() -> Path:
    """Return the axe-core script bundled with axe-playwright-python (PyPI: no npm needed)."""
    import axe_playwright_python

    return Path(axe_playwright_python.__file__).parent / "axe.min.js"


def collect_csp_violations(page) -> list[str]:
    """Start collecting the page's Content-Security-Policy violation messages."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text)
            if "Content Security Policy" in message.text else None)
    return messages


def run_axe(page) -> list[dict]:
    """Run axe-core on the page; return violations of impact serious or critical."""
    page.add_script_tag(path=str(axe_script_path()))
    result = page.evaluate("""async () => await axe.run(document, {
        runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}
    })""")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [node["target"] for node in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def assert_missing_answers_reported(page) -> None:
    """The error summary and the two required questions' messages, as a jobseeker sees them."""
    summary = page.get_by_role("alert")
    summary.wait_for()
    assert "まだ答えていない質問などがあります" in plain_text(summary)
    assert page.locator("#satisfaction-error").inner_text().endswith("この質問は必ず選んでください。")
    assert page.locator("#establishment-error").is_visible()


def plain_text(locator) -> str:
    """Return the rendered text without the furigana (<rt>) readings."""
    return locator.evaluate("""element => {
        const copy = element.cloneNode(true);
        copy.querySelectorAll("rt").forEach(rt => rt.remove());
        return copy.textContent.replace(/\\s+/g, " ").trim();
    }""")


def assert_no_horizontal_scroll(page):
    widths = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"horizontal scroll: scrollWidth {widths[0]} > innerWidth {widths[1]}"


@dataclass
class LiveServer:
    url: str
    app: Flask

    def __iter__(self):
        return iter((self.url, self.app))

    def enrollment_url(self, facility_code: str, label: str = "browser test") -> str:
        """Create a device awaiting enrollment and return its one-time enrollment URL."""
        with self.app.app_context():
            facility = db.session.scalar(db.select(Facility).where(Facility.code == facility_code))
            _device, _token, code = create_device(facility, label)
        return f"{self.url}/enroll/{code}"


@pytest.fixture
def live_server(tmp_path):
    """Return a factory: live_server(config_overrides=None) -> LiveServer (url, app)."""
    servers = []

    def start(config_overrides: dict | None = None) -> LiveServer:
        database = tmp_path / f"live-{len(servers)}.sqlite3"
        config = {
            "TESTING": True,
            "SECRET_KEY": "browser-test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "SURVEY_RATE_LIMIT_PER_MINUTE": 1000,
        }
        config.update(config_overrides or {})
        app = create_app(config)
        with app.app_context():
            db.create_all()
            load_shipped_facilities()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        servers.append((server, thread, app))
        return LiveServer(f"http://127.0.0.1:{server.server_port}", app)

    yield start
    for server, thread, app in servers:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser):
    """Return a factory for browser contexts (iPad portrait unless told otherwise)."""
    contexts = []

    def make(**options):
        context = browser.new_context(**{**IPAD_PORTRAIT, "locale": "ja-JP", **options})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR
