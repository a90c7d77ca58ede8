// The tablet app (D6): enrol, sign in at the office, sync down, unlock with the PIN in
// the field, today's cases. Personal data exists in the clear only in memory while
// the app is unlocked; on the device it is sealed under the data key (keys.js).
import { ApiError, post, signedPost } from "./api.js";
import { installGuards } from "./guard.js";
import { makeDeviceKey, newVault, openVault, randomHex, seal, unseal } from "./keys.js";
import * as store from "./store.js";

const MAX_PIN_FAILURES = 5;
const body = document.body;
const screen = document.getElementById("screen");
const lockButton = document.getElementById("lock-button");
let strings = {};
// In memory only, never stored: the open data key, the decrypted cases, the sign-in
// token and a sync answer waiting for the PIN.
const session = { dataKey: null, cases: [], token: "", pendingSync: null };

function t(key, vars = {}) {
  let text = strings[key] || key;
  for (const [name, value] of Object.entries(vars)) text = text.replace(`%(${name})s`, value);
  return text;
}

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "onclick") el.addEventListener("click", value);
    else if (name === "onsubmit") el.addEventListener("submit", value);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false && value != null) el.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function show(...children) {
  screen.replaceChildren(...children.flat().filter((c) => c != null && c !== false));
  const first = screen.querySelector("input, button");
  if (first) first.focus();
}

function message(text, kind = "error") {
  return h("p", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

function field(label, name, type = "text", extra = {}) {
  const id = `f-${name}`;
  return [h("label", { for: id }, label), h("input", { id, name, type, required: true, ...extra })];
}

function failure(error) {
  if (error instanceof ApiError && error.reason === "offline") return t("offline");
  return (error && error.message) || t("error");
}

// --- Start ------------------------------------------------------------------------------

async function start() {
  strings = await (await fetch(body.dataset.strings)).json();
  updateNet();
  window.addEventListener("online", updateNet);
  window.addEventListener("offline", updateNet);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(body.dataset.worker, { scope: "/tablet/" });
  }
  installGuards({
    idleSeconds: Number(body.dataset.idleLockSeconds) || 120,
    onIdle: () => lock(),
  });
  lockButton.addEventListener("click", () => lock());
  await route();
}

function updateNet() {
  const net = document.getElementById("net");
  net.textContent = navigator.onLine ? t("online") : t("offline");
  net.classList.toggle("offline", !navigator.onLine);
}

async function route(note = null) {
  const keypair = await store.get("keypair");
  const deviceId = await store.get("deviceId");
  if (!keypair) return enrolScreen(note);
  if (!deviceId) return waitScreen(keypair);
  if (!(await store.get("vault"))) return signInScreen(note);
  return unlockScreen(note);
}

// --- Enrolment --------------------------------------------------------------------------

function enrolScreen(note) {
  lockButton.hidden = true;
  show(
    h("h1", {}, t("enrol_title")),
    note,
    h("p", { class: "help" }, t("enrol_help")),
    h("button", { type: "button", class: "primary", id: "enrol", onclick: enrol }, t("enrol_start")),
  );
}

async function enrol() {
  try {
    const keypair = await makeDeviceKey();
    await store.put("keypair", keypair);
    await signedPost("/tablet/api/enrol/", { public_key: keypair.spki }, keypair);
    await waitScreen(keypair);
  } catch (error) {
    await store.remove("keypair");
    enrolScreen(message(failure(error)));
  }
}

async function waitScreen(keypair) {
  lockButton.hidden = true;
  let state;
  try {
    state = await signedPost("/tablet/api/enrol/status/", { public_key: keypair.spki }, keypair);
  } catch (error) {
    if (error.wipe) return wiped();
    return show(h("h1", {}, t("enrol_title")), message(failure(error)));
  }
  if (state.state === "enrolled") {
    await store.put("deviceId", state.device);
    return signInScreen(message(t("enrol_done"), "ok"));
  }
  if (state.state !== "pending") {
    await store.remove("keypair");
    return enrolScreen(message(t("enrol_expired")));
  }
  show(
    h("h1", {}, t("enrol_title")),
    h("p", { class: "help" }, t("enrol_help")),
    h("div", { class: "code", id: "enrol-code" }, state.code),
    h("p", { class: "status-line" }, t("enrol_waiting")),
  );
  setTimeout(() => {
    if (document.getElementById("enrol-code")) waitScreen(keypair);
  }, 2000);
}

// --- Sign-in and sync (at the office) -----------------------------------------------------

function signInScreen(note) {
  lockButton.hidden = !session.dataKey;
  const form = h(
    "form",
    { onsubmit: signIn, autocomplete: "off" },
    field(t("username"), "username", "text", { autocapitalize: "none", spellcheck: "false" }),
    field(t("password"), "password", "password", { autocomplete: "current-password" }),
    h("button", { type: "submit", class: "primary" }, t("signin")),
  );
  const back = session.dataKey
    ? h("button", { type: "button", class: "secondary", onclick: () => listScreen() }, t("back"))
    : null;
  show(h("h1", {}, t("signin_title")), note, h("p", { class: "help" }, t("signin_help")), form, back);
}

async function device() {
  return { ...(await store.get("keypair")), deviceId: await store.get("deviceId") };
}

async function signIn(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  const me = await device();
  try {
    const { challenge } = await post("/tablet/api/challenge/", { device: me.deviceId });
    const answer = await signedPost(
      "/tablet/api/signin/",
      { username: data.get("username"), password: data.get("password"), challenge },
      me,
    );
    session.token = answer.token;
    await sync();
  } catch (error) {
    if (error.wipe) return wiped(error.message);
    signInScreen(message(failure(error)));
  }
}

async function heldRefs() {
  return session.dataKey ? session.cases.map((c) => c.ref) : [];
}

async function sync() {
  const me = await device();
  const answer = await signedPost(
    "/tablet/api/sync/down/",
    { held: await heldRefs() },
    { ...me, token: session.token },
  );
  session.pendingSync = answer;
  if (!(await store.get("vault"))) return pinSetScreen();
  if (!session.dataKey) return unlockScreen();
  await storeSync();
  return listScreen(message(t("sync_done"), "ok"));
}

// Seal the synced cases under the data key and keep the new lease.
async function storeSync() {
  const answer = session.pendingSync;
  session.pendingSync = null;
  if (!answer) return;
  const records = [];
  for (const item of answer.cases) records.push(await seal(session.dataKey, randomHex(16), item));
  await store.replaceRecords(records);
  await store.put("lease", { until: answer.lease_until, secret: answer.lease_secret });
  await store.put("lastSync", answer.server_time);
  session.cases = answer.cases;
}

function pinSetScreen(note) {
  lockButton.hidden = true;
  const form = h(
    "form",
    { onsubmit: setPin, autocomplete: "off" },
    field(t("pin"), "pin", "password", { inputmode: "numeric", pattern: "[0-9]*", minlength: "6" }),
    field(t("pin_again"), "pin2", "password", { inputmode: "numeric", pattern: "[0-9]*" }),
    h("button", { type: "submit", class: "primary" }, t("pin_save")),
  );
  show(h("h1", {}, t("pin_set_title")), note, h("p", { class: "help" }, t("pin_set_help")), form);
}

async function setPin(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  const pin = String(data.get("pin"));
  if (!/^[0-9]{6,}$/.test(pin)) return pinSetScreen(message(t("pin_too_short")));
  if (pin !== data.get("pin2")) return pinSetScreen(message(t("pin_mismatch")));
  const { vault, dataKey } = await newVault(pin, session.pendingSync.lease_secret);
  await store.put("vault", vault);
  await store.put("pinFailures", 0);
  session.dataKey = dataKey;
  await storeSync();
  listScreen(message(t("sync_done"), "ok"));
}

// --- Lock and unlock (in the field) ----------------------------------------------------

async function currentLeaseSecret() {
  if (session.pendingSync) return session.pendingSync.lease_secret;
  const lease = await store.get("lease");
  if (!lease) return null;
  if (Date.now() > Date.parse(lease.until)) {
    await store.remove("lease"); // the lease is over: the PIN alone opens nothing now
    return null;
  }
  return lease.secret;
}

async function unlockScreen(note) {
  lockButton.hidden = true;
  const secret = await currentLeaseSecret();
  if (!secret) {
    return show(
      h("h1", {}, t("unlock_title")),
      note,
      message(t("lease_expired")),
      h("button", { type: "button", class: "primary", onclick: () => signInScreen() }, t("sync")),
    );
  }
  const form = h(
    "form",
    { onsubmit: unlock, autocomplete: "off" },
    field(t("pin"), "pin", "password", { inputmode: "numeric", pattern: "[0-9]*" }),
    h("button", { type: "submit", class: "primary" }, t("unlock")),
  );
  show(h("h1", {}, t("unlock_title")), note, h("p", { class: "help" }, t("unlock_help")), form);
}

async function unlock(event) {
  event.preventDefault();
  const pin = String(new FormData(event.target).get("pin"));
  const secret = await currentLeaseSecret();
  if (!secret) return unlockScreen();
  const vault = await store.get("vault");
  try {
    session.dataKey = await openVault(vault, pin, secret);
  } catch {
    const failures = ((await store.get("pinFailures")) || 0) + 1;
    if (failures >= MAX_PIN_FAILURES) return wiped("", { keepDevice: true });
    await store.put("pinFailures", failures);
    return unlockScreen(message(t("pin_wrong", { n: MAX_PIN_FAILURES - failures })));
  }
  await store.put("pinFailures", 0);
  if (session.pendingSync) {
    await storeSync();
    return listScreen(message(t("sync_done"), "ok"));
  }
  session.cases = [];
  let damaged = 0;
  for (const record of await store.allRecords()) {
    try {
      session.cases.push(await unseal(session.dataKey, record));
    } catch {
      damaged += 1; // altered or swapped on the device: AES-GCM refuses it
    }
  }
  return listScreen(damaged ? message(t("records_damaged", { n: damaged })) : null);
}

function lock() {
  if (!session.dataKey && !session.pendingSync) return;
  session.dataKey = null;
  session.cases = [];
  session.token = "";
  session.pendingSync = null;
  route();
}

async function wiped(reason = "", { keepDevice = false } = {}) {
  session.dataKey = null;
  session.cases = [];
  session.token = "";
  session.pendingSync = null;
  if (keepDevice) await store.wipeData();
  else await store.wipe();
  lockButton.hidden = true;
  show(
    h("h1", { id: "wiped" }, keepDevice ? t("wiped_pin") : t("wiped")),
    reason ? message(reason) : null,
    h("button", { type: "button", class: "primary", onclick: () => route() }, keepDevice ? t("signin") : t("enrol_start")),
  );
}

// --- Today's cases ----------------------------------------------------------------------

function sortedCases() {
  return [...session.cases].sort((a, b) =>
    `${a.pref}${a.city}${a.town}${a.ref}`.localeCompare(`${b.pref}${b.city}${b.town}${b.ref}`, "ja"),
  );
}

async function listScreen(note) {
  lockButton.hidden = false;
  const lease = await store.get("lease");
  const items = sortedCases().map((c) =>
    h(
      "li",
      {},
      h(
        "button",
        { type: "button", class: "case", onclick: () => caseScreen(c) },
        h("span", { class: "ref" }, c.ref),
        h("span", { class: "masked", "aria-label": t("masked_help") }, "●●● ●●"),
        h("span", {}, `${c.city}${c.town}`),
      ),
    ),
  );
  show(
    h("h1", {}, t("today")),
    note,
    h("p", { class: "help" }, t("masked_help")),
    items.length ? h("ul", { class: "cases personal", id: "cases" }, items) : h("p", {}, t("no_cases")),
    lease
      ? h("p", { class: "status-line" }, `${t("lease_until")}: ${new Date(lease.until).toLocaleString()}`)
      : null,
    h("button", { type: "button", class: "secondary", id: "sync", onclick: () => signInScreen() }, t("sync")),
  );
}

function caseScreen(c) {
  const facts = [
    [t("case"), c.ref],
    [t("name"), c.name],
    [t("postal_code"), c.postal_code || "—"],
    [t("address"), c.address],
    [t("building_line"), c.building_line || "—"],
    [t("visits"), String(c.visit_count)],
  ];
  show(
    h("h1", {}, `${t("case")} ${c.ref}`),
    h("dl", { class: "facts personal", id: "case" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("button", { type: "button", class: "secondary", onclick: () => listScreen() }, t("back")),
  );
}

start();
