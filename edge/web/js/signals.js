// Typing and presence: ephemeral signals, never in the log. Typing is repeated while it goes
// on (it expires on the other side) and stopped explicitly; presence is asked for everyone I
// share a conversation with, on every connect and every 30 s, and taken from pushes.
// Methods of the Messenger (messenger.js mixes them in).

const TYPING_REPEAT_MS = 3_000;

export class Signals {
  onTyping({ conversation_id: id, user_id: user, active, expires_in_ms: expiresIn }) {
    if (user === this.me.userId) return; // my other device
    const typists = this.typists.get(id) ?? new Map();
    this.typists.set(id, typists);
    if (active) {
      const until = Date.now() + (expiresIn ?? 5000);
      typists.set(user, until);
      setTimeout(() => {
        if (typists.get(user) === until) {
          typists.delete(user);
          this.changed();
        }
      }, expiresIn ?? 5000);
    } else {
      typists.delete(user);
    }
    this.changed();
  }

  typingIn(conversationId) {
    const now = Date.now();
    return [...(this.typists.get(conversationId) ?? new Map())]
      .filter(([, until]) => until > now)
      .map(([user]) => user);
  }

  typing(conversationId, active) {
    const last = this.typingSent.get(conversationId) ?? 0;
    const now = Date.now();
    if (active && now - last < TYPING_REPEAT_MS) return;
    if (!active && last === 0) return;
    this.typingSent.set(conversationId, active ? now : 0);
    this.request({ type: "typing", conversation_id: conversationId, active }).catch(() => {});
  }

  // Presence of everyone I share a conversation with (the server checks that too).

  presenceSoon() {
    clearTimeout(this.presenceTimeout);
    this.presenceTimeout = setTimeout(() => this.subscribePresence(), 200);
  }

  async subscribePresence() {
    if (this.socket.state !== "open") return;
    const users = new Set();
    for (const c of this.conversations.values()) for (const u of c.others()) users.add(u);
    if (users.size === 0) return;
    try {
      const result = await this.request({ type: "subscribe_presence", user_ids: [...users].slice(0, 500) });
      for (const { user_id: user, status } of result.presence ?? []) this.presence.set(user, status);
      this.changed();
    } catch {
      // Presence is a nicety: the next round asks again.
    }
  }
}
