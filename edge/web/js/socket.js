// The data plane's socket: one logical WebSocket to the edge that outlives drops and goodbyes.
//
// A browser cannot set headers on a WebSocket, so the first frame is `authenticate`. Every
// request gets exactly one answer with its id; a drop fails the open requests with
// `disconnected` (their outcome unknown) and reconnects with backoff. Each successful
// (re)connect dispatches `open`, which is where the messenger catches up from its cursors.

export class RequestError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
    this.detail = message;
  }
}

// After these the server did not take the request, or may not have: retrying is safe for
// idempotent requests (a send retried with the same client_msg_id is stored once).
export const RETRYABLE = new Set(["timeout", "unavailable", "internal", "disconnected", "too_busy"]);

const PING_EVERY_MS = 25_000;

export class Socket extends EventTarget {
  constructor(url, token, { requestTimeoutMs = 10_000 } = {}) {
    super();
    this.url = url;
    this.token = token;
    this.requestTimeoutMs = requestTimeoutMs;
    this.state = "idle"; // idle, connecting, open, reconnecting, closed, failed
    this.ws = null;
    this.pending = new Map();
    this.nextId = 1;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.connects = 0;
  }

  start() {
    if (this.state === "idle") this.connect();
    addEventListener("online", () => this.reconnectNow());
  }

  stop() {
    this.setState("closed");
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000, "bye");
  }

  // Reconnect at once (the network came back): no need to wait out the backoff.
  reconnectNow() {
    if (this.state !== "reconnecting") return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  // Close the socket as if the network dropped: for the page's own tests and the debug hook.
  drop() {
    if (this.ws) this.ws.close(4000, "dropped by the client");
  }

  request(frame, { timeoutMs = this.requestTimeoutMs } = {}) {
    const id = `r${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError("timeout", "no answer in time"));
      }, timeoutMs);
      const request = { resolve, reject, timer, frame: { ...frame, id }, sent: false };
      this.pending.set(id, request);
      // Otherwise it goes out when the socket opens (see flushWaiting).
      if (this.state === "open" && this.ws) {
        request.sent = true;
        this.ws.send(JSON.stringify(request.frame));
      }
    });
  }

  connect() {
    this.setState(this.connects === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.scheduleReconnect(1000);
      return;
    }
    this.ws = ws;
    const authId = `auth${this.nextId++}`;
    let authenticated = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: "authenticate", id: authId, token: this.token }));
    ws.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!authenticated) {
        if (frame.type === "response" && frame.id === authId) {
          authenticated = true;
          this.opened(frame.result);
        } else if (frame.type === "error" && frame.code === "unauthorized") {
          this.fail(frame.message);
        }
        return;
      }
      this.receive(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      for (const [id, request] of this.pending) {
        if (request.sent) {
          clearTimeout(request.timer);
          this.pending.delete(id);
          request.reject(new RequestError("disconnected", "the connection dropped"));
        }
      }
      if (this.state === "closed" || this.state === "failed") return;
      this.scheduleReconnect();
    };
  }

  opened(identity) {
    this.attempt = 0;
    this.connects += 1;
    this.setState("open");
    this.pingTimer = setInterval(() => this.keepAlive(), PING_EVERY_MS);
    this.flushWaiting();
    this.dispatchEvent(new CustomEvent("open", { detail: identity }));
  }

  flushWaiting() {
    for (const request of this.pending.values()) {
      if (!request.sent) {
        request.sent = true;
        this.ws.send(JSON.stringify(request.frame));
      }
    }
  }

  receive(frame) {
    if (frame.type === "response" || frame.type === "error") {
      const request = frame.id == null ? undefined : this.pending.get(frame.id);
      if (request === undefined) {
        if (frame.type === "error" && frame.code === "unauthorized") this.fail(frame.message);
        return;
      }
      this.pending.delete(frame.id);
      clearTimeout(request.timer);
      if (frame.type === "response") request.resolve(frame.result ?? {});
      else request.reject(new RequestError(frame.code, frame.message));
    } else if (frame.type === "goodbye") {
      // The edge is going away: come back (to any edge) after the delay it asks for.
      this.scheduleReconnectAfterClose(frame.reconnect_after_ms ?? 500);
    } else {
      this.dispatchEvent(new CustomEvent("push", { detail: frame }));
    }
  }

  async keepAlive() {
    try {
      await this.request({ type: "ping" }, { timeoutMs: 10_000 });
    } catch (e) {
      // A socket that cannot answer a ping is dead even if the browser has not noticed.
      if (e.code === "timeout" && this.ws) this.ws.close(4001, "no pong");
    }
  }

  scheduleReconnectAfterClose(delayMs) {
    const ws = this.ws;
    this.ws = null;
    clearInterval(this.pingTimer);
    if (ws) {
      ws.onclose = null;
      ws.close(1000, "goodbye");
    }
    for (const [id, request] of this.pending) {
      if (request.sent) {
        clearTimeout(request.timer);
        this.pending.delete(id);
        request.reject(new RequestError("disconnected", "the edge went away"));
      }
    }
    this.scheduleReconnect(delayMs);
  }

  scheduleReconnect(delayMs) {
    this.setState("reconnecting");
    this.attempt += 1;
    const backoff = Math.min(10_000, 500 * 2 ** Math.min(this.attempt - 1, 5));
    const delay = delayMs ?? backoff * (0.5 + Math.random() / 2);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  fail(reason) {
    this.setState("failed");
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000, "unauthorized");
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(new RequestError("unauthorized", reason));
    }
    this.pending.clear();
    this.dispatchEvent(new CustomEvent("failed", { detail: reason }));
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }
}

export function websocketUrl(location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/v1/ws`;
}
