// The control plane: accounts, devices, conversations and media over JSON/HTTP (see
// /openapi.json).

import { RequestError } from "./socket.js";

async function call(method, path, { token, body, idempotencyKey, prefer } = {}) {
  const headers = {};
  if (prefer) headers.Prefer = prefer;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new RequestError("disconnected", "the server cannot be reached");
  }
  if (response.status === 204) return {};
  let payload = {};
  try {
    payload = await response.json();
  } catch {
    payload = {};
  }
  if (!response.ok) {
    const error = payload.error ?? { code: "internal", message: `HTTP ${response.status}` };
    throw new RequestError(error.code, error.message);
  }
  return payload;
}

export function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; a LAN address over plain HTTP is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const api = {
  register: (username, password, displayName) =>
    call("POST", "/v1/accounts", {
      body: { username, password, display_name: displayName || "" },
      idempotencyKey: randomId(),
    }),
  login: (username, password, deviceName) =>
    call("POST", "/v1/sessions", { body: { username, password, device_name: deviceName } }),
  profile: (token) => call("GET", "/v1/profile", { token }),
  revokeDevice: (token, deviceId) =>
    call("DELETE", `/v1/devices/${encodeURIComponent(deviceId)}`, { token }),
  conversations: async (token) => (await call("GET", "/v1/conversations", { token })).conversations,
  createConversation: (token, kind, members, name) =>
    call("POST", "/v1/conversations", {
      token,
      body: { kind, members, name: name || null },
      idempotencyKey: randomId(),
    }),
  declareMedia: (token, declaration) => call("POST", "/v1/media", { token, body: declaration }),
  resumeUpload: (token, mediaId) => call("GET", `/v1/media/${encodeURIComponent(mediaId)}/upload`, { token }),
  completeUpload: (token, mediaId) =>
    call("POST", `/v1/media/${encodeURIComponent(mediaId)}/complete`, { token }),
  // With `waitS`, the server answers once the media is processed (or after that long).
  mediaInfo: (token, mediaId, waitS = 0) =>
    call("GET", `/v1/media/${encodeURIComponent(mediaId)}`, {
      token,
      prefer: waitS > 0 ? `wait=${waitS}` : undefined,
    }),
  downloadLinks: (token, mediaId) =>
    call("GET", `/v1/media/${encodeURIComponent(mediaId)}/download`, { token }),
  addMember: (token, conversationId, userId) =>
    call("POST", `/v1/conversations/${encodeURIComponent(conversationId)}/members`, {
      token,
      body: { user_id: userId },
    }),
};
