"""A real browser against a real `genchi runserver`: sign in with the second factor and
open every menu page of a role without a single Content-Security-Policy violation or
script error; and work through the forms of the pages, each posting to its own action
(headless Chromium from Debian, driven by Playwright)."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_demo(data: Path, **env_changes: str | None) -> Iterator[dict]:
    """The demo prepared in `data` behind `genchi runserver`; `env_changes` set (or, as
    None, remove) environment variables of both."""
    env = {**os.environ, "GENCHI_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "genchi.settings"}
    env.pop("DATABASE_URL", None)
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    genchi = [sys.executable, "-m", "genchi"]
    prepared = subprocess.run(
        [*genchi, "demo", "--no-serve"], env=env, capture_output=True, text=True
    )
    assert prepared.returncode == 0, prepared.stderr[-2000:]
    port = _free_port()
    server = subprocess.Popen(
        [*genchi, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "env": env, "genchi": genchi}
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("browser-demo")) as server:
        yield server


def _otp(server, username: str) -> str:
    result = subprocess.run(
        [*server["genchi"], "demo-otp", username], env=server["env"], capture_output=True, text=True
    )
    return result.stdout.strip()


@contextmanager
def chromium_page(server) -> Iterator[tuple[object, list[str]]]:
    """A Chromium page on the demo server, and the script errors it met; confirmation
    dialogs are accepted as a person would."""
    playwright = pytest.importorskip("playwright.sync_api")
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="ja-JP")
        page.on(
            "console",
            lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
        page.on("dialog", lambda dialog: dialog.accept())
        try:
            yield page, problems
        finally:
            browser.close()


@contextmanager
def signed_in(server, username: str) -> Iterator[tuple[object, list[str]]]:
    """A Chromium page signed in as `username`, and the script errors it met."""
    base = server["url"]
    with chromium_page(server) as (page, problems):
        page.goto(base + "/signin/")
        assert page.locator("html").get_attribute("lang") == "ja"
        page.fill("#id_username", username)
        page.fill("#id_password", "genchi-demo-2026")
        page.click("main button[type=submit]")
        page.fill("#id_code", _otp(server, username))
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/")
        yield page, problems


@pytest.mark.parametrize("username", ["ward-admin", "manager", "surveyor1"])
def test_role_can_sign_in_and_open_its_pages_cleanly(demo_server, username, tmp_path):
    base = demo_server["url"]
    with signed_in(demo_server, username) as (page, problems):
        assert "さん" in page.inner_text("h1")
        links = [a.get_attribute("href") for a in page.locator(".site-header nav a").all()]
        assert links, "the menu is empty"
        for href in links:
            response = page.goto(base + href)
            assert response is not None and response.status == 200, (
                f"{href}: {response and response.status}"
            )
            page.screenshot(
                path=str(tmp_path / f"{href.strip('/').replace('/', '_') or 'home'}.png")
            )
    assert not problems, "\n".join(problems)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_ward_staff_works_a_batch_and_a_stick_through_the_page_forms(demo_server):
    """Each form posts to its action's address with its own field names, the confirmation
    dialogs run under the CSP, and a refused form comes back with its error in place."""
    base = demo_server["url"]
    with signed_in(demo_server, "ward-staff") as (page, problems):

        def submit(action: str) -> str:
            page.click(f"form[action$='{action}'] button[type=submit]")
            page.wait_for_load_state()
            return page.inner_text("main")

        page.goto(base + "/batches/")
        page.fill("#id_title", "ブラウザ確認")
        assert "を作成しました" in submit("/batches/new/")
        batch_page = page.url
        page.fill("#id_fill-limit", "0")
        assert "1 以上" in submit("/fill/")  # the page again, the error beside the field
        page.fill("#id_fill-limit", "3")
        page.select_option("#id_fill-min_level", "0")
        assert "3 件を追加しました" in submit("/fill/")
        assert page.url == batch_page
        page.locator("input[name=case]").first.check()
        assert "1 件を外しました" in submit("/remove/")
        assert "封緘しました" in submit("/seal/")  # after the confirmation dialog
        assert "封緘済み" in page.inner_text("main")

        page.goto(base + "/usb/")
        page.fill("#id_label", "USB-77")
        page.fill("#id_serial", "SN-77")
        page.fill("#id_capacity_gb", "16")
        assert "USB-77 を登録しました" in submit("/usb/register/")
        page.click("table a:text-is('USB-77')")
        page.wait_for_load_state()
        page.fill("#id_lend-borrower_name", "高田 誠")
        page.select_option("#id_lend-borrower_org", index=1)
        page.fill("#id_lend-due_on", "2099-12-31")
        assert "に貸し出しました" in submit("/lend/")
        page.fill("#id_return-returned_by_name", "高田 誠")
        assert "返却を記録しました" in submit("/return/")
        page.select_option("#id_wipe-method", "secure_erase")
        assert "消去・初期化を記録しました" in submit("/wipe/")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("username", ["ward-admin", "ward-auditor", "manager"])
def test_the_menu_fits_on_one_line_in_both_languages(demo_server, username):
    """Issue 13: in English the menu wrapped at 1366 px; labels are short plurals there."""
    with signed_in(demo_server, username) as (page, problems):
        page.set_viewport_size({"width": 1366, "height": 800})
        for language in ("ja", "en"):
            if language == "en":
                page.click("button[name=language][value=en]")
                page.wait_for_load_state()
                assert page.locator("html").get_attribute("lang") == "en"
            tops = page.eval_on_selector_all(
                ".site-header nav a", "links => links.map(a => a.getBoundingClientRect().top)"
            )
            assert len(tops) >= 4 and len(set(tops)) == 1, (language, tops)
        labels = page.locator(".site-header nav a").all_inner_texts()
        assert "Cases" in labels or "Handovers" in labels, labels


def test_after_a_reset_the_person_chooses_a_password_then_enrols_and_can_change_it(
    demo_server, tmp_path
):
    """The pages of a second-factor reset, seen by the person: who reset it (once), the
    password policy, the new password, the enrolment by QR code; then the password page."""
    base = demo_server["url"]
    reset = subprocess.run(
        [
            *demo_server["genchi"],
            "shell",
            "-c",
            "from genchi.accounts.models import User; from genchi.accounts import services; "
            "services.reset_second_factor(User.objects.get(username='handler'), "
            "by=User.objects.get(username='manager'))",
        ],
        env=demo_server["env"],
        capture_output=True,
        text=True,
    )
    assert reset.returncode == 0, reset.stderr[-2000:]
    own = "handler's own passphrase 2026"
    with chromium_page(demo_server) as (page, problems):
        page.goto(base + "/signin/")
        page.fill("#id_username", "handler")
        page.fill("#id_password", "genchi-demo-2026")
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/signin/new-password/")
        main = page.inner_text("main")
        assert "管理者 高田 誠 が" in main and "二要素認証をリセットしました" in main
        assert "パスワードの決まり" in main and "12" in main
        page.screenshot(path=str(tmp_path / "new_password.png"), full_page=True)
        page.fill("#id_new_password", own)
        page.fill("#id_new_password_again", own)
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/signin/second-factor/")
        assert "二要素認証の登録" in page.inner_text("main")
        # The QR code is drawn (issue 13: without its namespace the image was empty).
        drawn = page.eval_on_selector("img.qr", "img => img.complete && img.naturalWidth")
        assert drawn and drawn > 50, drawn
        page.screenshot(path=str(tmp_path / "enrol.png"), full_page=True)
        secret = page.inner_text(".mono").strip()
        from django_otp.oath import totp

        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        page.fill("#id_code", f"{totp(key):06d}")
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/")
        page.click(".site-header .who a")
        page.wait_for_url(base + "/account/password/")
        page.fill("#id_current_password", own)
        page.fill("#id_new_password", own + "!")
        page.fill("#id_new_password_again", own + "!")
        page.screenshot(path=str(tmp_path / "password_change.png"), full_page=True)
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/")
        assert "パスワードを変更しました" in page.inner_text("main")


def test_the_contract_recipient_card_page_shows_its_qr_code_and_fingerprint(demo_server):
    """The demo exchanged the contract's recipient cards: the manager's card page shows
    the QR code and the fingerprint to read out, and the keys page lists the ward's card."""
    base = demo_server["url"]
    with signed_in(demo_server, "manager") as (page, problems):
        page.goto(base + "/handover/keys/")
        page.click("text=カードを表示")
        assert "/handover/keys/contracts/" in page.url
        assert page.locator(".qr svg").is_visible()
        fingerprint = page.inner_text("dd.mono").strip()
        assert len(fingerprint.split()) == 16
        download = page.get_attribute("a[href$='card.json']", "href")
        assert page.request.get(base + download).json()["encryption"]["fingerprint"] == fingerprint
        page.goto(base + "/handover/keys/")
        assert "相手の契約の受け取り鍵カード" in page.inner_text("main")
    assert not problems, "\n".join(problems)
