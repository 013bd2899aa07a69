// One conversation as this device knows it: its events folded into messages, members,
// watermarks and unread counts; its cursor and the pushes that arrived early. No I/O here:
// the messenger fetches, this decides what is shown.
//
// Events are applied idempotently by seq and in any order (older pages arrive after newer
// ones), so edits, deletions and reactions are kept per target and resolved when shown.

export function messageText(body) {
  if (!body) return "";
  if (body.kind === "plain") return body.text;
  // Sealed at rest and its key gone (the sender erased, the message expired): removed.
  if (body.kind === "sealed") return "[removed]";
  return "[encrypted message]";
}

const KIND_LABELS = { IMAGE: "Photo", VIDEO: "Video", AUDIO: "Audio", FILE: "File", ENCRYPTED: "File" };

// What a list shows for a message: its text, or what it attaches when it has none.
export function summaryText(text, attachments = []) {
  if (text || attachments.length === 0) return text;
  const first = attachments[0];
  const label = first.kind === "FILE" || first.kind === "ENCRYPTED" ? first.file_name || "File" : KIND_LABELS[first.kind] ?? "File";
  return `📎 ${label}${attachments.length > 1 ? ` and ${attachments.length - 1} more` : ""}`;
}

export class Conversation {
  constructor(id, me) {
    this.id = id;
    this.me = me; // { userId, deviceId }
    this.kind = id.startsWith("dm-") ? "direct" : "group";
    this.name = null;
    this.members = new Set();
    this.seen = new Set(); // seqs applied
    this.messages = new Map(); // seq -> { seq, sender, deviceId, clientMsgId, text, at }
    this.edits = new Map(); // target seq -> { seq, text }
    this.deletions = new Map(); // target seq -> "everyone" | "me" | "redacted" | "expired"
    this.reactions = new Map(); // target seq -> Map("user emoji" -> { seq, active, user, emoji })
    this.read = new Map(); // user -> highest seq read
    this.delivered = new Map(); // user -> highest seq delivered to any of their devices
    this.myDelivered = 0; // this device's delivered watermark
    this.cursor = null; // highest seq applied in order; null until the first page is loaded
    this.oldest = null; // lowest seq loaded
    this.reachedStart = false;
    this.early = new Map(); // seq -> event pushed ahead of the cursor
    this.holes = []; // { after, before }: seqs between not loaded yet (below a found message)
    this.found = null; // the seq of the message a search result opened
    this.inbox = null; // the server's inbox entry, once the server has inboxes
    this.lastActivity = 0;
    this.version = 0; // bumped on every change, for the view
  }

  get loaded() {
    return this.cursor !== null;
  }

  // Apply one event (from a push or a page). False if it was already applied.
  apply(seq, event) {
    if (this.seen.has(seq)) return false;
    this.seen.add(seq);
    this.version += 1;
    if (this.oldest === null || seq < this.oldest) this.oldest = seq;
    if (seq === 1) this.reachedStart = true;
    const actor = event.actor ?? {};
    this.lastActivity = Math.max(this.lastActivity, event.occurred_at_ms ?? 0);
    switch (event.type) {
      case "ConversationCreated":
        this.kind = String(event.kind).toLowerCase() === "direct" ? "direct" : "group";
        this.name = event.name ?? this.name;
        if (actor.user_id) this.members.add(actor.user_id);
        for (const member of event.members ?? []) this.members.add(member.user_id);
        break;
      case "MemberAdded":
        this.members.add(event.user_id);
        break;
      case "MemberRemoved":
        this.members.delete(event.user_id);
        break;
      case "MessageSent":
        this.messages.set(seq, {
          seq,
          sender: actor.user_id,
          deviceId: actor.device_id,
          clientMsgId: event.client_msg_id,
          text: messageText(event.body),
          at: event.occurred_at_ms,
          mentions: event.mentions ?? [],
          attachments: event.attachments ?? [],
        });
        break;
      case "MessageEdited": {
        const previous = this.edits.get(event.target_seq);
        if (!previous || previous.seq < seq) {
          this.edits.set(event.target_seq, { seq, text: messageText(event.body) });
        }
        break;
      }
      case "MessageDeleted": {
        const scope = String(event.scope).toLowerCase();
        if (scope === "for_everyone") this.deletions.set(event.target_seq, "everyone");
        else if (actor.user_id === this.me.userId && !this.deletions.has(event.target_seq)) {
          this.deletions.set(event.target_seq, "me");
        }
        break;
      }
      case "MessageRedacted":
        this.deletions.set(event.target_seq, "redacted");
        break;
      case "MessagesExpired":
        // Their lifetime has passed: they leave the view (history no longer has them).
        for (const target of event.seqs ?? []) this.deletions.set(target, "expired");
        break;
      case "SenderContentErased":
        // The sender was erased: their earlier messages show as removed, like a redaction.
        for (const [target, message] of this.messages) {
          if (message.sender === event.user_id && target < seq) {
            this.deletions.set(target, "redacted");
          }
        }
        break;
      case "ReactionAdded":
      case "ReactionRemoved": {
        const byKey = this.reactions.get(event.target_seq) ?? new Map();
        const key = `${actor.user_id} ${event.emoji}`;
        const previous = byKey.get(key);
        if (!previous || previous.seq < seq) {
          byKey.set(key, {
            seq,
            active: event.type === "ReactionAdded",
            user: actor.user_id,
            emoji: event.emoji,
          });
        }
        this.reactions.set(event.target_seq, byKey);
        break;
      }
      case "ReadWatermarkAdvanced":
        this.raise(this.read, actor.user_id, event.up_to_seq);
        this.raise(this.delivered, actor.user_id, event.up_to_seq);
        break;
      case "DeliveredWatermarkAdvanced":
        this.raise(this.delivered, actor.user_id, event.up_to_seq);
        if (actor.device_id === this.me.deviceId) {
          this.myDelivered = Math.max(this.myDelivered, event.up_to_seq);
        }
        break;
      default:
        break;
    }
    return true;
  }

  raise(map, user, seq) {
    if (!user || !(seq > (map.get(user) ?? 0))) return;
    map.set(user, seq);
  }

  // Take a page of history: everything the user may see after `after` (or the latest page).
  // Seqs missing between its events will never come (from before joining, say): the cursor
  // steps over them.
  takePage(events) {
    let changed = false;
    for (const { seq, event } of events) changed = this.apply(seq, event) || changed;
    const newest = events.reduce((top, e) => Math.max(top, e.seq), 0);
    if (this.cursor === null || newest > this.cursor) this.cursor = newest;
    for (const seq of [...this.early.keys()]) if (seq <= this.cursor) this.early.delete(seq);
    return changed;
  }

  // A pushed event: applied if it follows the cursor, kept if it is early, dropped if seen.
  offer(seq, event) {
    if (this.cursor !== null && seq <= this.cursor) return false;
    this.early.set(seq, event);
    return this.drain();
  }

  drain() {
    if (this.cursor === null) return false;
    let changed = false;
    while (this.early.has(this.cursor + 1)) {
      const seq = this.cursor + 1;
      changed = this.apply(seq, this.early.get(seq)) || changed;
      this.early.delete(seq);
      this.cursor = seq;
    }
    return changed;
  }

  // The first seq pushed ahead of the cursor: events between are missing and must be fetched.
  get gap() {
    if (this.cursor === null || this.early.size === 0) return null;
    return Math.min(...this.early.keys());
  }

  // History has nothing between the cursor and the early push (it never will): step over.
  skipTo(seq) {
    if (this.cursor !== null && seq - 1 > this.cursor) this.cursor = seq - 1;
    return this.drain();
  }

  visibleMessages() {
    const shown = [];
    for (const message of this.messages.values()) {
      const deletion = this.deletions.get(message.seq);
      if (deletion === "me" || deletion === "expired") continue;
      const edit = this.edits.get(message.seq);
      const reactions = new Map();
      for (const r of this.reactions.get(message.seq)?.values() ?? []) {
        if (!r.active) continue;
        const users = reactions.get(r.emoji) ?? [];
        users.push(r.user);
        reactions.set(r.emoji, users);
      }
      shown.push({
        ...message,
        text: deletion ? "" : edit ? edit.text : message.text,
        edited: Boolean(edit) && !deletion,
        deleted: deletion ?? null,
        reactions,
        mine: message.sender === this.me.userId,
      });
    }
    return shown.sort((a, b) => a.seq - b.seq);
  }

  others() {
    return [...this.members].filter((u) => u !== this.me.userId);
  }

  // "sent", "delivered" (every other member's devices have it) or "read" (every other member).
  statusOf(seq) {
    const others = this.others();
    if (others.length === 0) return "sent";
    if (others.every((u) => (this.read.get(u) ?? 0) >= seq)) return "read";
    if (others.every((u) => (this.delivered.get(u) ?? 0) >= seq)) return "delivered";
    return "sent";
  }

  get myRead() {
    return Math.max(this.read.get(this.me.userId) ?? 0, this.inbox?.read_up_to ?? 0);
  }

  // The newest message from someone else: what delivered and read acks point at. Acks never
  // point at watermark events, or two devices would ack each other's acks for ever.
  get lastIncoming() {
    let top = 0;
    for (const m of this.messages.values()) if (m.sender !== this.me.userId && m.seq > top) top = m.seq;
    return top;
  }

  get lastMessageSeq() {
    let top = 0;
    for (const seq of this.messages.keys()) if (seq > top) top = seq;
    return top;
  }

  // { count, atLeast }: atLeast when older unread messages may not be loaded.
  unread() {
    const myRead = this.myRead;
    let count = 0;
    for (const m of this.messages.values()) {
      if (m.seq > myRead && m.sender !== this.me.userId && !this.deletions.has(m.seq)) count += 1;
    }
    if (this.inbox) {
      const newer = [...this.messages.values()].filter(
        (m) => m.seq > this.inbox.last_seq && m.seq > myRead && m.sender !== this.me.userId,
      ).length;
      const fromServer = myRead >= this.lastIncoming && this.lastIncoming > 0 ? 0 : this.inbox.unread;
      return { count: Math.max(count, fromServer + newer), atLeast: false };
    }
    const unknownBelow = !this.reachedStart && !this.read.has(this.me.userId);
    return { count, atLeast: unknownBelow && count > 0 };
  }

  preview() {
    const last = this.visibleMessages().filter((m) => !m.deleted).pop();
    const entry = this.inbox?.preview;
    if (entry && (!last || entry.seq > last.seq)) {
      // An empty plain text is a message of attachments only (null: ciphertext or deleted).
      const text = entry.text === "" ? "📎 Attachment" : entry.text ?? "";
      return { sender: entry.sender_id, text, at: this.inbox.last_activity_ms };
    }
    return last ? { sender: last.sender, text: summaryText(last.text, last.attachments), at: last.at } : null;
  }

  title() {
    if (this.inbox?.name) return this.inbox.name;
    if (this.name) return this.name;
    const others = this.others();
    if (this.kind === "direct") return others[0] ?? "(just you)";
    return others.join(", ") || "(empty group)";
  }

  activity() {
    return Math.max(this.lastActivity, this.inbox?.last_activity_ms ?? 0);
  }

  takeInboxEntry(entry) {
    this.inbox = entry;
    if (entry.kind) this.kind = String(entry.kind).toLowerCase() === "direct" ? "direct" : "group";
    if (entry.name) this.name = entry.name;
    this.version += 1;
  }
}
