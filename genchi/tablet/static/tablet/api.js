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

// A photo's bytes as the body, signed the same way (the signature covers the bytes).
export async function signedPostBytes(path, bytes, device) {
  return signedSend(path, bytes, "application/octet-stream", device);
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
