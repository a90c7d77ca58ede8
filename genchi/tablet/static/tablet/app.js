// The tablet app (D6): enrol, sign in at the office, sync down, unlock with the PIN in
// the field, today's cases. Personal data exists in the clear only in memory while
// the app is unlocked; on the device it is sealed under the data key (keys.js).
import { ApiError, Batch, post, signedPost, signedPostBatch } from "./api.js";
import { closeCamera, openCamera, takePhoto } from "./camera.js";
import { drawDayMap, placedStops, removeDayMap, showHere } from "./daymap.js";
import { installGuards } from "./guard.js";
import {
  makeDeviceKey,
  newVault,
  openVault,
  randomHex,
  seal,
  sealBytes,
  sha256Hex,
  unseal,
  unsealBytes,
} from "./keys.js";
import { visitProblems } from "./rules.js";
import * as store from "./store.js";
import { checkText } from "./words.js";

const MAX_PIN_FAILURES = 5;
const body = document.body;
const screen = document.getElementById("screen");
const lockButton = document.getElementById("lock-button");
let strings = {};
// In memory only, never stored: the open data key, the decrypted cases, the day (route,
// visit form, rules, word list), the visits waiting to go up, the sign-in token and a
// sync answer waiting for the PIN.
const session = {
  dataKey: null,
  cases: [],
  day: null,
  outbox: [],
  damaged: 0,
  token: "",
  pendingSync: null,
};

function forget() {
  removeDayMap();
  session.dataKey = null;
  session.cases = [];
  session.day = null;
  session.outbox = [];
  session.damaged = 0;
  session.token = "";
  session.pendingSync = null;
}

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
  removeDayMap(); // a map lives only on the screen that drew it
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
  // Visits go up first (while the cases they belong to are still on the device).
  const report = session.dataKey ? await syncUp(me) : null;
  // The cases opened on the device since the last sync go with it, to be logged.
  const opened = (await store.get("opened")) || [];
  const answer = await signedPost(
    "/tablet/api/sync/down/",
    { held: await heldRefs(), opened },
    { ...me, token: session.token },
  );
  await forgetOpened(opened.map((o) => o.id));
  session.pendingSync = answer;
  if (!(await store.get("vault"))) return pinSetScreen();
  if (!session.dataKey) return unlockScreen();
  await storeSync();
  return listScreen(syncNote(report));
}

// What a sync did, for the surveyor: sent, refused (with the server's reason), kept.
function syncNote(report) {
  if (!report) return message(t("sync_done"), "ok");
  const lines = [t("sync_done"), t("sync_up_sent", { n: report.sent })];
  if (report.invalid) lines.push(t("sync_up_invalid", { n: report.invalid }));
  if (report.damaged) lines.push(t("records_damaged", { n: report.damaged }));
  const bad = report.invalid || report.damaged;
  const note = h("div", { id: "sync-report" }, message(lines.join(" "), bad ? "error" : "ok"));
  for (const refusal of report.refused) note.append(message(refusal));
  return note;
}

// Sync up (C-S2.4), in batches: requests of several visits with their photos, up to the
// server's limits (api.js); each answer says per visit what is settled and which photos
// are still missing, and only those go again (resumable: a request cut is sent again, the
// server keeps each part once). A record that does not open (altered on the device) is
// never sent. Settled visits (recorded or refused) leave the device.
async function syncUp(me) {
  const report = { sent: 0, refused: [], invalid: 0, damaged: session.damaged };
  const signer = { ...me, token: session.token };
  // Per visit, the photos still to send: all at first, then what the server misses.
  const todo = session.outbox.map((visit) => ({ visit, photos: visit.photos.map((p) => p.id), sent: new Set() }));
  while (todo.length) {
    const batch = await packBatch(todo, report);
    if (!batch.visits.length) continue; // what was left did not open
    const answer = await signedPostBatch("/tablet/api/sync/up/", batch, signer);
    for (const result of answer.visits || []) {
      const at = todo.findIndex((item) => item.visit.id === result.visit);
      if (at < 0) continue;
      const item = todo[at];
      if (result.state === "waiting" && !(result.photos_refused || []).length) {
        const missing = result.missing || [];
        // Only photos not sent yet in this sync: the next requests take them.
        if (missing.length && !missing.some((id) => item.sent.has(id))) {
          item.photos = missing;
          continue;
        }
      }
      todo.splice(at, 1);
      if (result.photos_refused?.length) report.damaged += 1; // altered on the device
      await settle(item.visit, result, report);
    }
    // A visit the server did not answer for stays on the device for the next sync.
    const answered = new Set((answer.visits || []).map((r) => r.visit));
    for (const visit of batch.visits) {
      const at = todo.findIndex((item) => item.visit.id === visit.visit);
      if (at >= 0 && !answered.has(visit.visit)) todo.splice(at, 1);
    }
  }
  // Records that do not open (altered) can never be sent: once reported, they go, with
  // the photos no remaining visit names.
  const keep = new Set(session.outbox.flatMap((v) => [v.id, ...v.photos.map((p) => p.id)]));
  await store.outboxRemove((await store.outbox()).map((r) => r.id).filter((id) => !keep.has(id)));
  session.damaged = 0;
  return report;
}

// The next request: visits in order, each with as many of its photos as fit; a visit
// whose photos do not all fit goes on in the next request. A photo that does not open
// takes its visit out of this sync (reported as altered).
async function packBatch(todo, report) {
  const batch = new Batch();
  for (const item of [...todo]) {
    const entry = {
      visit: item.visit.id,
      case: item.visit.case,
      fields: item.visit.fields,
      photos: item.visit.photos,
      arrived_at: item.visit.arrived_at,
    };
    if (batch.visits.length && !batch.fits({ visit: entry })) break;
    const photos = [];
    try {
      for (const id of item.photos) {
        photos.push({ visit: item.visit.id, id, bytes: await unsealBytes(session.dataKey, await store.outboxGet(id)) });
      }
    } catch {
      report.damaged += 1;
      todo.splice(todo.indexOf(item), 1);
      continue;
    }
    // The first photo must fit beside what the request has (in an empty one it goes).
    if (batch.visits.length && photos.length && !batch.fits({ visit: entry, photo: photos[0] })) break;
    batch.addVisit(entry);
    const left = [];
    for (const photo of photos) {
      if (left.length || (batch.photos.length && !batch.fits({ photo }))) left.push(photo.id);
      else {
        batch.addPhoto(photo);
        item.sent.add(photo.id);
      }
    }
    item.photos = left;
    if (left.length) break; // the request is full
  }
  return batch;
}

// A visit the server has answered for: recorded or received (every part is on the server,
// recorded in the background) or refused leave the device; invalid stays, to be corrected.
async function settle(visit, result, report) {
  if (result.state === "recorded" || result.state === "received" || result.state === "refused") {
    await store.outboxRemove([visit.id, ...visit.photos.map((p) => p.id)]);
    session.outbox = session.outbox.filter((v) => v.id !== visit.id);
    if (result.state !== "refused") report.sent += 1;
    else report.refused.push(`${visit.case}: ${result.message}`);
  } else if (result.state === "invalid") {
    report.invalid += 1;
  }
}

// Seal the synced cases under the data key and keep the new lease.
async function storeSync() {
  const answer = session.pendingSync;
  session.pendingSync = null;
  if (!answer) return;
  const records = [];
  for (const item of answer.cases) records.push(await seal(session.dataKey, randomHex(16), item));
  const day = { kind: "day", route: answer.route, form: answer.form, rules: answer.rules, words: answer.words };
  records.push(await seal(session.dataKey, randomHex(16), day));
  await store.replaceRecords(records);
  await store.put("lease", { until: answer.lease_until, secret: answer.lease_secret });
  await store.put("lastSync", answer.server_time);
  session.cases = answer.cases;
  session.day = day;
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

// After a sync down waiting for the PIN: keep it, then take the visits up.
async function finishSync() {
  await storeSync();
  await openOutbox();
  let report = null;
  if (session.token) {
    try {
      report = await syncUp(await device());
    } catch (error) {
      if (error.wipe) return wiped(error.message);
      return listScreen(message(failure(error)));
    }
  }
  return listScreen(syncNote(report));
}

// The visits recorded on the device, opened into memory; an altered one is not.
async function openOutbox() {
  session.outbox = [];
  session.damaged = 0;
  for (const record of await store.outbox()) {
    if (record.kind !== "visit") continue;
    try {
      session.outbox.push(await unseal(session.dataKey, record));
    } catch {
      session.damaged += 1;
    }
  }
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
  performance.mark("genchi:unlock-shown"); // timings only (bench/tablet.py), nothing personal
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
  if (session.pendingSync) return finishSync();
  performance.mark("genchi:open-start");
  session.cases = [];
  let damaged = 0;
  for (const record of await store.allRecords()) {
    try {
      const item = await unseal(session.dataKey, record);
      if (item.kind === "day") session.day = item;
      else session.cases.push(item);
    } catch {
      damaged += 1; // altered or swapped on the device: AES-GCM refuses it
    }
  }
  await openOutbox();
  damaged += session.damaged;
  await listScreen(damaged ? message(t("records_damaged", { n: damaged })) : null);
  performance.mark("genchi:list-shown");
}

function lock() {
  if (!session.dataKey && !session.pendingSync) return;
  stopCamera();
  forget();
  route();
}

async function wiped(reason = "", { keepDevice = false } = {}) {
  stopCamera();
  forget();
  if (keepDevice) await store.wipeData();
  else await store.wipe();
  lockButton.hidden = true;
  show(
    h("h1", { id: "wiped" }, keepDevice ? t("wiped_pin") : t("wiped")),
    reason ? message(reason) : null,
    h("button", { type: "button", class: "primary", onclick: () => route() }, keepDevice ? t("signin") : t("enrol_start")),
  );
}

// --- The day in the field ------------------------------------------------------------------

// Today's route in the planner's order (with the contact slip to leave), then the other
// assigned cases by place.
function dayItems() {
  const byRef = new Map(session.cases.map((c) => [c.ref, c]));
  const stops = ((session.day && session.day.route && session.day.route.stops) || []).filter((s) => byRef.has(s.ref));
  const planned = new Set(stops.map((s) => s.ref));
  const others = [...session.cases]
    .filter((c) => !planned.has(c.ref))
    .sort((a, b) => `${a.pref}${a.city}${a.town}${a.ref}`.localeCompare(`${b.pref}${b.city}${b.town}${b.ref}`, "ja"));
  return {
    route: stops.map((s, i) => ({ case: byRef.get(s.ref), order: i + 1, time: s.time, slip: s.slip })),
    others: others.map((c) => ({ case: c })),
  };
}

function caseButton(item) {
  const c = item.case;
  const recorded = session.outbox.filter((v) => v.case === c.ref).length;
  return h(
    "li",
    {},
    h(
      "button",
      { type: "button", class: "case", onclick: () => caseScreen(c, item) },
      item.order ? h("span", { class: "order" }, String(item.order)) : null,
      h("span", { class: "ref" }, c.ref),
      h("span", { class: "masked", "aria-label": t("masked_help") }, "●●● ●●"),
      h("span", { class: "place" }, `${c.city}${c.town}`),
      item.time ? h("span", { class: "time" }, item.time) : null,
      recorded ? h("span", { class: "badge" }, t("recorded_here")) : null,
    ),
  );
}

// The map of the route: the static files it needs (named by the page, as the server
// stores them) and what each marker says (its order and case number, never a name).
function mapUrls() {
  const d = body.dataset;
  return {
    leaflet: d.leaflet,
    leafletCss: d.leafletCss,
    basemapJs: d.basemapJs,
    basemapCss: d.basemapCss,
    basemap: d.basemap,
  };
}

function routeMap(route) {
  const stops = placedStops(route);
  const el = h("div", { class: "day-map", id: "day-map", role: "region", "aria-label": t("map_title") });
  const unplaced = route.length - stops.length;
  const figure = h(
    "figure",
    { class: "map-side" },
    h("h2", {}, t("map_title")),
    el,
    h(
      "figcaption",
      { class: "help" },
      t("map_help"),
      unplaced ? h("span", { class: "unplaced" }, ` ${t("map_unplaced", { n: unplaced })}`) : null,
    ),
    navigator.geolocation
      ? h("button", { type: "button", class: "secondary", id: "map-here", onclick: () => showHere() }, t("map_here"))
      : null,
  );
  const draw = () =>
    drawDayMap(el, stops, {
      urls: mapUrls(),
      attribution: t("map_attribution"),
      label: (stop) => t("map_stop", { n: stop.order, ref: stop.ref }),
      onOpen: (stop) => caseScreen(stop.item.case, stop.item),
    }).catch(() => {
      el.replaceWith(message(t("map_failed")));
    });
  return { figure, draw };
}

async function listScreen(note) {
  lockButton.hidden = false;
  const lease = await store.get("lease");
  const { route, others } = dayItems();
  const waiting = session.outbox.length;
  const map = route.length ? routeMap(route) : null;
  show(
    h("h1", {}, t("today")),
    note,
    h("p", { class: "help" }, t("masked_help")),
    route.length
      ? h(
          "section",
          { class: "day" },
          h(
            "div",
            { class: "route-side" },
            h("h2", {}, t("route_title")),
            h("ol", { class: "cases personal", id: "route" }, route.map(caseButton)),
          ),
          map.figure,
        )
      : null,
    others.length ? h("h2", {}, route.length ? t("other_cases") : t("assigned_cases")) : null,
    others.length ? h("ul", { class: "cases personal", id: "cases" }, others.map(caseButton)) : null,
    !route.length && !others.length ? h("p", {}, t("no_cases")) : null,
    waiting ? h("p", { class: "status-line", id: "outbox" }, t("outbox_waiting", { n: waiting })) : null,
    lease
      ? h("p", { class: "status-line" }, `${t("lease_until")}: ${new Date(lease.until).toLocaleString()}`)
      : null,
    h("button", { type: "button", class: "secondary", id: "sync", onclick: () => signInScreen() }, t("sync")),
  );
  if (map) map.draw();
}

// Every access is logged: opening a case on the device is kept (the case and the moment)
// until the next sync reports it.
async function noteOpened(ref) {
  const opened = (await store.get("opened")) || [];
  opened.push({ id: randomHex(16), ref, at: new Date().toISOString() });
  await store.put("opened", opened);
}

async function forgetOpened(ids) {
  if (!ids.length) return;
  const sent = new Set(ids);
  const opened = (await store.get("opened")) || [];
  await store.put("opened", opened.filter((o) => !sent.has(o.id)));
}

function caseScreen(c, item = {}) {
  noteOpened(c.ref).catch(() => {}); // never stands between the surveyor and the case
  const facts = [
    [t("case"), c.ref],
    [t("name"), c.name],
    [t("postal_code"), c.postal_code || "—"],
    [t("address"), c.address],
    [t("building_line"), c.building_line || "—"],
    [t("visits"), String(c.visit_count)],
  ];
  // What is left to ask: the outcome so far, and why the office sent the case back.
  if (c.outcome) facts.push([t("outcome_so_far"), c.outcome]);
  if (c.review_reason) facts.push([t("review_reason"), c.review_reason]);
  if (item.slip) facts.push([t("slip"), `${item.slip} (${c.ref})`]);
  show(
    h("h1", {}, `${t("case")} ${c.ref}`),
    h("dl", { class: "facts personal", id: "case" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    session.day && session.day.form
      ? h("button", { type: "button", class: "primary", id: "visit-new", onclick: () => visitScreen(c, item) }, t("visit_new"))
      : null,
    h("button", { type: "button", class: "secondary", onclick: () => listScreen() }, t("back")),
  );
}

// --- The visit form (the office's form, its rules and the S5 guard, from the server) -------

const camera = { stream: null, video: null };

function stopCamera() {
  closeCamera(camera.stream, camera.video);
  camera.stream = null;
  camera.video = null;
}

function fieldControl(def, value, error) {
  const id = `v-${def.name}`;
  const problem = error ? h("p", { class: "field-error", role: "alert" }, error) : null;
  const help = def.help ? h("p", { class: "help" }, def.help) : null;
  if (def.kind === "radio") {
    const current = value ?? def.initial ?? "";
    return h(
      "fieldset",
      { class: error ? "choices invalid" : "choices", id },
      h("legend", {}, def.label),
      def.choices.map(([v, label]) =>
        h("label", { class: "choice" }, h("input", { type: "radio", name: def.name, value: v, checked: v === current }), h("span", {}, label)),
      ),
      help,
      problem,
    );
  }
  if (def.kind === "checkbox") {
    return h(
      "div",
      { class: "check" },
      h("label", { class: "choice" }, h("input", { type: "checkbox", name: def.name, id, checked: Boolean(value) }), h("span", {}, def.label)),
      problem,
    );
  }
  const attrs = { id, name: def.name, maxlength: def.max_length || false };
  const control =
    def.kind === "textarea"
      ? h("textarea", { ...attrs, rows: "3" }, value || "")
      : h("input", { ...attrs, type: "text", inputmode: def.kind === "number" ? "decimal" : false, value: value || "" });
  return h("div", { class: error ? "field invalid" : "field" }, h("label", { for: id }, def.label), control, help, problem);
}

function readForm(formEl, defs) {
  const data = new FormData(formEl);
  const values = {};
  for (const def of defs) {
    if (def.kind === "checkbox") values[def.name] = data.get(def.name) ? "on" : "";
    else if (data.get(def.name) != null) values[def.name] = String(data.get(def.name)).trim();
  }
  return values;
}

function visitScreen(c, item, state = { values: {}, errors: {}, photos: [], openedAt: new Date().toISOString() }) {
  const defs = session.day.form.filter((d) => d.kind !== "datetime");
  const formEl = h(
    "form",
    { id: "visit", autocomplete: "off", novalidate: true },
    defs.map((def) => fieldControl(def, state.values[def.name], state.errors[def.name])),
  );
  const here = h("button", { type: "button", class: "secondary", id: "position" }, t("position_here"));
  here.addEventListener("click", () => {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(
      (p) => {
        formEl.elements.lat.value = p.coords.latitude.toFixed(6);
        formEl.elements.lng.value = p.coords.longitude.toFixed(6);
        if (formEl.elements.accuracy_m) formEl.elements.accuracy_m.value = String(Math.round(p.coords.accuracy));
      },
      () => {},
      { enableHighAccuracy: true, timeout: 15000 },
    );
  });
  const count = h("p", { class: "status-line", id: "photo-count" }, t("photos_taken", { n: state.photos.length }));
  const video = h("video", { class: "camera", id: "camera", hidden: true });
  const shutter = h("button", { type: "button", class: "primary", id: "shutter", hidden: true }, t("shutter"));
  const openButton = h("button", { type: "button", class: "secondary", id: "take-photo" }, t("take_photo"));
  openButton.addEventListener("click", async () => {
    try {
      camera.video = video;
      camera.stream = await openCamera(video);
      video.hidden = false;
      shutter.hidden = false;
      openButton.hidden = true;
    } catch {
      stopCamera();
      count.replaceWith(message(t("camera_failed")));
    }
  });
  shutter.addEventListener("click", async () => {
    const bytes = await takePhoto(video);
    stopCamera();
    state.photos.push({ id: randomHex(16), bytes, sha256: await sha256Hex(bytes) });
    video.hidden = true;
    shutter.hidden = true;
    openButton.hidden = false;
    count.textContent = t("photos_taken", { n: state.photos.length });
  });
  const save = h("button", { type: "button", class: "primary", id: "visit-save" }, t("visit_save"));
  save.addEventListener("click", () => saveVisit(c, item, formEl, defs, state));
  const cancel = h("button", { type: "button", class: "secondary", onclick: () => { stopCamera(); caseScreen(c, item); } }, t("cancel"));
  const problems = Object.keys(state.errors).length;
  screen.replaceChildren(
    h("h1", {}, `${t("visit_new")} ${c.ref}`),
    problems ? message(t("visit_problems", { n: problems })) : null,
    here,
    formEl,
    h("h2", {}, t("photos")),
    count,
    video,
    shutter,
    openButton,
    save,
    cancel,
  );
  if (problems) screen.querySelector(".invalid")?.scrollIntoView();
}

async function saveVisit(c, item, formEl, defs, state) {
  const values = readForm(formEl, defs);
  values.visited_at = new Date().toISOString();
  // The same rules as the server's form, then the S5 guard on every free text.
  const errors = visitProblems(session.day.rules, session.day.form, values);
  for (const def of defs) {
    if (def.kind !== "textarea" || errors[def.name]) continue;
    const guard = checkText(values[def.name] || "", session.day.words);
    if (!guard.allowed) errors[def.name] = guard.message;
  }
  for (const def of defs) {
    if (def.required && def.kind === "radio" && !values[def.name] && !errors[def.name]) errors[def.name] = t("required");
  }
  if (Object.keys(errors).length) return visitScreen(c, item, { ...state, values, errors });
  stopCamera();
  const visit = {
    kind: "visit",
    id: randomHex(16),
    case: c.ref,
    arrived_at: state.openedAt, // the form opened at the door: time on site (server checks)
    fields: values,
    photos: state.photos.map((p) => ({ id: p.id, sha256: p.sha256 })),
  };
  const records = [{ ...(await seal(session.dataKey, visit.id, visit)), kind: "visit" }];
  for (const photo of state.photos) records.push({ ...(await sealBytes(session.dataKey, photo.id, photo.bytes)), kind: "photo" });
  await store.outboxPut(records);
  session.outbox.push(visit);
  state.photos = [];
  return listScreen(message(t("visit_saved"), "ok"));
}

start();
