/* One conversation's page: open at the newest message, keep the reader's place when earlier
   messages load above and when new ones arrive, and say new messages to screen readers.
   Loaded with `defer` after htmx; without it the page works by plain links and form posts. */
(function () {
  "use strict";

  var page = document.querySelector(".conversation");
  if (!page) return;

  function scroller() { return document.scrollingElement || document.documentElement; }
  function nearBottom() {
    var s = scroller();
    return s.scrollHeight - (s.scrollTop + window.innerHeight) < 120;
  }
  function toBottom() { var s = scroller(); s.scrollTop = s.scrollHeight; }

  // Open at the newest message (unless the address points at one, or this is an earlier page).
  // This runs before htmx starts, so "Show earlier messages" is out of view and does not load at once.
  if (!window.location.hash && !/[?&]before=/.test(window.location.search)) toBottom();

  var earlier = null;   // the reader's place while an earlier page goes in above
  var follow = false;   // the reader was at the newest message when the window was re-fetched
  var known = {};

  function remember() {
    known = {};
    var items = document.querySelectorAll("#message-window .message");
    for (var i = 0; i < items.length; i++) known[items[i].id] = true;
  }
  remember();

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target) return;
    if (target.classList && target.classList.contains("message-earlier")) {
      var s = scroller();
      earlier = { height: s.scrollHeight, top: s.scrollTop };
    } else if (target.id === "message-window") {
      follow = nearBottom();
    }
  });

  document.addEventListener("htmx:load", function (evt) {
    var elt = evt.target;
    if (earlier && elt.classList && (elt.classList.contains("message-page") || elt.classList.contains("message-earlier"))) {
      var s = scroller();
      s.scrollTop = earlier.top + (s.scrollHeight - earlier.height);
      earlier = null;
    }
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    if (!evt.detail.target || evt.detail.target.id !== "message-window") return;
    var items = document.querySelectorAll("#message-window .message");
    var arrived = [];
    for (var i = 0; i < items.length; i++) {
      if (!known[items[i].id] && !items[i].classList.contains("message--mine")) arrived.push(items[i]);
    }
    remember();
    if (follow) toBottom();
    var status = document.getElementById("conversation-announce");
    if (status && arrived.length) {
      var sender = arrived[arrived.length - 1].querySelector(".message__sender");
      status.textContent = arrived.length === 1
        ? "New message from " + (sender ? sender.textContent : "the other side")
        : arrived.length + " new messages";
    }
  });
})();
