// Finding messages: the `search` request (a protocol v1 addition: a server without it
// answers `bad_frame` and the box says so), and opening a conversation at a found message
// with the messages around it loaded.
//
// A found message may be far older than what is loaded. The page around it is fetched
// (`before` it and `after` it), then the stretch between it and the loaded messages, forward
// in pages; a stretch too long to fetch at once stays a hole, shown as a "Load more
// messages" button in its place, so the conversation never silently misses messages.
// Methods of the Messenger (messenger.js mixes them in).

const AROUND = 25;
const BRIDGE_PAGE = 200;
const BRIDGE_PAGES = 10;

export class Finding {
  search(query, cursor = null) {
    return this.optional("search", { type: "search", query, cursor: cursor ?? undefined, limit: 20 });
  }

  // Open `conversation` at `seq`: loaded (its latest page) and with `seq` and the messages
  // around it loaded too. `seq` is older than what is loaded, or inside a hole left by an
  // earlier jump; either way what lies between it and the next loaded message becomes a
  // hole, filled at once as far as a few pages go.
  async loadAround(conversation, seq) {
    if (!conversation.loaded) await this.load(conversation);
    if (conversation.seen.has(seq)) return;
    const inside = conversation.holes.find((h) => h.after < seq && seq < h.before);
    const loadedFrom = conversation.oldest;
    if (!inside && loadedFrom !== null && seq > loadedFrom) return; // not in history (deleted)
    const upTo = await this.history(conversation.id, { before: seq + 1, limit: AROUND });
    for (const { seq: s, event } of upTo.events) conversation.apply(s, event);
    const lowest = Math.min(seq, ...upTo.events.map((e) => e.seq));
    let upper = loadedFrom;
    if (inside) {
      upper = inside.before;
      inside.before = lowest;
      if (inside.after >= lowest - 1) conversation.holes = conversation.holes.filter((h) => h !== inside);
    } else if (upTo.events.length < AROUND) {
      conversation.reachedStart = true;
    }
    if (upper !== null && upper > seq + 1) {
      const hole = { after: seq, before: upper };
      conversation.holes.push(hole);
      await this.fillHole(conversation, hole);
    }
    conversation.version += 1;
    this.changed();
  }

  // Fetch a hole's events forward, a few pages at a time; what is left stays a hole.
  async fillHole(conversation, hole) {
    if (hole.filling) return;
    hole.filling = true;
    try {
      for (let pages = 0; pages < BRIDGE_PAGES && hole.after < hole.before - 1; pages += 1) {
        const page = await this.history(conversation.id, {
          after: hole.after,
          before: hole.before,
          limit: BRIDGE_PAGE,
        });
        for (const { seq, event } of page.events) conversation.apply(seq, event);
        if (page.events.length < BRIDGE_PAGE) hole.after = hole.before - 1; // nothing more there
        else hole.after = Math.max(hole.after, ...page.events.map((e) => e.seq));
      }
    } finally {
      hole.filling = false;
    }
    if (hole.after >= hole.before - 1) conversation.holes = conversation.holes.filter((h) => h !== hole);
    conversation.version += 1;
    this.changed();
  }
}
