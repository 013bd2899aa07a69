// The client of protocol version 1: follows every conversation of this device exactly once
// and in order, catches up after every (re)connect, sends through the outbox, acks.
//
// Each conversation keeps a cursor (the highest seq applied in order). A push at
// cursor + 1 is applied; a later one waits while the gap is fetched with
// fetch_history(after = cursor); an earlier one is a repeat and is dropped. After a
// (re)connect or a `resync` every conversation is fetched from its cursor (or, on servers
// that have it, with one `sync`). Optional server features (`sync`, `inbox`, `edit`,
// `delete`, `react`) are used when the server knows them: an unknown frame type is answered
// `bad_frame`, after which the client does without.

import { api } from "./api.js";
import { Conversation } from "./conversation.js";
import { Finding } from "./finding.js";
import { Outbox } from "./outbox.js";
import { Sending } from "./sending.js";
import { Signals } from "./signals.js";
import { RETRYABLE, RequestError } from "./socket.js";

const FIRST_PAGE = 50;
const FILL_PAGE = 200;
const ACK_DELAY_MS = 300;
const PRESENCE_EVERY_MS = 30_000;
const STUCK_RETRIES_MS = [200, 500, 1000, 2000, 3000, 3000, 3000, 5000];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Messenger extends EventTarget {
  constructor(session, socket) {
    super();
    this.me = { userId: session.user_id, deviceId: session.device_id };
    this.token = session.token;
    this.socket = socket;
    this.conversations = new Map();
    this.outbox = new Outbox(session.device_id);
    this.supports = {
      sync: undefined,
      inbox: undefined,
      edit: undefined,
      delete: undefined,
      react: undefined,
      search: undefined,
    };
    this.typists = new Map(); // conversation -> Map(user -> expires at ms)
    this.presence = new Map(); // user -> "online" | "away" | "offline"
    this.acked = new Map(); // `${kind} ${conversation}` -> seq asked for
    this.ackTimers = new Map();
    this.filling = new Set();
    this.loading = new Map();
    this.readingId = null;
    this.ready = false;
    this.catching = false;
    this.catchAgain = false;
    this.typingSent = new Map();
    socket.addEventListener("open", () => this.catchUp());
    socket.addEventListener("push", (e) => this.onPush(e.detail));
    socket.addEventListener("state", () => {
      // Presence heard before a drop is stale: unknown until the next subscribe answers.
      if (socket.state !== "open") this.presence.clear();
      this.changed();
    });
    this.presenceTimer = setInterval(() => this.subscribePresence(), PRESENCE_EVERY_MS);
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  conversation(id) {
    let conversation = this.conversations.get(id);
    if (!conversation) {
      conversation = new Conversation(id, this.me);
      this.conversations.set(id, conversation);
    }
    return conversation;
  }

  // Newest activity first.
  list() {
    return [...this.conversations.values()].sort((a, b) => b.activity() - a.activity());
  }

  request(frame, options) {
    return this.socket.request(frame, options);
  }

  // Catching up: after every (re)connect and every `resync`.

  async catchUp() {
    if (this.catching) {
      this.catchAgain = true;
      return;
    }
    this.catching = true;
    try {
      do {
        this.catchAgain = false;
        await this.refreshInbox();
        await this.discover();
        await this.resume();
        this.resendOutbox();
        this.subscribePresence();
        this.ready = true;
        this.changed();
      } while (this.catchAgain);
    } catch (e) {
      console.warn("catching up failed; trying again", e);
      if (e.code !== "unauthorized") setTimeout(() => this.socket.state === "open" && this.catchUp(), 2000);
    } finally {
      this.catching = false;
    }
  }

  // The conversations I am in (REST), with their members; new ones get their latest page.
  async discover() {
    let summaries;
    try {
      summaries = await api.conversations(this.token);
    } catch (e) {
      if (e.code === "unauthorized") this.socket.fail(e.detail);
      throw e;
    }
    const mine = new Set();
    for (const summary of summaries) {
      mine.add(summary.conversation_id);
      const conversation = this.conversation(summary.conversation_id);
      conversation.members = new Set(summary.members);
      conversation.version += 1;
    }
    for (const [id, conversation] of this.conversations) {
      if (!mine.has(id) && conversation.loaded && !conversation.members.has(this.me.userId)) {
        this.conversations.delete(id); // I left or was removed
      }
    }
    await inBatches([...this.conversations.values()].filter((c) => !c.loaded), 4, (c) => this.load(c));
  }

  async resume() {
    const loaded = [...this.conversations.values()].filter((c) => c.loaded);
    if (loaded.length === 0) return;
    if (this.supports.sync !== false && (await this.syncAll(loaded))) return;
    await inBatches(loaded, 4, (c) => this.fill(c, { toEnd: true }));
  }

  // One `sync` for every conversation (servers that have it); false when the server does not.
  async syncAll(conversations) {
    const cursors = Object.fromEntries(conversations.map((c) => [c.id, c.cursor]));
    for (;;) {
      let result;
      try {
        result = await this.request({ type: "sync", cursors, limit: FILL_PAGE });
      } catch (e) {
        if (e.code === "bad_frame") {
          this.supports.sync = false;
          return false;
        }
        throw e;
      }
      this.supports.sync = true;
      for (const entry of result.conversations ?? []) {
        let conversation = this.conversation(entry.conversation_id);
        if (entry.snapshot) {
          // Too far behind to replay: start again from the latest events, like a first load.
          const fresh = new Conversation(conversation.id, this.me);
          fresh.members = conversation.members;
          fresh.inbox = conversation.inbox;
          this.conversations.set(conversation.id, fresh);
          conversation = fresh;
        }
        conversation.takePage(entry.events ?? []);
        conversation.drain();
        cursors[conversation.id] = conversation.cursor;
        this.settle(conversation);
      }
      if (!result.more) return true;
    }
  }

  async refreshInbox() {
    if (this.supports.inbox === false) return;
    try {
      const result = await this.request({ type: "inbox" });
      this.supports.inbox = true;
      for (const entry of result.entries ?? []) this.takeInboxEntry(entry);
    } catch (e) {
      if (e.code === "bad_frame") this.supports.inbox = false;
      else if (!RETRYABLE.has(e.code)) throw e;
    }
  }

  takeInboxEntry(entry) {
    this.conversation(entry.conversation_id).takeInboxEntry(entry);
    this.changed();
  }

  // The latest page of a conversation this device has not loaded yet.
  load(conversation) {
    const running = this.loading.get(conversation.id);
    if (running) return running;
    const work = (async () => {
      let page;
      for (let attempt = 0; !page; attempt += 1) {
        try {
          page = await this.history(conversation.id, { limit: FIRST_PAGE });
        } catch (e) {
          if (e.code !== "not_found") throw e;
          // History is a projection: a conversation created a moment ago may not be in it
          // yet. Only when it stays unknown is it not (or no longer) mine.
          if (attempt >= STUCK_RETRIES_MS.length) {
            this.conversations.delete(conversation.id);
            this.changed();
            return;
          }
          await sleep(STUCK_RETRIES_MS[attempt]);
        }
      }
      if (page.events.length < FIRST_PAGE) conversation.reachedStart = true;
      conversation.takePage(page.events);
      conversation.drain();
      this.settle(conversation);
      if (this.ready) this.presenceSoon();
      if (conversation.gap !== null) await this.fill(conversation);
    })().finally(() => this.loading.delete(conversation.id));
    this.loading.set(conversation.id, work);
    return work;
  }

  // Older messages (scrolling up): pages before the oldest loaded, until one holds a message
  // (a page of watermarks alone would change nothing on screen).
  async loadOlder(conversation) {
    if (conversation.reachedStart || !conversation.loaded || conversation.oldest === null) return;
    if (conversation.loadingOlder) return;
    conversation.loadingOlder = true;
    try {
      for (let pages = 0; pages < 10 && !conversation.reachedStart; pages += 1) {
        const before = conversation.messages.size;
        const page = await this.history(conversation.id, { before: conversation.oldest, limit: FIRST_PAGE });
        for (const { seq, event } of page.events) conversation.apply(seq, event);
        if (page.events.length < FIRST_PAGE) conversation.reachedStart = true;
        conversation.version += 1;
        if (conversation.messages.size > before) break;
      }
      this.changed();
    } finally {
      conversation.loadingOlder = false;
    }
  }

  // Fetch what is missing after the cursor: up to the first early push, or (toEnd) the end.
  async fill(conversation, { toEnd = false } = {}) {
    if (this.filling.has(conversation.id)) return;
    this.filling.add(conversation.id);
    try {
      let stuck = 0;
      let more = toEnd;
      while (more || conversation.gap !== null) {
        const page = await this.history(conversation.id, { after: conversation.cursor, limit: FILL_PAGE });
        conversation.takePage(page.events);
        conversation.drain();
        this.settle(conversation);
        const newest = page.events.reduce((top, e) => Math.max(top, e.seq), 0);
        more = page.events.length > 0 && newest < (page.last_seq ?? newest);
        if (more) continue;
        const gap = conversation.gap;
        if (gap === null) break;
        if ((page.last_seq ?? 0) >= gap) {
          conversation.skipTo(gap); // the seqs between are not for me (or gone for good)
          this.settle(conversation);
          continue;
        }
        if (stuck >= STUCK_RETRIES_MS.length) {
          console.warn(`seqs ${conversation.cursor + 1}..${gap - 1} of ${conversation.id} are not in history`);
          conversation.skipTo(gap);
          this.settle(conversation);
          continue;
        }
        // History is read from a projection that may not have caught up with the push.
        await sleep(STUCK_RETRIES_MS[stuck]);
        stuck += 1;
      }
    } finally {
      this.filling.delete(conversation.id);
    }
  }

  async history(conversationId, { before, after, limit }) {
    let attempt = 0;
    for (;;) {
      try {
        const result = await this.request({
          type: "fetch_history",
          conversation_id: conversationId,
          before: before ?? undefined,
          after: after ?? undefined,
          limit,
        });
        return { events: result.events ?? [], last_seq: result.last_seq };
      } catch (e) {
        if (e.code !== "unavailable" && e.code !== "too_busy") throw e;
        await sleep(Math.min(3000, 200 * 2 ** attempt));
        attempt += 1;
      }
    }
  }

  // After events were applied: confirm sent messages, stop typing bubbles, ack, redraw.
  settle(conversation) {
    for (const item of this.outbox.of(conversation.id)) {
      const confirmed = [...conversation.messages.values()].some(
        (m) => m.deviceId === this.me.deviceId && m.clientMsgId === item.clientMsgId,
      );
      if (confirmed) this.outbox.remove(item.clientMsgId);
    }
    this.scheduleAcks(conversation);
    this.changed();
  }

  // Pushes.

  onPush(frame) {
    switch (frame.type) {
      case "event":
        this.onEvent(frame);
        break;
      case "resync":
        this.catchUp();
        break;
      case "typing":
        this.onTyping(frame);
        break;
      case "presence":
        this.presence.set(frame.user_id, frame.status);
        this.changed();
        break;
      case "inbox":
        if (frame.entry) this.takeInboxEntry(frame.entry);
        break;
      default:
        break; // a push of a newer protocol version: ignore it
    }
  }

  onEvent({ conversation_id: id, seq, event }) {
    const conversation = this.conversation(id);
    if (event.type === "MessageSent") this.typists.get(id)?.delete(event.actor?.user_id);
    if (!conversation.loaded) {
      conversation.early.set(seq, event);
      this.load(conversation).then(() => conversation.members.size || this.discover()).catch(() => {});
      return;
    }
    if (event.type === "MemberRemoved" && event.user_id === this.me.userId) {
      conversation.offer(seq, event);
      this.conversations.delete(id);
      this.changed();
      return;
    }
    conversation.offer(seq, event);
    this.settle(conversation);
    if (event.type === "MemberAdded") this.presenceSoon();
    if (conversation.gap !== null) this.fill(conversation).catch(() => {});
  }

  // Acks: delivered as soon as this device has a message, read while it is on screen.

  reading(conversationId) {
    this.readingId = conversationId;
    const conversation = conversationId && this.conversations.get(conversationId);
    if (conversation) this.scheduleAcks(conversation);
  }

  scheduleAcks(conversation) {
    if (this.ackTimers.has(conversation.id)) return;
    this.ackTimers.set(
      conversation.id,
      setTimeout(() => {
        this.ackTimers.delete(conversation.id);
        this.ack(conversation, "delivered", conversation.myDelivered);
        if (this.readingId === conversation.id && document.visibilityState === "visible") {
          this.ack(conversation, "read", conversation.myRead);
        }
      }, ACK_DELAY_MS),
    );
  }

  async ack(conversation, kind, watermark) {
    const target = conversation.lastIncoming;
    const key = `${kind} ${conversation.id}`;
    if (target <= watermark || target <= (this.acked.get(key) ?? 0)) return;
    this.acked.set(key, target);
    try {
      await this.request({ type: "ack", conversation_id: conversation.id, kind, up_to: target });
    } catch (e) {
      if (this.acked.get(key) === target) this.acked.delete(key); // ask again next time
    }
  }

  // Conversations (REST).

  async create(kind, members, name) {
    const created = await api.createConversation(this.token, kind, members, name);
    const conversation = this.conversation(created.conversation_id);
    if (!conversation.loaded) {
      conversation.kind = kind;
      conversation.name = name || null;
      conversation.members = new Set([this.me.userId, ...members]);
      conversation.lastActivity = Date.now();
      await this.load(conversation);
    }
    this.changed();
    return conversation;
  }

  async addMember(conversationId, userId) {
    await api.addMember(this.token, conversationId, userId);
    this.conversation(conversationId).members.add(userId.toLowerCase());
    this.presenceSoon();
    this.changed();
  }

  // Optional requests: edit, delete and react exist on newer servers only.

  async optional(feature, frame) {
    const what = {
      edit: "edit messages",
      delete: "delete messages",
      react: "react to messages",
      search: "search messages",
    }[feature];
    if (this.supports[feature] === false) throw new RequestError("unsupported", `This server cannot ${what} yet`);
    try {
      const result = await this.request(frame);
      this.supports[feature] = true;
      return result;
    } catch (e) {
      if (e.code === "bad_frame") {
        this.supports[feature] = false;
        this.changed();
        throw new RequestError("unsupported", `This server cannot ${what} yet`);
      }
      throw e;
    }
  }

  edit(conversationId, seq, text) {
    return this.optional("edit", {
      type: "edit",
      conversation_id: conversationId,
      seq,
      body: { kind: "plain", text },
    });
  }

  remove(conversationId, seq, scope) {
    return this.optional("delete", { type: "delete", conversation_id: conversationId, seq, scope });
  }

  react(conversationId, seq, emoji, active) {
    return this.optional("react", { type: "react", conversation_id: conversationId, seq, emoji, active });
  }

  async logOut() {
    clearInterval(this.presenceTimer);
    try {
      await api.revokeDevice(this.token, this.me.deviceId);
    } catch {
      // Revoking is best effort: the token is forgotten here either way.
    }
    this.socket.stop();
  }
}

async function inBatches(items, size, work) {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map(work));
  }
}

// The messenger's sending (sending.js), signals (signals.js) and finding (finding.js) are
// methods of its own.
for (const part of [Sending, Signals, Finding]) {
  for (const name of Object.getOwnPropertyNames(part.prototype)) {
    if (name !== "constructor") Messenger.prototype[name] = part.prototype[name];
  }
}
