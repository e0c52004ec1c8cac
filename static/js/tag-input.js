/* Tag input for comma-separated fields (profile skills): the field's <datalist> suggests the
   next tag after what is already typed, instead of only whole values. Without this script
   the field still works as plain text with whole-value suggestions. */
(function () {
  "use strict";

  function enhance(input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) return;
    var suggestions = Array.prototype.map.call(list.options, function (option) { return option.value; });

    function refresh() {
      var value = input.value;
      var cut = value.lastIndexOf(",");
      var prefix = cut === -1 ? "" : value.slice(0, cut + 1).replace(/\s*$/, " ");
      var chosen = value.slice(0, cut + 1).split(",").map(function (tag) { return tag.trim().toLowerCase(); });
      list.textContent = "";
      suggestions.forEach(function (tag) {
        if (chosen.indexOf(tag.toLowerCase()) !== -1) return;
        var option = document.createElement("option");
        option.value = prefix + tag;
        list.appendChild(option);
      });
    }

    input.addEventListener("input", refresh);
    refresh();
  }

  document.querySelectorAll("input[data-tag-input][list]").forEach(enhance);
})();
