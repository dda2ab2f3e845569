// The live order page: sign in, list orders, and keep each status badge current over the
// WebSocket, catching up through /api/notifications/ after every (re)connect.
//
// Tokens live in memory only (never in storage or the URL). The socket carries the access token
// in Sec-WebSocket-Protocol: new WebSocket(url, ["jwt", access]).
(function () {
  "use strict";

  const API = "/api";
  const SOCKET_PATH = "/ws/orders/";
  const CLOSE_UNAUTHENTICATED = 4401;
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_CAP_MS = 10000;
  const PING_EVERY_MS = 25000;
  const PONG_WITHIN_MS = 10000;
  const PAGE_SIZE = 100;
  const MAX_PAGES = 1000; // a bound on any one listing, so a misbehaving server cannot spin us

  const $ = (id) => document.getElementById(id);

  // Everything one sign-in knows; replaced wholesale on sign-out so stale callbacks see `session
  // !== current` and stop.
  let session = null;

  class SessionEnded extends Error {}

  function newSession(access, refresh) {
    return {
      access,
      refresh,
      refreshing: null, // one refresh at a time: rotation blacklists the old refresh token
      socket: null,
      attempt: 0, // failed connects since the last good catch-up; drives the back-off
      freshTokens: false, // reconnecting right after a refresh caused by a 4401
      retryTimer: null,
      pingTimer: null,
      pongTimer: null,
      cursor: 0, // every event with id <= cursor has been applied (or was in the snapshot)
      applied: new Set(), // event ids applied, so at-least-once delivery never applies twice
      orders: new Map(), // order id -> {row, badge, eventId}
    };
  }

  // ---- connection state -------------------------------------------------------------------

  function setState(state) {
    const el = $("connection");
    el.dataset.state = state;
    el.textContent = state;
    el.className = "state state-" + state;
  }

  // ---- HTTP with token refresh ------------------------------------------------------------

  async function refreshTokens(s) {
    if (!s.refreshing) {
      s.refreshing = (async () => {
        const res = await fetch(API + "/token/refresh/", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh: s.refresh }),
        });
        if (!res.ok) throw new SessionEnded("Your session has expired; please sign in again.");
        const body = await res.json();
        s.access = body.access;
        s.refresh = body.refresh;
      })().finally(() => {
        s.refreshing = null;
      });
    }
    return s.refreshing;
  }

  // GET/POST as the signed-in user; on 401 refresh the tokens once and retry.
  async function api(s, path, options = {}) {
    for (let tries = 0; ; tries++) {
      const res = await fetch(API + path, {
        ...options,
        headers: { ...(options.headers || {}), Authorization: "Bearer " + s.access },
      });
      if (s !== session) throw new SessionEnded();
      if (res.status === 401 && tries === 0) {
        await refreshTokens(s);
        continue;
      }
      if (res.status === 401) throw new SessionEnded("Please sign in again.");
      if (!res.ok) throw new Error(path + " answered " + res.status);
      return res.json();
    }
  }

  // Every item of a paginated {"items", "count"} listing, page by page.
  async function allPages(s, path) {
    const sep = path.includes("?") ? "&" : "?";
    const items = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const body = await api(s, path + sep + "page_size=" + PAGE_SIZE + "&page=" + page);
      items.push(...body.items);
      if (body.items.length < PAGE_SIZE || items.length >= body.count) break;
    }
    return items;
  }

  // ---- orders table ------------------------------------------------------------------------

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function setBadge(badge, status) {
    badge.textContent = status;
    badge.dataset.status = status;
    badge.className = "badge badge-" + status;
  }

  function fillDetails(entry, order) {
    entry.customer.textContent = order.customer_username;
    entry.total.textContent = order.total;
  }

  // The row for an order, created (at the top) when it is not on the page yet.
  function rowFor(s, orderId) {
    let entry = s.orders.get(orderId);
    if (entry) return entry;
    const row = document.createElement("tr");
    row.dataset.orderId = String(orderId);
    const badge = document.createElement("span");
    const status = document.createElement("td");
    status.appendChild(badge);
    entry = { row, badge, customer: cell("…"), total: cell("…"), eventId: 0 };
    row.append(cell("#" + orderId), entry.customer, entry.total, status);
    const body = $("orders-body");
    // Newest first, as the API lists them.
    const after = [...body.children].find((r) => Number(r.dataset.orderId) < orderId);
    body.insertBefore(row, after || null);
    s.orders.set(orderId, entry);
    $("orders-empty").hidden = true;
    return entry;
  }

  function showOrder(s, order) {
    const entry = rowFor(s, order.id);
    fillDetails(entry, order);
    setBadge(entry.badge, order.status);
  }

  // Apply one event: skip ids already applied, and never let an older event overwrite a newer
  // one (a catch-up can return events the socket already delivered out of order).
  function applyEvent(s, event) {
    if (s.applied.has(event.id)) return false;
    s.applied.add(event.id);
    const isNew = !s.orders.has(event.order_id);
    const entry = rowFor(s, event.order_id);
    if (event.id > entry.eventId) {
      entry.eventId = event.id;
      setBadge(entry.badge, event.new_status);
      entry.row.classList.remove("flash");
      void entry.row.offsetWidth; // restart the highlight animation
      entry.row.classList.add("flash");
    }
    if (event.type === "order.created") entry.row.classList.add("new-order");
    if (isNew) {
      // An order placed after the page loaded (its order.created event, for staff and on the
      // customer's other tabs): fetch its customer and total.
      api(s, "/orders/" + event.order_id + "/")
        .then((order) => fillDetails(entry, order))
        .catch(() => {});
    }
    return true;
  }

  // ---- the socket --------------------------------------------------------------------------

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + SOCKET_PATH;
  }

  function backoffDelay(attempt) {
    // "Equal jitter": half the exponential step fixed, half random, so clients that dropped
    // together (a server restart) do not come back together, and none retries at once forever.
    const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
    return step / 2 + Math.random() * (step / 2);
  }

  function stopTimers(s) {
    clearTimeout(s.retryTimer);
    clearInterval(s.pingTimer);
    clearTimeout(s.pongTimer);
    s.retryTimer = s.pingTimer = s.pongTimer = null;
  }

  function scheduleReconnect(s, delay) {
    if (s !== session || s.retryTimer) return;
    setState("reconnecting");
    s.retryTimer = setTimeout(() => {
      s.retryTimer = null;
      connect(s);
    }, delay);
  }

  function connect(s) {
    if (s !== session) return;
    stopTimers(s);
    let socket;
    try {
      socket = new WebSocket(socketUrl(), ["jwt", s.access]);
    } catch (err) {
      s.attempt += 1;
      scheduleReconnect(s, backoffDelay(s.attempt));
      return;
    }
    s.socket = socket;
    // Until this connection's catch-up is done, live events are applied but do not move the
    // cursor: if the catch-up fails, the next one must still start from before the gap.
    let caughtUp = false;
    let liveMax = 0;

    socket.onopen = async () => {
      if (s !== session || s.socket !== socket) return;
      s.pingTimer = setInterval(() => {
        if (socket.readyState !== WebSocket.OPEN) return;
        socket.send(JSON.stringify({ type: "ping" }));
        clearTimeout(s.pongTimer);
        // No pong: the connection is half-open (e.g. a NAT dropped it); start over.
        s.pongTimer = setTimeout(() => socket.close(), PONG_WITHIN_MS);
      }, PING_EVERY_MS);
      try {
        await catchUp(s);
      } catch (err) {
        if (s !== session) return;
        if (err instanceof SessionEnded) return signedOut(err.message);
        socket.close(); // onclose schedules the retry with back-off
        return;
      }
      if (s !== session || s.socket !== socket) return;
      caughtUp = true;
      advanceCursor(s, liveMax);
      s.attempt = 0;
      s.freshTokens = false;
      $("orders-error").hidden = true;
      if (socket.readyState === WebSocket.OPEN) setState("connected");
    };

    socket.onmessage = (message) => {
      if (s !== session || s.socket !== socket) return;
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (err) {
        return;
      }
      if (data.type === "pong") {
        clearTimeout(s.pongTimer);
        return;
      }
      if (typeof data.id !== "number" || typeof data.order_id !== "number") return;
      applyEvent(s, data);
      if (caughtUp) advanceCursor(s, data.id);
      else liveMax = Math.max(liveMax, data.id);
    };

    socket.onclose = async (event) => {
      if (s !== session || s.socket !== socket) return;
      s.socket = null;
      stopTimers(s);
      setState("reconnecting");
      if (event.code === CLOSE_UNAUTHENTICATED) {
        // Refused for its token (it expired, say while the server was away): with new tokens
        // reconnect at once, not after the back-off, but only once per refresh, so a server
        // that refuses fresh tokens too is retried at the back-off's pace.
        const refusedFreshTokens = s.freshTokens;
        s.freshTokens = false;
        try {
          await refreshTokens(s);
          if (s !== session) return;
          if (!refusedFreshTokens) {
            s.freshTokens = true;
            return scheduleReconnect(s, 0);
          }
        } catch (err) {
          if (s !== session) return;
          if (err instanceof SessionEnded) return signedOut(err.message);
          // Server unreachable: keep the old tokens and retry with back-off.
        }
      }
      s.attempt += 1;
      scheduleReconnect(s, backoffDelay(s.attempt - 1));
    };
  }

  // Every event after the cursor, oldest first; the feed itself is newest first and paginated.
  async function catchUp(s) {
    const events = await allPages(s, "/notifications/?after=" + s.cursor);
    events.sort((a, b) => a.id - b.id);
    for (const event of events) applyEvent(s, event);
    if (events.length) advanceCursor(s, events[events.length - 1].id);
  }

  function advanceCursor(s, id) {
    s.cursor = Math.max(s.cursor, id);
    document.body.dataset.lastEventId = String(s.cursor);
  }

  // ---- sign in / out ------------------------------------------------------------------------

  async function start(s) {
    const me = await api(s, "/me/");
    $("whoami").textContent = "Signed in as " + me.username + (me.is_staff ? " (staff: all orders)" : "");
    // The newest event id before the snapshot: the snapshot already reflects everything up to
    // it, and the first catch-up replays anything after it.
    const newest = await api(s, "/notifications/?page_size=1");
    advanceCursor(s, newest.items.length ? newest.items[0].id : 0);
    const orders = await allPages(s, "/orders/");
    $("orders-body").replaceChildren();
    for (const order of orders) showOrder(s, order);
    $("orders-empty").hidden = orders.length > 0;
    setState("connecting");
    connect(s);
  }

  function endSession() {
    const s = session;
    session = null;
    if (!s) return null;
    stopTimers(s);
    if (s.socket) s.socket.close(1000);
    return s;
  }

  function signedOut(message) {
    endSession();
    setState("offline");
    $("orders-panel").hidden = true;
    $("orders-body").replaceChildren();
    $("signin").hidden = false;
    const error = $("signin-error");
    error.textContent = message || "";
    error.hidden = !message;
  }

  async function onSignIn(event) {
    event.preventDefault();
    const button = $("signin-submit");
    const error = $("signin-error");
    error.hidden = true;
    button.disabled = true;
    try {
      const res = await fetch(API + "/token/", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: $("username").value, password: $("password").value }),
      });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        const detail = typeof body.detail === "string" ? body.detail : "Sign-in failed.";
        throw new Error(res.status === 429 ? "Too many attempts; try again shortly." : detail);
      }
      const tokens = await res.json();
      endSession();
      session = newSession(tokens.access, tokens.refresh);
      $("password").value = "";
      $("signin").hidden = true;
      $("orders-panel").hidden = false;
      await start(session);
    } catch (err) {
      if (!(err instanceof SessionEnded) || err.message) signedOut(err.message || "Sign-in failed.");
    } finally {
      button.disabled = false;
    }
  }

  async function onSignOut() {
    const s = endSession();
    signedOut("");
    if (s) {
      // Blacklisting the refresh token also ends this sign-in's access tokens server side.
      fetch(API + "/token/blacklist/", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh: s.refresh }),
      }).catch(() => {});
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("signin").addEventListener("submit", onSignIn);
    $("signout").addEventListener("click", onSignOut);
    // Back online: retry now instead of waiting out the back-off.
    window.addEventListener("online", () => {
      const s = session;
      if (s && !s.socket && s.retryTimer) {
        clearTimeout(s.retryTimer);
        s.retryTimer = null;
        connect(s);
      }
    });
    setState("offline");
  });
})();
