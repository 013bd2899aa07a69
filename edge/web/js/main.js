// The page: log in or resume this tab's device, then wire the messenger to the DOM.

import { api } from "./api.js";
import { wireDialogs } from "./dialogs.js";
import { Messenger } from "./messenger.js";
import { Results, renderHits } from "./results.js";
import { adoptDevice, claimDevice, forgetDevice } from "./session.js";
import { Socket, websocketUrl } from "./socket.js";
import { renderList, renderMessages, subtitle, typingText } from "./view.js";

const $ = (id) => document.getElementById(id);
const NEAR_BOTTOM_PX = 80;
const NEAR_TOP_PX = 60;

let messenger = null;
let openId = null;
let renderQueued = false;
let registering = false;
const actionsState = { openMenu: null };
const results = new Results();
let jump = null; // { id, seq }: a found message to bring into view once it is drawn

function settings() {
  try {
    return JSON.parse(localStorage.getItem("parley.settings") ?? "{}") ?? {};
  } catch {
    return {};
  }
}

function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    node.hidden = true;
  }, 5000);
}

// Log in and register.

function showAuth(message = "") {
  $("app").hidden = true;
  $("banner").hidden = true;
  $("auth").hidden = false;
  $("auth-error").textContent = message;
  setAuthMode(registering);
  $("auth-username").focus();
}

function setAuthMode(register) {
  registering = register;
  $("auth-title").textContent = register ? "Create an account" : "Log in";
  $("auth-submit").textContent = register ? "Create account" : "Log in";
  $("auth-switch-text").textContent = register ? "Have an account?" : "New here?";
  $("auth-switch").textContent = register ? "Log in instead" : "Create an account";
  $("auth-display-name").hidden = !register;
  $("auth-password-hint").hidden = !register;
  $("auth-password").autocomplete = register ? "new-password" : "current-password";
}

async function submitAuth(event) {
  event.preventDefault();
  const username = $("auth-username").value.trim();
  const password = $("auth-password").value;
  const error = $("auth-error");
  error.textContent = "";
  if (!username || !password) {
    error.textContent = "Enter a user name and a password.";
    return;
  }
  if (registering && password.length < 8) {
    error.textContent = "A password has at least 8 characters.";
    return;
  }
  const submit = $("auth-submit");
  submit.disabled = true;
  try {
    if (registering) await api.register(username, password, $("auth-display-name-input").value.trim());
    const session = await api.login(username, password, deviceName());
    await adoptDevice(session);
    $("auth-password").value = "";
    start(session);
  } catch (e) {
    error.textContent =
      e.code === "conflict"
        ? "That user name is taken."
        : e.code === "unauthorized"
          ? "Wrong user name or password."
          : e.detail ?? String(e);
  } finally {
    submit.disabled = false;
  }
}

function deviceName() {
  const agent = navigator.userAgent;
  const browser = /Firefox\//.test(agent) ? "Firefox" : /Chrom/.test(agent) ? "Chromium" : /Safari\//.test(agent) ? "Safari" : "Browser";
  const system = /Android/.test(agent) ? "Android" : /iPhone|iPad/.test(agent) ? "iOS" : /Mac/.test(agent) ? "macOS" : /Windows/.test(agent) ? "Windows" : /Linux/.test(agent) ? "Linux" : "web";
  return `${browser} on ${system}`;
}

// The messenger.

function start(session) {
  const socket = new Socket(websocketUrl(location), session.token, {
    requestTimeoutMs: settings().requestTimeoutMs ?? 10_000,
  });
  messenger = new Messenger(session, socket);
  window.parley = { messenger, socket }; // for the browser's console (and the tests' probes)
  socket.addEventListener("state", () => showConnection(socket.state));
  socket.addEventListener("failed", () => {
    if (messenger?.socket !== socket) return; // this tab logged out on purpose
    forgetDevice(session.device_id);
    messenger = null;
    showAuth("This device was logged out. Log in again.");
  });
  messenger.addEventListener("change", queueRender);
  $("auth").hidden = true;
  $("app").hidden = false;
  $("me-name").textContent = `Signed in as ${session.user_id}`;
  api.profile(session.token).then(
    (profile) => {
      if (profile.display_name && profile.display_name !== session.user_id) {
        $("me-name").textContent = `Signed in as ${profile.display_name} (${session.user_id})`;
      }
    },
    () => {},
  );
  showConnection(socket.state);
  socket.start();
  openFromHash();
  queueRender();
}

function showConnection(state) {
  document.body.dataset.connection = state;
  const banner = $("banner");
  const text = {
    connecting: "Connecting…",
    reconnecting: "Reconnecting… Messages you send now go out when the connection is back.",
  }[state];
  banner.hidden = !text;
  banner.textContent = text ?? "";
  queueRender();
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  if (!messenger) return;
  document.body.dataset.ready = messenger.ready ? "true" : "false";
  renderList($("conversations"), messenger, openId);
  renderResults();
  const unread = messenger.list().reduce((sum, c) => sum + c.unread().count, 0);
  document.title = unread ? `(${unread}) Parley` : "Parley";
  $("no-conversations").hidden = messenger.conversations.size > 0 || !messenger.ready || results.shown;
  const conversation = openId ? messenger.conversations.get(openId) : null;
  $("chat-empty").hidden = Boolean(conversation);
  $("chat-main").hidden = !conversation;
  if (!conversation) return;
  $("chat-title").textContent = conversation.title();
  $("chat-subtitle").textContent = subtitle(messenger, conversation);
  $("add-member").hidden = conversation.kind !== "group";
  $("load-older").hidden = conversation.reachedStart || !conversation.loaded;
  $("history-start").hidden = !conversation.reachedStart;
  $("typing").textContent = typingText(messenger.typingIn(conversation.id));

  const scroller = $("scroller");
  const ol = $("messages");
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
  const firstBefore = ol.firstElementChild?.dataset.key;
  const heightBefore = scroller.scrollHeight;
  const topBefore = scroller.scrollTop;
  renderMessages(ol, messenger, conversation, messageActions);
  const found = jump?.id === conversation.id ? ol.querySelector(`li[data-seq="${jump.seq}"]`) : null;
  if (found) {
    // A search result: the found message in the middle of the screen, not the latest.
    jump = null;
    scroller.dataset.for = conversation.id;
    found.scrollIntoView({ block: "center" });
  } else if (jump?.id === conversation.id) {
    // Still loading the messages around it: keep the scroll where it is.
  } else if (scroller.dataset.for !== conversation.id || atBottom) {
    scroller.dataset.for = conversation.id;
    scroller.scrollTop = scroller.scrollHeight;
  } else if (ol.firstElementChild?.dataset.key !== firstBefore) {
    // Older messages went in above: keep what the reader was looking at where it was.
    scroller.scrollTop = topBefore + (scroller.scrollHeight - heightBefore);
  }
  if (scroller.scrollHeight <= scroller.clientHeight && conversation.loaded && !conversation.reachedStart) {
    messenger.loadOlder(conversation).catch(() => {}); // nothing to scroll yet: fill the screen
  }
  updateReading();
}

// Read acks go out while the conversation is on screen and scrolled to its end.
function updateReading() {
  if (!messenger) return;
  const scroller = $("scroller");
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
  const visible = document.visibilityState === "visible" && !$("chat-main").hidden;
  messenger.reading(visible && atBottom ? openId : null);
}

function renderResults() {
  $("search-results").hidden = !results.shown;
  $("conversation-list").hidden = results.shown;
  if (!results.shown) return;
  $("search-status").textContent = results.status();
  renderHits($("search-hits"), results, messenger);
  $("search-more").hidden = !results.cursor || results.busy;
}

function search(more = false) {
  const query = more ? results.query : $("search-text").value.trim();
  if (!messenger || !query) return;
  results.run(messenger, query, { more }).finally(queueRender);
  queueRender();
}

function closeSearch() {
  results.clear();
  $("search-text").value = "";
  render();
}

function openFromHash() {
  const match = /^#\/c\/(.+)$/.exec(location.hash);
  open(match ? decodeURIComponent(match[1]) : null, { focus: false });
}

// `at`: the seq of a message to show (a search result), with the messages around it.
function open(conversationId, { focus = true, at = null } = {}) {
  if (openId !== conversationId) {
    if (openId && messenger) messenger.typing(openId, false);
    $("composer-text").value = "";
    actionsState.openMenu = null;
  }
  openId = conversationId;
  const hash = conversationId ? `#/c/${encodeURIComponent(conversationId)}` : "";
  if (location.hash !== hash) history.replaceState(null, "", hash || location.pathname);
  $("app").dataset.pane = conversationId ? "chat" : "list";
  const conversation = conversationId && messenger?.conversation(conversationId);
  if (conversation && at !== null) {
    conversation.found = at;
    jump = { id: conversationId, seq: at };
    messenger.loadAround(conversation, at).catch((e) => toast(`Cannot load: ${e.detail ?? e}`));
  } else if (conversation) {
    conversation.found = null;
    if (!conversation.loaded) messenger.load(conversation).catch(() => {});
  }
  render();
  if (focus && conversationId) $("composer-text").focus();
}

// Message actions: available only on servers that have edit, delete and react.

const messageActions = {
  get openMenu() {
    return actionsState.openMenu;
  },
  toggleMenu(key) {
    actionsState.openMenu = actionsState.openMenu === key ? null : key;
    render();
  },
  async react(item, emoji, active) {
    await attempt(() => messenger.react(openId, item.seq, emoji, active));
  },
  async fillHole(hole) {
    const conversation = openId && messenger?.conversations.get(openId);
    if (conversation) await attempt(() => messenger.fillHole(conversation, hole));
  },
  async remove(item, scope) {
    await attempt(() => messenger.remove(openId, item.seq, scope));
  },
  edit(item) {
    actionsState.openMenu = null;
    render();
    const dialog = $("edit-dialog");
    $("edit-text").value = item.text;
    $("edit-error").textContent = "";
    dialog.dataset.seq = item.seq;
    dialog.showModal();
  },
};

async function attempt(action) {
  actionsState.openMenu = null;
  try {
    await action();
  } catch (e) {
    toast(e.code === "unsupported" ? `${e.detail}.` : `That did not work: ${e.detail ?? e}`);
  }
  render();
}

// Wiring.

function wire() {
  $("auth-form").addEventListener("submit", submitAuth);
  $("auth-switch").addEventListener("click", () => {
    setAuthMode(!registering);
    $("auth-error").textContent = "";
    $("auth-username").focus();
  });

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  $("search-text").addEventListener("keydown", (event) => {
    if (event.key === "Escape" && results.shown) closeSearch();
  });
  $("search-close").addEventListener("click", () => {
    closeSearch();
    $("search-text").focus();
  });
  $("search-more").addEventListener("click", () => search(true));
  $("search-hits").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-conversation-id]");
    if (button) open(button.dataset.conversationId, { focus: false, at: Number(button.dataset.seq) });
  });

  $("conversations").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-conversation-id]");
    if (button) open(button.dataset.conversationId);
  });
  $("back").addEventListener("click", () => {
    const id = openId;
    open(null);
    document.querySelector(`button[data-conversation-id="${CSS.escape(id ?? "")}"]`)?.focus();
  });
  addEventListener("hashchange", openFromHash);

  const composer = $("composer-text");
  composer.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    } else if (event.key === "Escape" && $("app").dataset.pane === "chat") {
      $("back").click();
    }
  });
  composer.addEventListener("input", () => {
    composer.style.height = "auto";
    composer.style.height = `${composer.scrollHeight}px`;
    if (messenger && openId) messenger.typing(openId, composer.value.trim().length > 0);
  });
  composer.addEventListener("blur", () => messenger && openId && messenger.typing(openId, false));
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = composer.value.trim();
    if (!text || !messenger || !openId) return;
    messenger.send(openId, text);
    messenger.typing(openId, false);
    composer.value = "";
    composer.style.height = "auto";
    const scroller = $("scroller");
    queueRender();
    requestAnimationFrame(() => {
      scroller.scrollTop = scroller.scrollHeight;
    });
  });

  const scroller = $("scroller");
  scroller.addEventListener("scroll", () => {
    updateReading();
    const conversation = openId && messenger?.conversations.get(openId);
    if (conversation && scroller.scrollTop < NEAR_TOP_PX) messenger.loadOlder(conversation).catch(() => {});
  });
  $("load-older").addEventListener("click", () => {
    const conversation = openId && messenger?.conversations.get(openId);
    if (conversation) messenger.loadOlder(conversation).catch((e) => toast(`Cannot load: ${e.detail ?? e}`));
  });
  document.addEventListener("visibilitychange", updateReading);

  $("logout").addEventListener("click", async () => {
    if (!messenger) return;
    const { deviceId } = messenger.me;
    const leaving = messenger;
    messenger = null;
    await leaving.logOut();
    forgetDevice(deviceId);
    openId = null;
    history.replaceState(null, "", location.pathname);
    showAuth("");
  });

  wireDialogs({ messenger: () => messenger, open, openId: () => openId });
}

async function boot() {
  wire();
  const session = await claimDevice();
  if (session) start(session);
  else showAuth();
}

boot();
