// Requests to Genchi, each signed by the device key: the server checks the signature
// over method, path, time, a nonce and the body's SHA-256 (genchi/tablet/signing.py).
import { randomHex, sha256Hex, sign } from "./keys.js";

export class ApiError extends Error {
  constructor(message, { status = 0, wipe = false, reason = "" } = {}) {
    super(message);
    this.status = status;
    this.wipe = wipe;
    this.reason = reason;
  }
}

export async function signedPost(path, data, device) {
  return signedSend(path, JSON.stringify(data), "application/json", device);
}

// Sync up in batches (genchi/tablet/batch.py): one multipart body with the visits as a
// JSON part and each photo as a part of its own (no base64), signed like the rest (the
// signature covers the whole body). The server's limits per request:
export const BATCH_MAX_BYTES = 8 * 1024 * 1024;
export const BATCH_MAX_VISITS = 20;

const encoder = new TextEncoder();

export class Batch {
  constructor() {
    this.boundary = `genchi-${randomHex(16)}`;
    this.visits = [];
    this.photos = []; // { visit, id, bytes }
    this.photoBytes = 0;
  }

  head(disposition, type) {
    return encoder.encode(
      `--${this.boundary}\r\nContent-Disposition: form-data; ${disposition}\r\nContent-Type: ${type}\r\n\r\n`,
    );
  }

  photoHead(visit, id) {
    return this.head(`name="${visit}/${id}"; filename="${id}.jpg"`, "image/jpeg");
  }

  // The body's size with these visits and photos, or with one more of either.
  size({ visit = null, photo = null } = {}) {
    const visits = visit ? [...this.visits, visit] : this.visits;
    let total = this.head('name="visits"', "application/json").length + 2;
    total += encoder.encode(JSON.stringify(visits)).length;
    total += this.photoBytes + encoder.encode(`--${this.boundary}--\r\n`).length;
    if (photo) total += this.photoHead(photo.visit, photo.id).length + photo.bytes.length + 2;
    return total;
  }

  fits(extra) {
    if (extra.visit && this.visits.length >= BATCH_MAX_VISITS) return false;
    return this.size(extra) <= BATCH_MAX_BYTES;
  }

  addVisit(visit) {
    this.visits.push(visit);
  }

  addPhoto(photo) {
    this.photos.push(photo);
    this.photoBytes += this.photoHead(photo.visit, photo.id).length + photo.bytes.length + 2;
  }

  body() {
    const chunks = [this.head('name="visits"', "application/json"), encoder.encode(JSON.stringify(this.visits))];
    for (const photo of this.photos) {
      chunks.push(encoder.encode("\r\n"), this.photoHead(photo.visit, photo.id), photo.bytes);
    }
    chunks.push(encoder.encode(`\r\n--${this.boundary}--\r\n`));
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

export async function signedPostBatch(path, batch, device) {
  return signedSend(path, batch.body(), `multipart/form-data; boundary=${batch.boundary}`, device);
}

async function signedSend(path, body, type, { privateKey, deviceId = "", token = "" }) {
  const time = String(Date.now());
  const nonce = randomHex(16);
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const bodyHash = await sha256Hex(bytes);
  const signature = await sign(privateKey, ["POST", path, time, nonce, bodyHash].join("\n"));
  const headers = {
    "Content-Type": type,
    "X-Tablet-Time": time,
    "X-Tablet-Nonce": nonce,
    "X-Tablet-Signature": signature,
  };
  if (deviceId) headers["X-Tablet-Device"] = String(deviceId);
  if (token) headers["X-Tablet-Token"] = token;
  return send(path, body, headers);
}

export async function post(path, data) {
  return send(path, JSON.stringify(data), { "Content-Type": "application/json" });
}

async function send(path, body, headers) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      body,
      headers,
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError("", { status: 0, reason: "offline" });
  }
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = {};
  }
  if (!response.ok) {
    throw new ApiError(answer.error || "", {
      status: response.status,
      wipe: Boolean(answer.wipe),
      reason: answer.reason || "",
    });
  }
  return answer;
}
