// Drawing the messenger's state: the conversation list and the open conversation. Elements
// are keyed (conversation id; device and client_msg_id for a message), so an optimistic
// bubble becomes the stored message in place, and a redraw never loses focus or scroll.

const TICKS = {
  sending: ["○", "Sending"],
  sent: ["✓", "Sent"],
  delivered: ["✓✓", "Delivered"],
  read: ["✓✓", "Read"],
  failed: ["!", "Not sent"],
};
const REACTIONS = ["👍", "❤️", "😂"];

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export function clock(ms) {
  if (!ms) return "";
  const at = new Date(ms);
  const today = new Date();
  if (at.toDateString() === today.toDateString()) {
    return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  return at.toLocaleDateString([], { month: "short", day: "numeric" });
}

function reconcile(parent, items, keyOf, signatureOf, build) {
  const existing = new Map();
  for (const child of parent.children) existing.set(child.dataset.key, child);
  items.forEach((item, index) => {
    const key = keyOf(item);
    const signature = signatureOf(item);
    let node = existing.get(key);
    existing.delete(key);
    if (!node) {
      node = build(item);
      node.dataset.key = key;
      node.dataset.signature = signature;
    } else if (node.dataset.signature !== signature) {
      // Same element, new content: a bubble keeps its place (and the log does not announce
      // it again as a new message when only its tick changed).
      const fresh = build(item);
      const hadFocus = node.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
      for (const attribute of [...node.attributes]) node.removeAttribute(attribute.name);
      for (const attribute of [...fresh.attributes]) node.setAttribute(attribute.name, attribute.value);
      node.replaceChildren(...fresh.childNodes);
      node.dataset.key = key;
      node.dataset.signature = signature;
      if (hadFocus) node.querySelector(`[data-focus-key="${hadFocus}"]`)?.focus();
    }
    if (parent.children[index] !== node) parent.insertBefore(node, parent.children[index] ?? null);
  });
  for (const stale of existing.values()) stale.remove();
}

// The list: newest activity first, with presence, unread count and the last message.
export function renderList(ul, messenger, openId) {
  const items = messenger.list().map((c) => {
    const unread = c.unread();
    const preview = c.preview();
    const other = c.kind === "direct" ? c.others()[0] : null;
    const online = other ? messenger.presence.get(other) === "online" : false;
    const who = preview ? (preview.sender === messenger.me.userId ? "You" : preview.sender) : "";
    const previewText = preview
      ? c.kind === "group" || who === "You"
        ? `${who}: ${preview.text}`
        : preview.text
      : "No messages yet";
    return {
      id: c.id,
      title: c.title(),
      kind: c.kind,
      online,
      presence: other ? (online ? "online" : "offline") : "group",
      unread: unread.count ? `${unread.count}${unread.atLeast ? "+" : ""}` : "",
      previewText,
      time: clock(preview?.at ?? c.activity()),
      open: c.id === openId,
    };
  });
  reconcile(
    ul,
    items,
    (item) => item.id,
    (item) => JSON.stringify(item),
    (item) => {
      const label = [
        item.title,
        item.kind === "direct" ? item.presence : "group",
        item.unread ? `${item.unread} unread` : null,
        `last message: ${item.previewText}`,
      ]
        .filter(Boolean)
        .join(", ");
      return el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            "aria-label": label,
            "aria-current": item.open ? "true" : false,
            dataset: { conversationId: item.id, focusKey: "open" },
          },
          el("span", {
            className: `dot ${item.kind === "group" ? "group" : item.online ? "online" : ""}`,
            "aria-hidden": "true",
          }),
          el("span", { className: "name" }, item.title),
          el("span", { className: "time" }, item.time),
          el("span", { className: "preview" }, item.previewText),
          item.unread ? el("span", { className: "badge", dataset: { unread: item.unread } }, item.unread) : "",
        ),
      );
    },
  );
}

// What the message list shows: stored messages in seq order (with a "Load more messages"
// button where a hole below a found message is not loaded yet), then this device's messages
// the log has not shown back yet (the outbox), each once.
export function chatItems(messenger, conversation) {
  const stored = conversation.visibleMessages();
  const storedKeys = new Set(stored.map((m) => `${m.deviceId}/${m.clientMsgId}`));
  const items = stored.map((m) => ({
    key: `${m.deviceId}/${m.clientMsgId}`,
    seq: m.seq,
    sender: m.sender,
    mine: m.mine,
    text: m.text,
    at: m.at,
    edited: m.edited,
    deleted: m.deleted,
    reactions: [...m.reactions].map(([emoji, users]) => [emoji, users.length, users.includes(messenger.me.userId)]),
    status: m.mine ? conversation.statusOf(m.seq) : null,
    found: m.seq === conversation.found,
  }));
  for (const hole of conversation.holes) {
    const at = items.findIndex((item) => item.seq > hole.after);
    const item = { key: `hole-${hole.after}-${hole.before}`, hole };
    items.splice(at < 0 ? items.length : at, 0, item);
  }
  for (const item of messenger.outbox.of(conversation.id)) {
    const key = `${messenger.me.deviceId}/${item.clientMsgId}`;
    if (storedKeys.has(key)) continue;
    items.push({
      key,
      seq: item.seq,
      sender: messenger.me.userId,
      mine: true,
      text: item.text,
      at: item.createdAt,
      edited: false,
      deleted: null,
      reactions: [],
      status: item.state === "sent" ? conversation.statusOf(item.seq) : item.state,
      pending: item.clientMsgId,
      error: item.error,
    });
  }
  return items;
}

export function renderMessages(ol, messenger, conversation, actions) {
  const group = conversation.kind === "group";
  const canAct = ["edit", "delete", "react"].some((f) => messenger.supports[f] !== false);
  reconcile(
    ol,
    chatItems(messenger, conversation),
    (item) => item.key,
    (item) => JSON.stringify([item, canAct, messenger.supports, actions.openMenu === item.key]),
    (item) => (item.hole ? buildHole(item.hole, actions) : buildMessage(item, { group, canAct, messenger, actions })),
  );
}

function buildHole(hole, actions) {
  const more = el("button", { type: "button", dataset: { focusKey: "hole" } }, "Load more messages");
  more.addEventListener("click", () => actions.fillHole(hole));
  return el("li", { className: "hole", dataset: { after: hole.after, before: hole.before } }, more);
}

function buildMessage(item, { group, canAct, messenger, actions }) {
  const senderName = item.mine ? "You" : item.sender;
  const text = item.deleted
    ? item.deleted === "redacted"
      ? "This message was removed."
      : "This message was deleted."
    : item.text;
  const [tick, tickLabel] = item.status ? TICKS[item.status] ?? TICKS.sent : [null, null];
  const li = el(
    "li",
    {
      className: `msg${item.mine ? " mine" : ""}${item.deleted ? " deleted" : ""}${item.found ? " found" : ""}`,
      dataset: { seq: item.seq ?? "", status: item.status ?? "", sender: item.sender },
    },
    el("p", { className: group && !item.mine ? "sender" : "sender visually-hidden" }, `${senderName}:`),
    el("p", { className: "text" }, text),
  );
  if (item.reactions.length) {
    li.append(
      el(
        "div",
        { className: "reactions" },
        item.reactions.map(([emoji, count, mineToo]) => {
          const chip = el(
            "button",
            {
              type: "button",
              "aria-pressed": mineToo ? "true" : "false",
              "aria-label": `${emoji} ${count}`,
              dataset: { focusKey: `react-${emoji}` },
            },
            `${emoji} ${count}`,
          );
          chip.addEventListener("click", () => actions.react(item, emoji, !mineToo));
          return chip;
        }),
      ),
    );
  }
  const meta = el(
    "p",
    { className: "meta" },
    item.edited ? el("span", {}, "edited") : "",
    el("time", { datetime: item.at ? new Date(item.at).toISOString() : "" }, clock(item.at)),
    tick ? el("span", { className: "tick", role: "img", "aria-label": tickLabel, title: tickLabel }, tick) : "",
  );
  li.append(meta);
  if (item.status === "failed") {
    const retry = el("button", { type: "button", dataset: { focusKey: "retry" } }, "Retry");
    const discard = el("button", { type: "button", dataset: { focusKey: "discard" } }, "Discard");
    retry.addEventListener("click", () => messenger.retry(item.pending));
    discard.addEventListener("click", () => messenger.discard(item.pending));
    li.append(el("p", { className: "error" }, item.error ?? "Not sent."), el("div", { className: "actions" }, retry, discard));
  }
  if (canAct && item.seq && !item.pending && !item.deleted) {
    const open = actions.openMenu === item.key;
    const more = el(
      "button",
      {
        type: "button",
        className: "more",
        "aria-label": `Actions for ${item.mine ? "your" : `${item.sender}’s`} message “${item.text.slice(0, 40)}”`,
        "aria-expanded": open ? "true" : "false",
        dataset: { focusKey: "more" },
      },
      "⋯",
    );
    more.addEventListener("click", () => actions.toggleMenu(item.key));
    li.append(more);
    if (open) li.append(buildActions(item, messenger, actions));
  }
  return li;
}

function buildActions(item, messenger, actions) {
  const row = el("div", { className: "actions", role: "group", "aria-label": "Message actions" });
  const add = (label, focusKey, handler) => {
    const button = el("button", { type: "button", dataset: { focusKey } }, label);
    button.addEventListener("click", handler);
    row.append(button);
  };
  if (messenger.supports.react !== false) {
    for (const emoji of REACTIONS) add(emoji, `add-${emoji}`, () => actions.react(item, emoji, true));
  }
  if (messenger.supports.edit !== false && item.mine) add("Edit", "edit", () => actions.edit(item));
  if (messenger.supports.delete !== false) {
    add("Delete for me", "delete-me", () => actions.remove(item, "for_me"));
    if (item.mine) add("Delete for everyone", "delete-all", () => actions.remove(item, "for_everyone"));
  }
  return row;
}

export function typingText(users) {
  if (users.length === 0) return "";
  if (users.length === 1) return `${users[0]} is typing…`;
  if (users.length === 2) return `${users[0]} and ${users[1]} are typing…`;
  return "Several people are typing…";
}

export function subtitle(messenger, conversation) {
  if (conversation.kind === "direct") {
    const other = conversation.others()[0];
    const status = other ? messenger.presence.get(other) : null;
    return status ? status : "";
  }
  const members = [...conversation.members].sort();
  return `${members.length} members: ${members.map((u) => (u === messenger.me.userId ? "you" : u)).join(", ")}`;
}
