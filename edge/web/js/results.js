// Search results in the sidebar: the state of one search (its hits so far, the cursor for
// more) and drawing its hits, each a button naming the conversation, the sender, the time
// and the snippet with its matches in <mark>. The server's highlight offsets count UTF-16
// code units, which is what JavaScript strings index, so they slice the snippet as they are.

import { clock, el } from "./view.js";

export class Results {
  constructor() {
    this.clear();
  }

  clear() {
    this.query = "";
    this.hits = [];
    this.cursor = null;
    this.total = 0;
    this.error = null;
    this.busy = false;
    this.shown = false;
  }

  // A new search (`more` false) or its next page; errors are kept to be shown, not thrown.
  async run(messenger, query, { more = false } = {}) {
    if (!more) {
      this.clear();
      this.query = query;
    }
    this.shown = true;
    this.busy = true;
    this.error = null;
    try {
      const page = await messenger.search(this.query, more ? this.cursor : null);
      if (this.query !== query) return; // a newer search started meanwhile
      this.hits.push(...(page.hits ?? []));
      this.cursor = page.next_cursor ?? null;
      this.total = page.estimated_total ?? this.hits.length;
    } catch (e) {
      if (this.query !== query) return;
      this.error = explain(e);
    } finally {
      if (this.query === query) this.busy = false;
    }
  }

  status() {
    if (this.busy && this.hits.length === 0) return "Searching…";
    if (this.error) return this.error;
    if (this.hits.length === 0) return `No messages found for “${this.query}”.`;
    const about = this.total > this.hits.length ? `about ${this.total}` : `${this.hits.length}`;
    return `${about} ${this.total === 1 ? "message" : "messages"} found for “${this.query}”.`;
  }
}

function explain(error) {
  if (error.code === "invalid") return `That search cannot be run: ${error.detail}.`;
  if (error.code === "timeout") return "The search took too long. Try fewer or rarer words.";
  if (error.code === "unsupported" || error.code === "unavailable") return `${error.detail}.`;
  return `Search failed: ${error.detail ?? error}`;
}

// The snippet as text and <mark> nodes: matches in order, overlaps merged.
export function marked(snippet, highlights) {
  const nodes = [];
  let at = 0;
  for (const { start, end } of [...highlights].sort((a, b) => a.start - b.start)) {
    const from = Math.max(start, at);
    if (from >= end) continue;
    if (from > at) nodes.push(snippet.slice(at, from));
    nodes.push(el("mark", {}, snippet.slice(from, end)));
    at = end;
  }
  if (at < snippet.length) nodes.push(snippet.slice(at));
  return nodes;
}

export function renderHits(ol, results, messenger) {
  ol.replaceChildren(
    ...results.hits.map((hit) => {
      const conversation = messenger.conversations.get(hit.conversation_id);
      const title = conversation ? conversation.title() : hit.conversation_id;
      const who = hit.sender === messenger.me.userId ? "You" : hit.sender;
      const lead = hit.snippet_offset > 0 ? "…" : "";
      return el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            "aria-label": `${title}, ${who}: ${hit.snippet}`,
            dataset: { conversationId: hit.conversation_id, seq: hit.seq },
          },
          el("span", { className: "name" }, title),
          el("span", { className: "time" }, clock(hit.sent_at_ms)),
          el("span", { className: "snippet" }, `${who}: ${lead}`, marked(hit.snippet, hit.highlights)),
        ),
      );
    }),
  );
}
