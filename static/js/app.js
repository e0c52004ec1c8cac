/* Pactline page behaviour: CSRF header for htmx, toasts, phone menu, dialogs,
   dismissible alerts, the live-connection indicator and review-clock countdowns. Loaded with `defer`
   after htmx and its SSE extension; no framework, no eval, no inline code. */
(function () {
  "use strict";

  var TOAST_MS = 6000;
  var LEVELS = ["info", "success", "warning", "error"];

  /* ---------------------------------------------------------------- CSRF -- */
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    var token = csrfToken();
    if (token) evt.detail.headers["X-CSRFToken"] = token;
  });

  /* -------------------------------------------------------------- toasts -- */
  function dismissToast(toast) {
    if (!toast || toast.classList.contains("is-leaving")) return;
    toast.classList.add("is-leaving");
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    window.setTimeout(function () { toast.remove(); }, reduce ? 0 : 200);
  }

  function showToast(message, level) {
    if (!message) return;
    var region = document.getElementById("toasts");
    if (!region) return;
    if (LEVELS.indexOf(level) === -1) level = "info";

    var toast = document.createElement("div");
    toast.className = "toast toast--" + level;   // announced by the aria-live region #toasts

    var text = document.createElement("p");
    text.className = "toast__message";
    text.textContent = String(message);   // never HTML: messages may echo user input

    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast__close";
    close.textContent = "Close";
    close.addEventListener("click", function () { dismissToast(toast); });

    toast.appendChild(text);
    toast.appendChild(close);
    region.appendChild(toast);

    // Keep errors up while the pointer or focus is on them; others go after ~6 s.
    var timer = null;
    function arm() { timer = window.setTimeout(function () { dismissToast(toast); }, TOAST_MS); }
    function disarm() { if (timer) window.clearTimeout(timer); timer = null; }
    toast.addEventListener("mouseenter", disarm);
    toast.addEventListener("mouseleave", arm);
    toast.addEventListener("focusin", disarm);
    toast.addEventListener("focusout", arm);
    arm();

    // At most four at once: the oldest goes first.
    var all = region.querySelectorAll(".toast:not(.is-leaving)");
    for (var i = 0; i < all.length - 4; i++) dismissToast(all[i]);
  }

  function toastFromPayload(payload) {
    if (!payload) return;
    if (typeof payload === "string") {
      try { payload = JSON.parse(payload); } catch (e) { showToast(payload, "info"); return; }
    }
    if (payload && typeof payload.value === "object" && payload.value !== null) payload = payload.value;
    if (payload && typeof payload.message === "string") showToast(payload.message, payload.level);
  }

  // HX-Trigger: {"toast": {"message": "...", "level": "error"}} (htmx puts the object
  // in evt.detail; a plain string value arrives as evt.detail.value).
  document.addEventListener("toast", function (evt) {
    var detail = evt.detail || {};
    if (typeof detail.message === "string") { showToast(detail.message, detail.level); return; }
    if (detail.value !== undefined) toastFromPayload(detail.value);
  });

  // Live toasts arrive as the SSE event "toast" with JSON data. No element needs
  // sse-swap="toast": we listen on each EventSource the sse extension opens.
  var seenSources = typeof WeakSet === "function" ? new WeakSet() : null;
  var handledEvents = typeof WeakSet === "function" ? new WeakSet() : null;
  var seenIds = [];

  // True the first time an event is seen: the same event object may reach two listeners, and a
  // reconnect replays events by id.
  function firstTime(event) {
    if (handledEvents) {
      if (handledEvents.has(event)) return false;
      handledEvents.add(event);
    }
    if (event.lastEventId) {           // a replayed event is shown once
      if (seenIds.indexOf(event.lastEventId) !== -1) return false;
      seenIds.push(event.lastEventId);
      if (seenIds.length > 100) seenIds.shift();
    }
    return true;
  }

  function onSseToast(event) {
    if (!firstTime(event)) return;
    remember(event);
    toastFromPayload(event.data);
  }

  // "notification" events (app/notifications): one with a "message" is something new for this
  // person; one without (some were marked read) only makes the bell re-fetch itself (htmx does
  // that). New ones are held for a moment: a burst becomes one "N new notifications" toast
  // instead of a screenful.
  var HOLD_MS = 400, HOLD_MAX_MS = 1500;
  var held = [], holdTimer = null, holdStarted = 0;

  function flushNotifications() {
    holdTimer = null;
    var batch = held;
    held = [];
    if (!batch.length) return;
    if (batch.length === 1) { showToast(batch[0].message, batch[0].level); return; }
    var level = "info";
    for (var i = 0; i < batch.length; i++) if (batch[i].level === "error") level = "error";
    showToast(batch.length + " new notifications", level);
  }

  function onSseNotification(event) {
    if (!firstTime(event)) return;
    remember(event);
    var payload;
    try { payload = JSON.parse(event.data); } catch (e) { return; }
    if (!payload || typeof payload.message !== "string" || !payload.message) return;
    held.push({ message: payload.message, level: payload.level });
    var now = Date.now();
    if (holdTimer === null) holdStarted = now;
    else window.clearTimeout(holdTimer);
    holdTimer = window.setTimeout(flushNotifications, Math.max(0, Math.min(HOLD_MS, holdStarted + HOLD_MAX_MS - now)));
  }

  /* ------------------------------------------------- live connection status -- */
  var leaving = false;
  window.addEventListener("pagehide", function () { leaving = true; });
  window.addEventListener("pageshow", function () { leaving = false; });

  function liveStatus(show) {
    var el = document.getElementById("live-status");
    if (!el) return;
    if (show && !leaving) el.removeAttribute("hidden");
    else el.setAttribute("hidden", "");
  }

  document.addEventListener("htmx:sseOpen", function (evt) {
    liveStatus(false);
    var source = evt.detail && evt.detail.source;
    if (!source || (seenSources && seenSources.has(source))) return;
    if (seenSources) seenSources.add(source);
    source.addEventListener("toast", onSseToast);
    source.addEventListener("notification", onSseNotification);
  });

  document.addEventListener("htmx:sseError", function () { liveStatus(true); });

  // Resume where this tab stopped. The browser's own reconnect sends Last-Event-ID; but when a
  // reconnect is refused (a deploy, a 503 while Redis is away) the extension opens a new stream
  // from the `sse-connect` URL, which still says where the page was rendered: keep its
  // `last_event_id` at the newest event this tab has seen, so the catch-up brings no duplicates.
  // Events without an id (typing, presence) never move it.
  var newestId = 0;
  function remember(event) {
    var id = event && parseInt(event.lastEventId, 10);
    if (!id || id <= newestId) return;
    newestId = id;
    var body = document.body;
    var url = body && body.getAttribute("sse-connect");
    if (!url) return;
    var next = new URL(url, window.location.href);
    next.searchParams.set("last_event_id", String(id));
    body.setAttribute("sse-connect", next.pathname + next.search);
  }
  document.addEventListener("htmx:sseMessage", function (evt) { remember(evt.detail); });

  // If some page does put sse-swap="toast" on an element, htmx reports it here.
  document.addEventListener("htmx:sseMessage", function (evt) {
    if (evt.detail && evt.detail.type === "toast") onSseToast(evt.detail);
  });

  /* ------------------------------------------------ failures without a toast -- */
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Trigger")) return;   // the server already said what happened
    showToast("Something went wrong. Please try again.", "error");
  });

  document.addEventListener("htmx:sendError", function () {
    showToast("You appear to be offline. Check your connection and try again.", "error");
  });

  /* --------------------------------------------------------- phone menu -- */
  function navFor(button) {
    var id = button.getAttribute("aria-controls");
    return id ? document.getElementById(id) : null;
  }

  function setNav(button, open) {
    var nav = navFor(button);
    if (!nav) return;
    nav.classList.toggle("is-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  /* ---------------------------------------------------------- delegation -- */
  document.addEventListener("click", function (evt) {
    var target = evt.target instanceof Element ? evt.target : null;
    if (!target) return;

    var toggle = target.closest("[data-nav-toggle]");
    if (toggle) {
      setNav(toggle, toggle.getAttribute("aria-expanded") !== "true");
      return;
    }

    var opener = target.closest("[data-modal-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-modal-open"));
      if (dialog && typeof dialog.showModal === "function" && !dialog.open) {
        evt.preventDefault();
        dialog.showModal();
      }
      return;
    }

    var closer = target.closest("[data-modal-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) { evt.preventDefault(); open.close(); }
      return;
    }

    var dismiss = target.closest("[data-dismiss]");
    if (dismiss) {
      var box = dismiss.closest(".alert, .toast, [data-dismissible]");
      if (box) box.remove();
      return;
    }

    // A click on the dimmed backdrop (outside the dialog box) closes the dialog.
    if (target.tagName === "DIALOG" && target.open) {
      var r = target.getBoundingClientRect();
      var inside = evt.clientX >= r.left && evt.clientX <= r.right && evt.clientY >= r.top && evt.clientY <= r.bottom;
      if (!inside && evt.clientX !== 0 && evt.clientY !== 0) target.close();
    }
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var toggles = document.querySelectorAll('[data-nav-toggle][aria-expanded="true"]');
    for (var i = 0; i < toggles.length; i++) {
      setNav(toggles[i], false);
      var nav = navFor(toggles[i]);
      if (nav && nav.contains(document.activeElement)) toggles[i].focus();
    }
  });

  // Dialog content swapped in by htmx after a successful form post can ask to close:
  // respond with HX-Trigger: {"closeModal": {}}.
  document.addEventListener("closeModal", function () {
    var dialogs = document.querySelectorAll("dialog[open]");
    for (var i = 0; i < dialogs.length; i++) dialogs[i].close();
  });
  /* --------------------------------------------------- live countdowns -- */
  // <time datetime="ISO" data-countdown> with a [data-countdown-left] next to it (in the same
  // parent): the words "in 6 days 23 hours" are rewritten every 30 s, the same words the server
  // wrote (app/escrow/views.py::time_left). Blocks swapped in by htmx are found on the next tick.
  function unit(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function timeLeft(end, now) {
    var seconds = Math.floor((end - now) / 1000);
    if (seconds <= 0) return "any moment now";
    var minutes = Math.max(1, Math.floor(seconds / 60));
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    minutes = minutes % 60;
    if (days) return "in " + unit(days, "day") + (hours ? " " + unit(hours, "hour") : "");
    if (hours) return "in " + unit(hours, "hour") + (minutes ? " " + unit(minutes, "minute") : "");
    return "in " + unit(minutes, "minute");
  }

  function tickCountdowns() {
    var clocks = document.querySelectorAll("time[data-countdown]");
    var now = Date.now();
    for (var i = 0; i < clocks.length; i++) {
      var end = Date.parse(clocks[i].getAttribute("datetime"));
      var left = clocks[i].parentNode && clocks[i].parentNode.querySelector("[data-countdown-left]");
      if (!left || isNaN(end)) continue;
      var words = "(" + timeLeft(end, now) + ")";
      if (left.textContent !== words) left.textContent = words;
    }
  }

  tickCountdowns();
  window.setInterval(tickCountdowns, 30000);
  document.addEventListener("htmx:afterSettle", tickCountdowns);
})();
