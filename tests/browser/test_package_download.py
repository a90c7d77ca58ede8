"""Issue 13, item 2, in a real browser: on a server the ward's officer downloads the
exported package to save onto the stick; the file's SHA-256 is the one the page shows,
and the contractor's import page takes the downloaded file unchanged."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.browser.test_pages_in_chromium import CHROMIUM, running_demo, signed_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo with jobs run at once (no worker to start), as on a server: the stick is
    in the officer's PC."""
    with running_demo(
        tmp_path_factory.mktemp("browser-download"),
        GENCHI_TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend",
        GENCHI_STICK_MOUNTED_HERE=None,
    ) as demo:
        yield demo


def test_the_exported_package_downloads_with_the_digest_shown_and_imports(server, tmp_path):
    base = server["url"]
    with signed_in(server, "ward-staff") as (page, problems):
        page.set_viewport_size({"width": 1366, "height": 900})

        def submit(action: str) -> None:
            page.click(f"form[action$='{action}'] button[type=submit]")
            page.wait_for_load_state()

        # A sealed batch leads to its export, with the batch chosen.
        page.goto(base + "/batches/")
        page.fill("#id_title", "ダウンロード確認")
        submit("/batches/new/")
        page.fill("#id_fill-limit", "3")
        page.select_option("#id_fill-min_level", "0")
        submit("/fill/")
        submit("/seal/")
        page.click("a.button:text-is('書き出す')")
        page.wait_for_load_state()
        assert "/handover/export/?batch=" in page.url
        chosen = page.locator("#id_batch option:checked").inner_text()
        assert "ダウンロード確認" in chosen and "3 件" in chosen
        assert "---------" not in page.inner_text("main form")
        page.select_option("#id_stick", label="USB-02")
        page.screenshot(path=str(tmp_path / "export-form.png"), full_page=True)
        page.click("main form button[type=submit]")
        page.wait_for_load_state()

        # The finished export: the file, its size and SHA-256, and the instruction.
        page.wait_for_selector("[data-download]")
        main = page.inner_text("main")
        assert "まだUSBメモリには入っていません" in main and "USB-02 に保存" in main
        shown = page.inner_text("[data-file-sha256]").strip()
        name = page.inner_text("[data-file-name]").strip()
        assert len(shown) == 64 and name.endswith(".genchi.age")
        page.screenshot(path=str(tmp_path / "export-done.png"), full_page=True)
        with page.expect_download() as info:
            page.click("[data-download]")
        download = info.value
        assert download.suggested_filename == name
        saved = tmp_path / name
        download.save_as(saved)
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == shown

        # The page counts the download; the stick's ledger page names it.
        page.reload()
        assert "1 回" in page.inner_text("#delivery")
        page.click("a.button:has-text('USBメモリ台帳')")
        page.wait_for_load_state()
        assert "ダウンロード(1 回目)" in page.inner_text("main")
    assert not problems, "\n".join(problems)

    # The contractor imports the file as downloaded.
    with signed_in(server, "manager") as (page, problems):
        page.goto(base + "/handover/import/")
        page.set_input_files("#id_package", str(saved))
        page.fill("#id_giver_name", "区 職員")
        page.click("main form button[type=submit]")
        page.wait_for_url(lambda url: "/handover/slips/" in url, timeout=60_000)
        assert "3 件を取り込みました" in page.inner_text("main")
    assert not problems, "\n".join(problems)
