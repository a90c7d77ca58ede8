// Keys of the tablet (WebCrypto only; no key ever leaves the device in the clear).
//
// - The device key: ECDSA P-256, private half non-extractable, made here at enrolment;
//   the server keeps the public half and checks every request's signature with it.
// - The data key (DK): AES-GCM 256, random, encrypts every record in IndexedDB. It is
//   stored only wrapped (AES-GCM) under the key-encryption key (KEK).
// - The KEK: HKDF-SHA-256 over (PBKDF2-SHA-256(PIN, salt, 600000 rounds) || lease
//   secret). The lease secret comes from the server at each sync and is deleted on the
//   device when the lease ends: from then on the PIN alone opens nothing.

export const PBKDF2_ITERATIONS = 600000;
const enc = new TextEncoder();

export function b64(bytes) {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  let text = "";
  for (const byte of view) text += String.fromCharCode(byte);
  return btoa(text);
}

export function unb64(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

export function randomHex(n) {
  return Array.from(randomBytes(n), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function makeDeviceKey() {
  const pair = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    false, // the private key can never be exported
    ["sign", "verify"],
  );
  const spki = b64(await crypto.subtle.exportKey("spki", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, spki };
}

export async function sign(privateKey, text) {
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    privateKey,
    enc.encode(text),
  );
  return b64(signature); // raw r||s, 64 bytes
}

async function kek(pin, salt, leaseSecret, iterations) {
  const pinKey = await crypto.subtle.importKey("raw", enc.encode(pin), "PBKDF2", false, [
    "deriveBits",
  ]);
  const pinBits = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt, iterations },
      pinKey,
      256,
    ),
  );
  const lease = unb64(leaseSecret);
  const ikm = new Uint8Array(pinBits.length + lease.length);
  ikm.set(pinBits);
  ikm.set(lease, pinBits.length);
  const base = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveKey"]);
  ikm.fill(0);
  pinBits.fill(0);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt, info: enc.encode("genchi-tablet-kek-v1") },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["wrapKey", "unwrapKey"],
  );
}

// A new data key wrapped under (PIN, lease secret); returns the vault record and the
// data key itself, non-extractable, for this session.
export async function newVault(pin, leaseSecret) {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const dk = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
    "encrypt",
    "decrypt",
  ]);
  const wrapping = await kek(pin, salt, leaseSecret, PBKDF2_ITERATIONS);
  const wrapped = await crypto.subtle.wrapKey("raw", dk, wrapping, { name: "AES-GCM", iv });
  const vault = { salt, iv, wrapped, iterations: PBKDF2_ITERATIONS };
  return { vault, dataKey: await openVault(vault, pin, leaseSecret) };
}

// The data key, non-extractable; throws when the PIN or the lease secret is wrong.
export async function openVault(vault, pin, leaseSecret) {
  const wrapping = await kek(pin, vault.salt, leaseSecret, vault.iterations);
  return crypto.subtle.unwrapKey(
    "raw",
    vault.wrapped,
    wrapping,
    { name: "AES-GCM", iv: vault.iv },
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

export async function seal(dataKey, id, value) {
  const iv = randomBytes(12);
  const data = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: enc.encode(id) },
    dataKey,
    enc.encode(JSON.stringify(value)),
  );
  return { id, iv, data };
}

export async function unseal(dataKey, record) {
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: record.iv, additionalData: enc.encode(record.id) },
    dataKey,
    record.data,
  );
  return JSON.parse(new TextDecoder().decode(plain));
}

// Bytes (a photo) sealed the same way: AES-GCM under the data key, the id as additional
// data so that a photo cannot be swapped for another.
export async function sealBytes(dataKey, id, bytes) {
  const iv = randomBytes(12);
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: enc.encode(id) }, dataKey, bytes);
  return { id, iv, data };
}

export async function unsealBytes(dataKey, record) {
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: record.iv, additionalData: enc.encode(record.id) },
    dataKey,
    record.data,
  );
  return new Uint8Array(plain);
}
