/* The typing indicator of a conversation page (templates/messages/_typing.html, decision 0045).
   Sending: while the person writes in the composer (a textarea named "body"), at most one
   "typing" POST every few seconds, none for empty text; the server throttles too.
   Showing: the other party's "typing" signal (ids only) on the page's event stream shows
   "<Name> is typing…" for a few seconds after the last one; a new message hides it. */
(function () {
  "use strict";

  var SEND_EVERY_MS = 3000;
  var SHOW_FOR_MS = 5000;

  function indicator() { return document.querySelector("[data-typing]"); }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* ------------------------------------------------------------ sending -- */
  var lastSent = 0;

  document.addEventListener("input", function (evt) {
    var field = evt.target;
    if (!(field instanceof HTMLTextAreaElement) || field.name !== "body") return;
    var box = indicator();
    if (!box || !field.value.trim()) return;
    var now = Date.now();
    if (now - lastSent < SEND_EVERY_MS) return;
    lastSent = now;
    if (typeof window.fetch !== "function") return;
    window.fetch(box.getAttribute("data-typing-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" }
    }).catch(function () { /* only a hint: nothing to tell anyone */ });
  });

  /* ------------------------------------------------------------ showing -- */
  var hideTimer = null;

  function text() {
    var box = indicator();
    return box ? box.querySelector("[data-typing-text]") : null;
  }

  function hide() {
    if (hideTimer) window.clearTimeout(hideTimer);
    hideTimer = null;
    var line = text();
    if (line) line.setAttribute("hidden", "");
  }

  function parse(data) {
    try { return JSON.parse(data); } catch (e) { return null; }
  }

  function onTyping(event) {
    var box = indicator();
    var data = parse(event.data);
    if (!box || !data) return;
    if (String(data.user) !== box.getAttribute("data-typing-user")) return;          // not the other party
    if (data.conversation !== box.getAttribute("data-typing-conversation")) return;
    var line = text();
    if (!line) return;
    line.removeAttribute("hidden");
    if (hideTimer) window.clearTimeout(hideTimer);
    hideTimer = window.setTimeout(hide, SHOW_FOR_MS);
  }

  function onMessage(event) {
    var box = indicator();
    var data = parse(event.data);
    if (box && data && data.conversation === box.getAttribute("data-typing-conversation") && data.what === "sent" &&
        String(data.sender) === box.getAttribute("data-typing-user")) hide();
  }

  var seen = typeof WeakSet === "function" ? new WeakSet() : null;
  document.addEventListener("htmx:sseOpen", function (evt) {
    var source = evt.detail && evt.detail.source;
    if (!source || (seen && seen.has(source))) return;
    if (seen) seen.add(source);
    source.addEventListener("typing", onTyping);
    source.addEventListener("message", onMessage);
  });
})();
