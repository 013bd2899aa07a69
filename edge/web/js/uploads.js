// Files to object storage: declared to the server, PUT straight to the store through the
// pre-signed URLs it answers (never through the edge), completed, then waited on until the
// server has scanned and processed them. A file being sent is kept in IndexedDB under its
// message's client_msg_id, so that after a reload (or a crash) the upload resumes: the server
// lists the parts the store already has, and only the others are sent again.

import { api } from "./api.js";
import { RequestError } from "./socket.js";

const DB_NAME = "parley-uploads";
const STORE = "files";
const PARALLEL_PARTS = 3;
const SETTLED = new Set(["ready", "rejected", "deleted"]);
const READY_WAIT_S = 20;
const READY_ROUNDS = 6;

function database() {
  database.opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return database.opened;
}

async function transact(mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    const request = work(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = () => reject(transaction.error);
  });
}

// The file of a message not sent yet, by its client_msg_id: kept across reloads.
export const keptFiles = {
  put: (key, file) => transact("readwrite", (store) => store.put(file, key)).catch(() => undefined),
  get: (key) => transact("readonly", (store) => store.get(key)).catch(() => undefined),
  delete: (key) => transact("readwrite", (store) => store.delete(key)).catch(() => undefined),
};

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// PUT `blob` to a pre-signed URL, telling `onProgress(bytes sent)` as it goes.
function put(url, blob, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers ?? {})) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () =>
      xhr.status === 200
        ? resolve()
        : reject(new RequestError(xhr.status >= 500 ? "unavailable" : "refused", `the store answered ${xhr.status}`));
    xhr.onerror = () => reject(new RequestError("disconnected", "the upload was cut off"));
    xhr.send(blob);
  });
}

async function sendParts(ticket, file, done, onProgress) {
  const sent = new Map();
  const report = () => onProgress(done + [...sent.values()].reduce((a, b) => a + b, 0));
  const queue = [...ticket.parts];
  const worker = async () => {
    for (let part = queue.shift(); part; part = queue.shift()) {
      const start = (part.number - 1) * ticket.part_bytes;
      const body = file.slice(start, start + part.size_bytes);
      await put(part.url, body, ticket.headers, (bytes) => {
        sent.set(part.number, bytes);
        report();
      });
      sent.set(part.number, part.size_bytes);
      report();
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_PARTS }, worker));
}

const missing = (ticket) => ticket.parts.reduce((sum, part) => sum + part.size_bytes, 0);

// Upload `file` (resuming `mediaId`'s upload if given) and wait until it is processed.
// `onDeclared(mediaId)` learns a new upload's id before any byte is sent; `onProgress(bytes)`
// and `onPhase("processing")` follow it. Answers the media's state once `ready`; throws a
// RequestError with the server's code when it is refused.
export async function uploadFile(token, file, { mediaId, onDeclared, onProgress, onPhase }) {
  let ticket = null;
  if (mediaId) {
    try {
      ticket = await api.resumeUpload(token, mediaId);
    } catch (e) {
      if (e.code !== "not_found" && e.code !== "expired" && e.code !== "already_completed") throw e;
      if (e.code === "already_completed") ticket = { media_id: mediaId, parts: [] };
    }
  }
  if (!ticket) {
    ticket = await api.declareMedia(token, {
      size_bytes: file.size,
      sha256: await sha256Hex(file),
      content_type: file.type || "application/octet-stream",
      file_name: file.name || "file",
    });
    onDeclared(ticket.media_id);
  }
  const id = ticket.media_id;
  for (let round = 0; round < 2; round += 1) {
    await sendParts(ticket, file, file.size - missing(ticket), onProgress);
    try {
      await api.completeUpload(token, id);
      break;
    } catch (e) {
      if (e.code === "already_completed") break;
      if (e.code !== "incomplete" || round === 1) throw e;
      ticket = await api.resumeUpload(token, id); // a part the store did not keep
    }
  }
  onPhase("processing");
  let info = await api.mediaInfo(token, id);
  for (let round = 0; !SETTLED.has(info.status) && round < READY_ROUNDS; round += 1) {
    info = await api.mediaInfo(token, id, READY_WAIT_S);
  }
  if (info.status === "ready") return info;
  if (info.error) throw new RequestError(info.error.code, info.error.message);
  throw new RequestError("media_not_ready", "the file is taking too long to process");
}
