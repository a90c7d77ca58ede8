// The device's IndexedDB. Three stores (and "outbox": visits and photos sealed, until sent):
//   "device":  the device key pair (CryptoKey objects, private half non-extractable), the
//              device id, the wrapped data key ("vault"), the wrong-PIN count, the lease
//              (its end and its secret, deleted when it ends). Nothing personal.
//   "records": every record with personal data, each sealed with AES-GCM under the data
//              key, keyed by a random id (the case reference is inside, encrypted).
// Nothing is ever written to localStorage, sessionStorage, the Cache API or the URL.
import { deleteDB, openDB } from "./vendor/idb/index.js";

export const DB_NAME = "genchi-tablet";
let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = openDB(DB_NAME, 2, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          database.createObjectStore("device");
          database.createObjectStore("records", { keyPath: "id" });
        }
        // Visits and photos recorded on the device, sealed, until the server has them.
        if (oldVersion < 2) database.createObjectStore("outbox", { keyPath: "id" });
      },
    });
  }
  return dbPromise;
}

export async function get(key) {
  return (await db()).get("device", key);
}

export async function put(key, value) {
  return (await db()).put("device", value, key);
}

export async function remove(key) {
  return (await db()).delete("device", key);
}

export async function allRecords() {
  return (await db()).getAll("records");
}

export async function replaceRecords(records) {
  const tx = (await db()).transaction("records", "readwrite");
  await tx.store.clear();
  for (const record of records) await tx.store.put(record);
  await tx.done;
}

export async function outbox() {
  return (await db()).getAll("outbox");
}

export async function outboxGet(id) {
  return (await db()).get("outbox", id);
}

// A visit and its photos go in together (one transaction: all or nothing).
export async function outboxPut(records) {
  const tx = (await db()).transaction("outbox", "readwrite");
  for (const record of records) await tx.store.put(record);
  await tx.done;
}

export async function outboxRemove(ids) {
  const tx = (await db()).transaction("outbox", "readwrite");
  for (const id of ids) await tx.store.delete(id);
  await tx.done;
}

// Erase everything this app keeps on the device (five wrong PINs, a revoked device).
export async function wipe() {
  if (dbPromise) {
    (await dbPromise).close();
    dbPromise = null;
  }
  await deleteDB(DB_NAME);
}

// Erase the data but keep the device's enrolment (five wrong PINs): the surveyor signs
// in again at the office and syncs; the sealed records and the wrapped key are gone.
export async function wipeData() {
  const database = await db();
  const tx = database.transaction(["records", "outbox", "device"], "readwrite");
  await tx.objectStore("records").clear();
  await tx.objectStore("outbox").clear();
  for (const key of ["vault", "lease", "lastSync", "pinFailures"]) {
    await tx.objectStore("device").delete(key);
  }
  await tx.done;
}
