// Sending through the outbox: an optimistic bubble at once, then the send request, retried
// with the same client_msg_id until answered (the log stores it once, however many
// attempts). A message is done when the log shows it back, pushed or fetched.
// Methods of the Messenger (messenger.js mixes them in).

import { randomId } from "./api.js";
import { RETRYABLE } from "./socket.js";

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
          const result = await this.request({
            type: "send",
            conversation_id: item.cid,
            client_msg_id: item.clientMsgId,
            body: { kind: "plain", text: item.text },
          });
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

  retry(clientMsgId) {
    const item = this.outbox.items.get(clientMsgId);
    if (!item) return;
    this.outbox.update(item, { state: "sending", error: undefined });
    this.changed();
    this.deliver(item);
  }

  discard(clientMsgId) {
    this.outbox.remove(clientMsgId);
    this.changed();
  }

  resendOutbox() {
    for (const item of this.outbox.items.values()) {
      if (item.state === "sending") this.deliver(item);
      else if (item.state === "sent") this.expect(item);
    }
  }
}
