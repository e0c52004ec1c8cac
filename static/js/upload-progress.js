/* Upload progress for forms with a file field (templates/messages/_file_input.html): while htmx
   sends such a form, its <progress> shows how much has gone and the text says the percentage
   (announced in steps of 10 % so a screen reader is not flooded); both hide when the request ends.
   No inline code (CSP); safe to load twice. */
(function () {
  "use strict";
  if (window.pactlineUploadProgress) return;
  window.pactlineUploadProgress = true;

  function partsOf(elt) {
    var form = elt && elt.closest ? elt.closest("form") : null;
    var box = form ? form.querySelector("[data-upload-progress]") : null;
    if (!box) return null;
    var input = box.querySelector('input[type="file"]');
    return {
      input: input,
      wrap: box.querySelector(".upload-progress"),
      bar: box.querySelector(".upload-progress__bar"),
      text: box.querySelector(".upload-progress__text")
    };
  }

  function chosen(parts) {
    return parts.input && parts.input.files && parts.input.files.length > 0;
  }

  function show(parts, percent) {
    if (!parts.wrap || !parts.bar || !parts.text) return;
    parts.wrap.hidden = false;
    parts.bar.value = percent;
    parts.bar.textContent = percent + " %";
    var step = percent === 100 ? 100 : Math.floor(percent / 10) * 10;
    if (parts.text.getAttribute("data-step") !== String(step)) {
      parts.text.setAttribute("data-step", String(step));
      parts.text.textContent = percent === 100 ? "Files sent, saving…" : "Sending files… " + step + " %";
    }
  }

  function hide(parts) {
    if (!parts.wrap) return;
    parts.wrap.hidden = true;
    if (parts.bar) parts.bar.value = 0;
    if (parts.text) parts.text.removeAttribute("data-step");
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var parts = partsOf(evt.target);
    if (parts && chosen(parts)) show(parts, 0);
  });

  document.addEventListener("htmx:xhr:progress", function (evt) {
    var parts = partsOf(evt.target);
    var detail = evt.detail || {};
    if (!parts || !chosen(parts) || !detail.lengthComputable || !detail.total) return;
    show(parts, Math.min(100, Math.round((detail.loaded / detail.total) * 100)));
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var parts = partsOf(evt.target);
    if (parts) hide(parts);
  });
})();
