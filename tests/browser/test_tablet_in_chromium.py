"""The tablet app in a real Chromium (D6, C-S2.1–C-S2.7): enrol in the office, sign in,
sync down, go offline, reload and unlock with the PIN, today's list; the raw IndexedDB
holds no name or address; printing gives a blank page; the lease; five wrong PINs wipe;
a revoked device wipes itself at its next contact; the route's map offline. Screenshots
at 768x1024."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

from tests.browser.test_pages_in_chromium import CHROMIUM, _otp, running_demo

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"),
]

PASSWORD = "genchi-demo-2026"
PIN = "246810"
SHOTS = (
    Path(os.environ.get("GENCHI_TABLET_SHOTS", ""))
    if os.environ.get("GENCHI_TABLET_SHOTS")
    else None
)

# Everything the app keeps in IndexedDB, every byte array read as text (UTF-8 and as
# single bytes), so that a name or address stored in the clear would be found.
READ_RAW_IDB = """
async () => {
  const open = indexedDB.open("genchi-tablet");
  const db = await new Promise((ok, fail) => { open.onsuccess = () => ok(open.result); open.onerror = fail; });
  const text = (v) => {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
      const bytes = new Uint8Array(v.buffer ? v.buffer : v);
      return new TextDecoder().decode(bytes) + Array.from(bytes, (b) => String.fromCharCode(b)).join("");
    }
    if (v instanceof CryptoKey) return `[key ${v.type} extractable=${v.extractable}]`;
    if (v && typeof v === "object") return Object.entries(v).map(([k, x]) => k + ":" + text(x)).join(" ");
    return String(v);
  };
  const out = [];
  for (const name of db.objectStoreNames) {
    const tx = db.transaction(name);
    const store = tx.objectStore(name);
    const [keys, values] = await Promise.all([
      new Promise((ok) => { const r = store.getAllKeys(); r.onsuccess = () => ok(r.result); }),
      new Promise((ok) => { const r = store.getAll(); r.onsuccess = () => ok(r.result); }),
    ]);
    keys.forEach((k, i) => out.push(name + "/" + text(k) + "=" + text(values[i])));
  }
  db.close();
  return out.join("\\n");
}
"""

RECORD_COUNT = """
async () => {
  const dbs = await indexedDB.databases();
  if (!dbs.some((d) => d.name === "genchi-tablet")) return -1;
  const open = indexedDB.open("genchi-tablet");
  const db = await new Promise((ok) => { open.onsuccess = () => ok(open.result); });
  if (!db.objectStoreNames.contains("records")) { db.close(); return -1; }
  const n = await new Promise((ok) => { const r = db.transaction("records").objectStore("records").count(); r.onsuccess = () => ok(r.result); });
  db.close();
  return n;
}
"""

EXPIRE_LEASE = """
async () => {
  const open = indexedDB.open("genchi-tablet");
  const db = await new Promise((ok) => { open.onsuccess = () => ok(open.result); });
  const tx = db.transaction("device", "readwrite");
  const store = tx.objectStore("device");
  const lease = await new Promise((ok) => { const r = store.get("lease"); r.onsuccess = () => ok(r.result); });
  lease.until = new Date(Date.now() - 60000).toISOString();
  store.put(lease, "lease");
  await new Promise((ok) => { tx.oncomplete = ok; });
  db.close();
}
"""

TAMPER_ONE_RECORD = """
async () => {
  const open = indexedDB.open("genchi-tablet");
  const db = await new Promise((ok) => { open.onsuccess = () => ok(open.result); });
  const tx = db.transaction("records", "readwrite");
  const store = tx.objectStore("records");
  const all = await new Promise((ok) => { const r = store.getAll(); r.onsuccess = () => ok(r.result); });
  // The smallest sealed record is a case's (the day's record holds the form and the route).
  const record = all.reduce((a, b) => (b.data.byteLength < a.data.byteLength ? b : a));
  const bytes = new Uint8Array(record.data);
  bytes[0] ^= 1;
  record.data = bytes.buffer;
  store.put(record);
  await new Promise((ok) => { tx.oncomplete = ok; });
  db.close();
}
"""


def _shot(page, name: str, tmp_path: Path) -> Path:
    folder = SHOTS or tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tablet-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _office_sign_in(page, server, username: str) -> None:
    page.goto(server["url"] + "/signin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.fill("#id_code", _otp(server, username))
    page.click("main button[type=submit]")
    page.wait_for_url(server["url"] + "/")


# How many case openings the device still keeps to report.
READ_OPENED = """
async () => {
  const open = indexedDB.open("genchi-tablet");
  const db = await new Promise((ok) => { open.onsuccess = () => ok(open.result); });
  const req = db.transaction("device").objectStore("device").get("opened");
  const value = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
  db.close();
  return (value || []).length;
}
"""


def _tablet_views_logged(server) -> int:
    """`survey_case.viewed` entries the demo's server logged from a tablet's report."""
    code = (
        "from genchi.audit.models import AuditEntry; print(AuditEntry.objects.filter("
        "action='survey_case.viewed', detail__view='tablet').count())"
    )
    out = subprocess.run(
        [*server["genchi"], "shell", "-c", code], env=server["env"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip().splitlines()[-1])


def _sign_in_and_sync(tablet, *, pin_screen: bool) -> None:
    tablet.fill("#f-username", "surveyor1")
    tablet.fill("#f-password", PASSWORD)
    tablet.click("main button[type=submit]")
    if pin_screen:
        tablet.fill("#f-pin", PIN, timeout=20000)
        tablet.fill("#f-pin2", PIN)
        tablet.click("main button[type=submit]")


@pytest.fixture(scope="module")
def tablet_demo(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("tablet-demo")) as server:
        yield server


def test_tablet_enrol_sync_offline_unlock_wipe(tablet_demo, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    from PIL import Image

    base = tablet_demo["url"]
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        device = browser.new_context(viewport={"width": 768, "height": 1024}, locale="ja-JP")
        office = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
        device.clock.install()  # time flows; the idle lock is fast-forwarded below
        tablet = device.new_page()
        tablet.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tablet.on("pageerror", lambda e: problems.append(str(e)))
        desk = office.new_page()

        # Enrolment: the tablet shows a code, the manager confirms it in the office.
        tablet.goto(base + "/tablet/")
        tablet.click("#enrol")
        code = tablet.locator("#enrol-code").inner_text().strip()
        assert len(code) == 8
        _shot(tablet, "enrol", tmp_path)
        _office_sign_in(desk, tablet_demo, "manager")
        desk.goto(base + "/tablet/devices/")
        desk.fill("#id_code", code)
        desk.select_option(
            "#id_surveyor",
            label=desk.locator("#id_surveyor option", has_text="早稲田").first.inner_text(),
        )
        desk.fill("#id_label", "T-01")
        desk.click("form.card button[type=submit]")
        assert "登録しました" in desk.inner_text("main")
        _shot(desk, "office-devices", tmp_path)

        # Sign-in at the office (ID, password, device signature), PIN, sync down.
        tablet.wait_for_selector("#f-username", timeout=15000)
        _sign_in_and_sync(tablet, pin_screen=True)
        tablet.wait_for_selector("#cases", timeout=30000)
        items = tablet.locator("#cases li")
        assert items.count() > 0
        listing = tablet.inner_text("#cases")
        _shot(tablet, "list", tmp_path)
        tablet.set_viewport_size({"width": 1280, "height": 800})
        _shot(tablet, "list-landscape", tmp_path)
        tablet.set_viewport_size({"width": 768, "height": 1024})
        tablet.locator("#cases button").first.click()
        facts = tablet.locator("#case dd").all_inner_texts()
        name, address = facts[1], facts[3]
        assert name and address and name not in listing  # names masked in the list
        _shot(tablet, "case", tmp_path)

        # No output: copy is refused, printing gives a blank page.
        copied = tablet.evaluate(
            """() => { const e = new ClipboardEvent('copy', {cancelable: true, bubbles: true});
                       document.querySelector('#case dd').dispatchEvent(e); return e.defaultPrevented; }"""
        )
        assert copied is True
        tablet.emulate_media(media="print")
        printed = Image.open(io.BytesIO(tablet.screenshot()))
        assert printed.convert("L").getextrema() == (255, 255), "the printout is not blank"
        tablet.emulate_media(media="screen")

        # Nothing personal in the clear: IndexedDB raw, localStorage, the Cache API.
        raw = tablet.evaluate(READ_RAW_IDB)
        assert "records/" in raw and "device/vault" in raw
        for secret in (name, name.replace(" ", ""), address, address[:8]):
            assert secret not in raw, f"{secret!r} in IndexedDB in the clear"
        assert "extractable=false" in raw
        assert tablet.evaluate("() => localStorage.length + sessionStorage.length") == 0
        cached = tablet.evaluate(
            """async () => { const out = [];
                 for (const n of await caches.keys()) for (const r of await (await caches.open(n)).keys()) out.push(new URL(r.url).pathname);
                 return out; }"""
        )
        assert cached and not [u for u in cached if "/api/" in u], cached

        # Offline: reload from the service worker's shell, unlock with the PIN.
        tablet.evaluate("async () => { await navigator.serviceWorker.ready; }")
        device.set_offline(True)
        tablet.reload()
        tablet.fill("#f-pin", PIN, timeout=15000)
        tablet.click("main button[type=submit]")
        tablet.wait_for_selector("#cases", timeout=20000)
        assert tablet.locator("#cases li").count() == items.count()
        assert "オフライン" in tablet.inner_text("#net")
        _shot(tablet, "offline-list", tmp_path)

        # Hidden or out of focus: veiled. Idle for the set 2 minutes: locked.
        tablet.evaluate("() => window.dispatchEvent(new Event('blur'))")
        assert "veiled" in tablet.get_attribute("body", "class")
        _shot(tablet, "veiled", tmp_path)
        tablet.evaluate("() => window.dispatchEvent(new Event('focus'))")
        assert "veiled" not in (tablet.get_attribute("body", "class") or "")
        tablet.clock.fast_forward("02:05")
        tablet.wait_for_selector("#f-pin", timeout=10000)
        assert tablet.locator("#cases").count() == 0

        # The lease: once it has ended, the PIN alone no longer opens the data.
        tablet.evaluate(EXPIRE_LEASE)
        tablet.reload()
        tablet.wait_for_selector("text=利用期限が切れました", timeout=15000)
        assert tablet.locator("#f-pin").count() == 0
        assert "null" not in tablet.inner_text("main")
        _shot(tablet, "lease-expired", tmp_path)

        # Back at the office: sync renews the lease; the PIN opens again.
        device.set_offline(False)
        tablet.click("main button.primary")
        _sign_in_and_sync(tablet, pin_screen=False)
        tablet.fill("#f-pin", PIN, timeout=20000)
        tablet.click("main button[type=submit]")
        tablet.wait_for_selector("#cases", timeout=20000)
        # The case opened offline was reported by that sync and logged, and left the device.
        assert _tablet_views_logged(tablet_demo) >= 1
        assert tablet.evaluate(READ_OPENED) == 0

        # A record altered on the device is refused by AES-GCM, not shown.
        # Today's route (#route) and the other cases (#cases): the altered one is in either.
        synced = tablet.locator("#route li, #cases li").count()
        tablet.click("#lock-button")
        tablet.evaluate(TAMPER_ONE_RECORD)
        tablet.fill("#f-pin", PIN, timeout=15000)
        tablet.click("main button[type=submit]")
        tablet.wait_for_selector("#cases", timeout=20000)
        assert "改ざん" in tablet.inner_text("main")
        assert tablet.locator("#route li, #cases li").count() == synced - 1

        # Five wrong PINs erase the local data (the enrolment stays).
        tablet.click("#lock-button")
        for n in range(5):
            tablet.fill("#f-pin", "000000", timeout=15000)
            tablet.click("main button[type=submit]")
            if n < 4:
                tablet.wait_for_selector(f"text=あと {4 - n} 回")
        tablet.wait_for_selector("#wiped", timeout=15000)
        _shot(tablet, "wiped-pin", tmp_path)
        assert "null" not in tablet.inner_text("main")
        assert tablet.evaluate(RECORD_COUNT) == 0
        assert "device/vault" not in tablet.evaluate(READ_RAW_IDB)

        # Revoked in the office: the next contact wipes everything.
        tablet.click("main button.primary")
        _sign_in_and_sync(tablet, pin_screen=True)
        tablet.wait_for_selector("#cases", timeout=30000)
        desk.goto(base + "/tablet/devices/")
        desk.fill("input[name=reason]", "紛失")
        desk.click("td form button[type=submit]")
        assert "失効させました" in desk.inner_text("main")
        tablet.click("#sync")
        _sign_in_and_sync(tablet, pin_screen=False)
        tablet.wait_for_selector("#wiped", timeout=15000)
        assert tablet.evaluate(RECORD_COUNT) == -1
        _shot(tablet, "wiped-revoked", tmp_path)
        browser.close()
    assert not [p for p in problems if "410" not in p and "401" not in p], problems


# Flip one byte of one sealed visit in the outbox (a visit altered on the device).
TAMPER_ONE_VISIT = """
async () => {
  const open = indexedDB.open("genchi-tablet");
  const db = await new Promise((ok) => { open.onsuccess = () => ok(open.result); });
  const tx = db.transaction("outbox", "readwrite");
  const store = tx.objectStore("outbox");
  const all = await new Promise((ok) => { const r = store.getAll(); r.onsuccess = () => ok(r.result); });
  const visit = all.find((r) => r.kind === "visit");
  const bytes = new Uint8Array(visit.data);
  bytes[3] ^= 1;
  visit.data = bytes.buffer;
  store.put(visit);
  await new Promise((ok) => { tx.oncomplete = ok; });
  db.close();
  return all.filter((r) => r.kind === "visit").length;
}
"""


def _choose(page, legend: str, label: str) -> None:
    page.get_by_role("group", name=legend).get_by_text(label, exact=True).click()


def _fill_visit(page, *, outcome: str) -> None:
    """A visit as the surveyor enters it at the door, choices picked by their labels."""
    for legend in ("建物の種類", "表札", "郵便受けの名前"):
        page.get_by_role("group", name=legend).locator("label.choice").first.click()
    _choose(page, "応答", "なし")
    _choose(page, "連絡票", "郵便受けに投函")
    _choose(page, "調査結果(この訪問まで)", outcome)


def _open_first_case(page) -> str:
    first = page.locator("#route button, #cases button").first
    ref = first.locator(".ref").inner_text()
    first.click()
    return ref


def test_tablet_route_map_offline(tablet_demo, tmp_path):
    """Issue 16 item 9, the map of the day: after a sync, offline, today's route is drawn
    over the offline base map with its stops numbered in order, the line between them and
    the surveyor's position; a numbered marker opens its case; names stay masked; the
    map's files come from the service worker and no request leaves the Genchi server."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import jpholiday

    from genchi.planner.demo import DEMO_WEEKDAYS

    today = dt.datetime.now(ZoneInfo("Asia/Tokyo")).date()
    if today.weekday() not in DEMO_WEEKDAYS or jpholiday.is_holiday(today):
        pytest.skip("the demo's campaign plans no route today (a Sunday or a holiday)")
    playwright = pytest.importorskip("playwright.sync_api")
    base = tablet_demo["url"]
    problems: list[str] = []
    requested: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        device = browser.new_context(
            viewport={"width": 768, "height": 1024},
            locale="ja-JP",
            geolocation={"latitude": 35.6938, "longitude": 139.7034, "accuracy": 30},
            permissions=["geolocation"],
        )
        office = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
        device.on("request", lambda r: requested.append(r.url))
        tablet = device.new_page()
        tablet.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tablet.on("pageerror", lambda e: problems.append(str(e)))
        desk = office.new_page()

        tablet.goto(base + "/tablet/")
        tablet.click("#enrol")
        code = tablet.locator("#enrol-code").inner_text().strip()
        _office_sign_in(desk, tablet_demo, "manager")
        desk.goto(base + "/tablet/devices/")
        desk.fill("#id_code", code)
        desk.select_option(
            "#id_surveyor",
            label=desk.locator("#id_surveyor option", has_text="早稲田").first.inner_text(),
        )
        desk.fill("#id_label", "T-03")
        desk.click("form.card button[type=submit]")
        tablet.wait_for_selector("#f-username", timeout=15000)
        _sign_in_and_sync(tablet, pin_screen=True)
        tablet.wait_for_selector("#route", timeout=30000)
        tablet.wait_for_selector("#day-map[data-basemap-loaded]", timeout=30000)

        # Offline in the field: the shell, Leaflet and the base map from the worker.
        tablet.evaluate("async () => { await navigator.serviceWorker.ready; }")
        cached = tablet.evaluate(CACHED_URLS)
        assert any(u.endswith(".geojson") for u in cached), cached
        assert any("leaflet" in u and u.endswith(".js") for u in cached), cached
        assert not [u for u in cached if "/api/" in u], cached  # nothing personal cached
        device.set_offline(True)
        tablet.reload()
        tablet.fill("#f-pin", PIN, timeout=15000)
        tablet.click("main button[type=submit]")
        tablet.wait_for_selector("#route", timeout=20000)
        tablet.wait_for_function(
            "() => Number(document.querySelector('#day-map')?.dataset.basemapLoaded) > 0",
            timeout=20000,
        )
        refs = tablet.locator("#route .ref").all_inner_texts()
        assert refs
        assert tablet.locator(".map-side .unplaced").count() == 0  # every stop is geocoded
        pins = tablet.locator("#day-map .stop-pin")
        assert pins.count() == len(refs)
        assert pins.all_inner_texts() == [str(n) for n in range(1, len(refs) + 1)]
        labels = [pins.nth(i).get_attribute("aria-label") for i in range(len(refs))]
        assert [ref in label for ref, label in zip(refs, labels, strict=True)] == [True] * len(refs)
        if len(refs) >= 2:
            assert tablet.locator("#day-map path.route-line").count() == 1
        # Where the surveyor is (drawn even when outside the route's view).
        tablet.wait_for_selector('#day-map[data-here="1"]', timeout=15000)
        assert tablet.locator("#day-map path.here-dot").count() == 1
        box = pins.first.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44  # a thumb's target
        _shot(tablet, "route-map", tmp_path)
        tablet.set_viewport_size({"width": 1280, "height": 800})
        _shot(tablet, "route-map-landscape", tmp_path)
        tablet.set_viewport_size({"width": 768, "height": 1024})

        # A tap on a number opens that stop's case; names stay masked on the list and map.
        tablet.locator('#day-map .stop-pin[data-order="1"]').click()
        tablet.wait_for_selector("#case")
        assert refs[0] in tablet.inner_text("h1")
        name = tablet.locator("#case dd").all_inner_texts()[1]
        assert name
        tablet.click("text=戻る")
        tablet.wait_for_selector("#day-map .stop-pin")
        assert name not in tablet.inner_text("main")
        assert name not in tablet.inner_html("#day-map")

        # Locking drops the map with the decrypted cases.
        tablet.click("#lock-button")
        tablet.wait_for_selector("#f-pin")
        assert tablet.locator("#day-map").count() == 0
        browser.close()
    server = base.rstrip("/")
    outside = [u for u in requested if not (u.startswith(server + "/") or u.startswith("data:"))]
    assert not outside, outside  # no tile server, nothing but Genchi
    assert not [p for p in problems if "410" not in p and "401" not in p], problems


# Runs after the route's map: the visits it syncs are applied to the plan by the worker,
# and a result re-plans the surveyor's days from the next day on (docs/planning.md).
def test_tablet_records_visits_offline_and_syncs_them_up(tablet_demo, tmp_path):
    """The day in the field: offline, a visit with a photo from the app's camera, the
    visit rules and the S5 guard on the device; a tampered visit is not sent; back at the
    office the visits go up and the office sees them."""
    playwright = pytest.importorskip("playwright.sync_api")
    base = tablet_demo["url"]
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
            ],
        )
        device = browser.new_context(viewport={"width": 768, "height": 1024}, locale="ja-JP")
        office = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
        tablet = device.new_page()
        tablet.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tablet.on("pageerror", lambda e: problems.append(str(e)))
        posted: list[str] = []
        tablet.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
        desk = office.new_page()

        tablet.goto(base + "/tablet/")
        tablet.click("#enrol")
        code = tablet.locator("#enrol-code").inner_text().strip()
        _office_sign_in(desk, tablet_demo, "manager")
        desk.goto(base + "/tablet/devices/")
        desk.fill("#id_code", code)
        desk.select_option(
            "#id_surveyor",
            label=desk.locator("#id_surveyor option", has_text="早稲田").first.inner_text(),
        )
        desk.fill("#id_label", "T-02")
        desk.click("form.card button[type=submit]")
        tablet.wait_for_selector("#f-username", timeout=15000)
        _sign_in_and_sync(tablet, pin_screen=True)
        tablet.wait_for_selector("#route, #cases", timeout=30000)
        _shot(tablet, "day", tmp_path)

        # Offline in the field: the shell from the service worker, the PIN.
        tablet.evaluate("async () => { await navigator.serviceWorker.ready; }")
        device.set_offline(True)
        tablet.reload()
        tablet.fill("#f-pin", PIN, timeout=15000)
        tablet.click("main button[type=submit]")
        tablet.wait_for_selector("#route, #cases", timeout=20000)
        first_ref = _open_first_case(tablet)
        assert "方書" in tablet.inner_text("#case")
        tablet.click("#visit-new")
        tablet.wait_for_selector("form#visit")
        # The rules of the office form, on the device: 居住確認 needs someone met.
        _fill_visit(tablet, outcome="居住確認")
        tablet.fill("#v-notes", "入院中と隣人から聞いた。")
        tablet.click("#visit-save")
        tablet.wait_for_selector(".field-error")
        errors = tablet.inner_text("form#visit")
        assert "居住確認は本人または家族と面談できた場合だけです。" in errors
        assert "「入院」" in errors and "言い換えてください。" in errors
        _shot(tablet, "visit-rules", tmp_path)
        _choose(tablet, "調査結果(この訪問まで)", "居住推定")
        tablet.fill("#v-notes", "郵便受けに連絡票を投函した。")
        # The photo from the app's camera (a fake camera here), never from a file.
        assert tablet.locator("input[type=file]").count() == 0
        tablet.click("#take-photo")
        tablet.wait_for_function(
            "() => document.querySelector('#camera').readyState >= 2", timeout=15000
        )
        _shot(tablet, "camera", tmp_path)
        tablet.click("#shutter")
        tablet.wait_for_selector("text=撮影した写真: 1 枚")
        tablet.click("#visit-save")
        tablet.wait_for_selector("#outbox", timeout=15000)
        assert "記録済み" in tablet.inner_text("main")
        _shot(tablet, "visit-saved", tmp_path)

        # A second visit, on another case; then one of the two sealed visits is altered.
        cases = tablet.locator("#route button, #cases button")
        assert cases.count() >= 2
        second_ref = cases.nth(1).locator(".ref").inner_text()
        cases.nth(1).click()
        tablet.click("#visit-new")
        _fill_visit(tablet, outcome="居住推定")
        tablet.click("#visit-save")
        tablet.wait_for_selector("text=未送信の訪問が 2 件")
        raw = tablet.evaluate(READ_RAW_IDB)
        assert "outbox/" in raw and "郵便受けに連絡票を投函した" not in raw
        assert tablet.evaluate(TAMPER_ONE_VISIT) == 2
        tablet.click("#lock-button")
        tablet.fill("#f-pin", PIN, timeout=15000)
        tablet.click("main button[type=submit]")
        tablet.wait_for_selector("text=改ざん")
        assert "未送信の訪問が 1 件" in tablet.inner_text("main")

        # Back at the office: the visit goes up (the altered one does not).
        device.set_offline(False)
        tablet.click("#sync")
        _sign_in_and_sync(tablet, pin_screen=False)
        tablet.wait_for_selector("#sync-report", timeout=60000)
        report = tablet.inner_text("#sync-report")
        assert "訪問 1 件を送信しました。" in report and "改ざん" in report
        assert tablet.locator("#outbox").count() == 0
        # The visit and its photo went up in one batch (the altered visit not at all).
        assert [u for u in posted if "/sync/up" in u] == [base + "/tablet/api/sync/up/"]
        _shot(tablet, "synced-up", tmp_path)

        # The server records what came up in the background: its worker runs the tasks.
        subprocess.run(
            [*tablet_demo["genchi"], "worker", "--batch"],
            env=tablet_demo["env"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        # The office sees the visits entered on the tablet.
        seen = 0
        for ref in (first_ref, second_ref):
            desk.goto(f"{base}/fieldwork/cases/shinjuku-2026-kyojuu/{ref}/")
            found = desk.inner_text("main").count("タブレット")
            if found:  # the visit sent up, with its field checks for the reviewer
                assert "現地での確認" in desk.inner_text("main")
                assert "現地での時間" in desk.inner_text("main")
                _shot(desk, "office-visit", tmp_path)
            seen += found
        assert seen == 1
        browser.close()
    assert not [p for p in problems if "410" not in p and "401" not in p], problems


CACHED_URLS = """
async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) urls.push(request.url);
  }
  return urls;
}
"""
