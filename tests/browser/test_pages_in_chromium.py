"""A real browser against a real `genchi runserver`: sign in with the second factor and
open every menu page of a role without a single Content-Security-Policy violation or
script error (headless Chromium from Debian, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
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


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("browser-demo")
    env = {**os.environ, "GENCHI_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "genchi.settings"}
    env.pop("DATABASE_URL", None)
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
    yield {"url": f"http://127.0.0.1:{port}", "env": env, "genchi": genchi}
    server.terminate()
    server.wait(timeout=10)


def _otp(server, username: str) -> str:
    result = subprocess.run(
        [*server["genchi"], "demo-otp", username], env=server["env"], capture_output=True, text=True
    )
    return result.stdout.strip()


@pytest.mark.parametrize("username", ["ward-admin", "manager", "surveyor1"])
def test_role_can_sign_in_and_open_its_pages_cleanly(demo_server, username, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    base = demo_server["url"]
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
        page.goto(base + "/signin/")
        assert page.locator("html").get_attribute("lang") == "ja"
        page.fill("#id_username", username)
        page.fill("#id_password", "genchi-demo-2026")
        page.click("main button[type=submit]")
        page.fill("#id_code", _otp(demo_server, username))
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/")
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
        browser.close()
    assert not problems, "\n".join(problems)
    shutil.rmtree(tmp_path, ignore_errors=True)
