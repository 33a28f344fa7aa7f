"""TRUSTED_PROXIES: the client address, scheme and host as a trusted reverse proxy reports them.

A real nginx in front of gunicorn: tests/browser/test_proxy_browser.py.
"""
import logging

import pytest
from flask import request

from survey_app import create_app
from survey_app.extensions import db

from .test_auth import PASSWORD, login, manager  # noqa: F401  (manager is a fixture)

PROXY = {"REMOTE_ADDR": "10.0.0.2"}  # every request arrives from the proxy's address


def through_proxy(client_address: str, **headers) -> dict:
    """Request options for a request nginx forwards for `client_address` from https://survey.example."""
    return {"environ_base": PROXY,
            "headers": {"X-Forwarded-For": client_address, "X-Forwarded-Proto": "https",
                        "X-Forwarded-Host": "survey.example", "X-Forwarded-Port": "443",
                        "Host": "127.0.0.1:8000", "Referer": "https://survey.example/auth/login",
                        **headers}}


@pytest.fixture
def proxied(app):
    """Return a factory: the same database and settings, behind TRUSTED_PROXIES proxies."""
    apps = []

    def make(**config):
        apps.append(create_app({**app.config, "TRUSTED_PROXIES": 1, **config}))
        return apps[-1]

    yield make
    for other in apps:
        with other.app_context():
            db.engine.dispose()


def seen_address(app, **options) -> str:
    """Return request.remote_addr as the app sees it for a request with these options."""
    app.add_url_rule("/probe-address", "probe_address", lambda: request.remote_addr or "")
    return app.test_client().get("/probe-address", **options).get_data(as_text=True)


def test_trusted_proxies_are_off_by_default(app):
    assert app.config["TRUSTED_PROXIES"] == 0
    assert seen_address(app, environ_base=PROXY, headers={"X-Forwarded-For": "203.0.113.9"}) == "10.0.0.2"


def test_without_the_setting_a_client_cannot_dodge_the_login_limit(app, client, manager):
    # Invented X-Forwarded-For values do not make new addresses.
    app.config["LOGIN_IP_MAX_FAILURES"] = 3
    for attempt in range(3):
        headers = {"X-Forwarded-For": f"198.51.100.{attempt}"}
        assert login(client, "ghost", "wrong-password", environ_base=PROXY, headers=headers).status_code == 200
    assert login(client, manager, environ_base=PROXY,
                 headers={"X-Forwarded-For": "198.51.100.99"}).status_code == 429


def test_without_the_setting_forwarded_headers_are_reported_once_in_the_log(app, client, caplog):
    caplog.set_level(logging.WARNING, logger="survey_app.security")
    for _ in range(3):
        client.get("/auth/login", environ_base=PROXY, headers={"X-Forwarded-For": "203.0.113.9"})
    warnings = [r.getMessage() for r in caplog.records if r.name == "survey_app.security"]
    assert len(warnings) == 1 and "SURVEY_TRUSTED_PROXIES" in warnings[0]
    assert "203.0.113.9" not in caplog.text


def test_behind_a_trusted_proxy_each_client_has_its_own_login_limit(proxied, manager):
    app = proxied(LOGIN_IP_MAX_FAILURES=3)
    attacker = through_proxy("203.0.113.9")
    client = app.test_client()
    for name in ("alice", "bob", "carol"):
        assert login(client, name, "wrong-password", **attacker).status_code == 200
    assert login(client, manager, **attacker).status_code == 429
    # A colleague behind the same proxy still logs in, and her cookie is Secure (HTTPS).
    colleague = login(app.test_client(), manager, PASSWORD, **through_proxy("198.51.100.7"))
    assert colleague.status_code == 302 and colleague.headers["Location"] == "/reports/"
    assert "Secure" in colleague.headers["Set-Cookie"]


def test_behind_a_trusted_proxy_the_https_referer_check_sees_the_public_host(proxied, manager):
    # The upstream Host is 127.0.0.1:8000; the browser's Referer names https://survey.example.
    app = proxied()
    assert login(app.test_client(), manager, **through_proxy("198.51.100.7")).status_code == 302
    foreign = {"Referer": "https://elsewhere.example/auth/login"}
    assert login(app.test_client(), manager, **through_proxy("198.51.100.7", **foreign)).status_code == 400


def test_two_proxies_take_the_second_address_from_the_right(proxied):
    app = proxied(TRUSTED_PROXIES=2)
    forwarded = {"X-Forwarded-For": "192.0.2.66, 203.0.113.9, 10.0.0.1"}  # forged, client, CDN
    assert seen_address(app, environ_base=PROXY, headers=forwarded) == "203.0.113.9"


def test_the_setting_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEY_TRUSTED_PROXIES", "1")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "env-secret")
    app = create_app()
    assert app.config["TRUSTED_PROXIES"] == 1
    assert seen_address(app, environ_base=PROXY, headers={"X-Forwarded-For": "203.0.113.9"}) == "203.0.113.9"


@pytest.mark.parametrize("value", [-1, "1", True, 1.5])
def test_a_bad_setting_stops_the_app_from_starting(app, value):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        create_app({**app.config, "TRUSTED_PROXIES": value})
