// Messages this device has sent but the log has not yet shown back, kept in localStorage so
// that a reload or a crash resends them with the same client_msg_id (stored once, whatever
// the number of attempts).

export class Outbox {
  constructor(deviceId) {
    this.key = `parley.outbox.${deviceId}`;
    this.items = new Map();
    try {
      for (const item of JSON.parse(localStorage.getItem(this.key) ?? "[]")) {
        this.items.set(item.clientMsgId, { ...item, inFlight: false });
      }
    } catch {
      this.items.clear();
    }
  }

  add(item) {
    this.items.set(item.clientMsgId, item);
    this.save();
  }

  remove(clientMsgId) {
    if (this.items.delete(clientMsgId)) this.save();
  }

  update(item, changes) {
    Object.assign(item, changes);
    this.save();
  }

  of(conversationId) {
    return [...this.items.values()]
      .filter((item) => item.cid === conversationId)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  save() {
    const kept = [...this.items.values()].map(({ inFlight, ...item }) => item);
    try {
      localStorage.setItem(this.key, JSON.stringify(kept));
    } catch {
      // Storage full or disabled: the outbox still works for this page's lifetime.
    }
  }
}
