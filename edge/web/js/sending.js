// Sending through the outbox: an optimistic bubble at once, then the send request, retried
// with the same client_msg_id until answered (the log stores it once, however many
// attempts). A message is done when the log shows it back, pushed or fetched. A message
// with a file is first uploaded (uploads.js), kept across reloads, then sent attaching it.
// Methods of the Messenger (messenger.js mixes them in).

import { randomId } from "./api.js";
import { RETRYABLE } from "./socket.js";
import { keptFiles, uploadFile } from "./uploads.js";

const UPLOAD_RETRIES_MS = [1000, 2000, 5000, 10000];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Sending {
  send(conversationId, text) {
    const item = {
      clientMsgId: randomId(),
      cid: conversationId,
      text,
      createdAt: Date.now(),
      state: "sending",
      seq: null,
    };
    this.outbox.add(item);
    this.changed();
    this.deliver(item);
    return item;
  }

  async deliver(item) {
    if (item.inFlight || item.state === "failed") return;
    item.inFlight = true;
    try {
      // Until answered, or until the log shows the message (pushed or fetched) first.
      while (this.outbox.items.has(item.clientMsgId)) {
        try {
          const frame = { type: "send", conversation_id: item.cid, client_msg_id: item.clientMsgId };
          if (item.text || !item.attachments?.length) frame.body = { kind: "plain", text: item.text };
          if (item.attachments?.length) frame.attachments = item.attachments;
          const result = await this.request(frame);
          this.outbox.update(item, { state: "sent", seq: result.seq });
          this.changed();
          this.expect(item);
          return;
        } catch (e) {
          if (e.code === "disconnected") return; // resent after the reconnect, same id
          if (!RETRYABLE.has(e.code)) {
            this.outbox.update(item, { state: "failed", error: e.detail ?? e.message });
            this.changed();
            return;
          }
          // timeout, unavailable: the same client_msg_id again; the log stores it once.
          if (e.code !== "timeout") await sleep(1000);
        }
      }
    } finally {
      item.inFlight = false;
    }
  }

  // The answer came; the event should follow as a push. If it does not, fetch it.
  expect(item) {
    setTimeout(() => {
      const conversation = this.conversations.get(item.cid);
      if (!conversation || !this.outbox.items.has(item.clientMsgId)) return;
      if (conversation.loaded && conversation.cursor < item.seq) {
        this.fill(conversation, { toEnd: true }).catch(() => {});
      }
    }, 1500);
  }

  // A file (with `caption`, if any): its bubble at once, with the upload's progress; sent
  // attaching it once the server has it processed.
  sendFile(conversationId, file, caption = "") {
    const item = {
      clientMsgId: randomId(),
      cid: conversationId,
      text: caption,
      createdAt: Date.now(),
      state: "uploading",
      seq: null,
      upload: { name: file.name || "file", size: file.size, type: file.type, mediaId: null, phase: "uploading" },
    };
    this.localFiles.set(item.clientMsgId, file);
    this.outbox.add(item);
    this.changed();
    keptFiles.put(item.clientMsgId, file).then(() => this.upload(item));
    return item;
  }

  async upload(item) {
    if (item.inFlight || item.state !== "uploading") return;
    item.inFlight = true;
    try {
      const file = this.localFiles.get(item.clientMsgId) ?? (await keptFiles.get(item.clientMsgId));
      if (!file) {
        this.outbox.update(item, { state: "failed", error: "The file is no longer on this device." });
        return;
      }
      this.localFiles.set(item.clientMsgId, file);
      for (let attempt = 0; ; attempt += 1) {
        try {
          const info = await uploadFile(this.token, file, {
            mediaId: item.upload.mediaId,
            onDeclared: (mediaId) => this.outbox.update(item, { upload: { ...item.upload, mediaId } }),
            onProgress: (sent) => {
              item.upload.sent = sent;
              this.changed();
            },
            onPhase: (phase) => {
              item.upload.phase = phase;
              this.changed();
            },
          });
          this.outbox.update(item, {
            state: "sending",
            attachments: [info.media_id],
            upload: { ...item.upload, phase: "sending" },
          });
          keptFiles.delete(item.clientMsgId);
          break;
        } catch (e) {
          const again = RETRYABLE.has(e.code) && attempt < UPLOAD_RETRIES_MS.length;
          if (!again) {
            this.outbox.update(item, { state: "failed", error: e.detail ?? String(e) });
            return;
          }
          await sleep(UPLOAD_RETRIES_MS[attempt]);
        }
      }
    } finally {
      item.inFlight = false;
      this.changed();
    }
    this.deliver(item);
  }

  retry(clientMsgId) {
    const item = this.outbox.items.get(clientMsgId);
    if (!item) return;
    const uploading = item.upload && !item.attachments?.length;
    this.outbox.update(item, { state: uploading ? "uploading" : "sending", error: undefined });
    this.changed();
    if (uploading) this.upload(item);
    else this.deliver(item);
  }

  discard(clientMsgId) {
    this.outbox.remove(clientMsgId);
    this.localFiles.delete(clientMsgId);
    keptFiles.delete(clientMsgId);
    this.changed();
  }

  resendOutbox() {
    for (const item of this.outbox.items.values()) {
      if (item.state === "uploading") this.upload(item);
      else if (item.state === "sending") this.deliver(item);
      else if (item.state === "sent") this.expect(item);
    }
  }
}
