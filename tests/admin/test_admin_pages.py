"""The admin pages over HTTP: sign-in into an HttpOnly SameSite=Strict session, CSRF on
every form, sources table, add with the probe, harvest now, a run's grouped errors, pause,
delete with its confirmation, mapping quality."""

from __future__ import annotations

import re
import time

import requests


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def signed_in(admin_app) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{admin_app.url}/admin/login")
    answer = browser.post(
        f"{admin_app.url}/admin/login", data={"csrf": _csrf(page.text), "token": admin_app.admin}
    )
    assert answer.status_code == 200 and "Harvest sources" in answer.text
    return browser


def test_sign_in_cookie_flags_and_refusals(admin_app) -> None:
    anonymous = requests.Session()
    start = anonymous.get(f"{admin_app.url}/admin/", allow_redirects=False)
    assert start.status_code == 302 and "/admin/login" in start.headers["Location"]
    login = anonymous.get(f"{admin_app.url}/admin/login")
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    csrf = _csrf(login.text)
    for token in (admin_app.depositor, "cat_wrong", ""):
        refused = anonymous.post(
            f"{admin_app.url}/admin/login", data={"csrf": csrf, "token": token}
        )
        assert refused.status_code == 401 and "not a valid admin token" in refused.text
    assert anonymous.get(f"{admin_app.url}/admin/", allow_redirects=False).status_code == 302
    # a form without its CSRF token (or with another session's) is refused
    no_csrf = anonymous.post(f"{admin_app.url}/admin/login", data={"token": admin_app.admin})
    assert no_csrf.status_code == 400 and "CSRF" in no_csrf.text

    browser = signed_in(admin_app)
    admin_app.store.add_source("s", "oai", "http://127.0.0.1:9/oai")
    forged = browser.post(f"{admin_app.url}/admin/sources/s/pause", data={"csrf": "forged"})
    assert forged.status_code == 400
    assert requests.post(f"{admin_app.url}/admin/sources/s/pause").status_code == 400
    assert admin_app.store.get_source("s").enabled
    page = browser.get(f"{admin_app.url}/admin/sources/s")
    browser.post(f"{admin_app.url}/admin/sources/s/pause", data={"csrf": _csrf(page.text)})
    assert not admin_app.store.get_source("s").enabled

    out = browser.post(f"{admin_app.url}/admin/logout", data={"csrf": _csrf(page.text)})
    assert "sign in" in out.text.lower()
    assert browser.get(f"{admin_app.url}/admin/", allow_redirects=False).status_code == 302


def test_a_revoked_token_ends_the_session(admin_app) -> None:
    browser = signed_in(admin_app)
    [token] = [t for t in admin_app.store.list_tokens() if t.role == "admin"]
    admin_app.store.revoke_token(token.id)
    assert browser.get(f"{admin_app.url}/admin/", allow_redirects=False).status_code == 302


def test_add_probe_harvest_errors_pause_delete(admin_app, oai_server) -> None:
    browser = signed_in(admin_app)
    url = f"{oai_server.base_url}/oai"
    form = browser.get(f"{admin_app.url}/admin/sources/new")
    fields = {"csrf": _csrf(form.text), "key": "lakes", "url": url, "type": "oai",
              "schedule": "every 6h", "sets": "", "metadata_prefix": "", "config": ""}  # fmt: skip
    probed = browser.post(f"{admin_app.url}/admin/sources/new", data={**fields, "action": "probe"})
    assert probed.status_code == 200 and "Admin test repository" in probed.text
    assert "oai_dc" in probed.text and admin_app.store.get_source("lakes") is None
    bad = browser.post(
        f"{admin_app.url}/admin/sources/new",
        data={**fields, "schedule": "daily", "url": "ftp://x", "action": "save"},
    )
    assert bad.status_code == 400 and "schedule" in bad.text and "url" in bad.text
    saved = browser.post(f"{admin_app.url}/admin/sources/new", data={**fields, "action": "save"})
    assert saved.url.endswith("/admin/sources/lakes") and "every 6h" in saved.text

    listing = browser.get(f"{admin_app.url}/admin/").text
    assert "lakes" in listing and "every 6h" in listing

    ran = browser.post(f"{admin_app.url}/admin/sources/lakes/run",
                       data={"csrf": _csrf(saved.text), "mode": "full"})  # fmt: skip
    assert "/admin/sources/lakes/runs/" in ran.url
    status_url = ran.url + "/status.json"
    deadline = time.monotonic() + 30
    while browser.get(status_url).json()["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    run_page = browser.get(ran.url).text
    assert "succeeded" in run_page and "oai:adm:bad0" in run_page and "map" in run_page

    quality = browser.get(f"{admin_app.url}/admin/sources/lakes/quality").text
    assert "<svg" in quality and "creators" in quality and "100%" in quality

    page = browser.get(f"{admin_app.url}/admin/sources/lakes")
    browser.post(f"{admin_app.url}/admin/sources/lakes/pause", data={"csrf": _csrf(page.text)})
    assert not admin_app.store.get_source("lakes").enabled
    assert admin_app.store.count_records("lakes") == 6  # paused: the records stay

    confirm = browser.get(f"{admin_app.url}/admin/sources/lakes/delete").text
    assert "6 records will become deleted" in confirm
    browser.post(f"{admin_app.url}/admin/sources/lakes/delete", data={"csrf": _csrf(confirm)})
    assert admin_app.store.get_source("lakes") is None


def test_the_session_cookie_is_secure_when_served_over_https(store, tmp_path) -> None:
    from catalogue.config import load_settings
    from catalogue.web.app import create_app

    settings = load_settings(
        {"data_dir": str(tmp_path), "oai": {"base_url": "https://catalogue.example.org/oai"}},
        env={},
    )
    app = create_app(settings, store=store, index=object())
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Strict"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
