// Releasebot's few behaviours, from a file: the Content-Security-Policy runs no inline script,
// no on* attribute and no eval, so htmx's hx-on and trigger filters are not used (base.html
// turns htmx's eval off). Each behaviour is switched on by a data- attribute in a template.
(function () {
  "use strict";

  // data-reset-on-success on an htmx form: empty it once its request succeeded (the chat).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form.matches && form.matches("form[data-reset-on-success]")) {
      form.reset();
    }
  });

  // data-poll-when-idle on an element that polls itself (the risk table): skip a refresh while
  // someone is typing a reason, has the focus in a row's form, or has ticked picks to approve,
  // since a refresh would throw that away. Requests of the buttons inside it go through.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var table = event.detail.elt;
    if (table.matches && table.matches("[data-poll-when-idle]") && !idle(table)) {
      event.preventDefault();
    }
  });

  function idle(table) {
    var active = document.activeElement;
    if (active && table.contains(active) && active.matches("input, select, textarea")) {
      return false;
    }
    var fields = table.querySelectorAll("input[name=reason], input[name=pick]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].type === "checkbox" ? fields[i].checked : fields[i].value) { return false; }
    }
    return true;
  }

  // data-select-all="SELECTOR" on a checkbox: tick or untick every box the selector finds.
  document.addEventListener("change", function (event) {
    var box = event.target;
    var selector = box.getAttribute && box.getAttribute("data-select-all");
    if (!selector) { return; }
    document.querySelectorAll(selector).forEach(function (other) { other.checked = box.checked; });
  });

  // data-back on a link: the browser's Back (an inline javascript: link is refused by the CSP).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-back]");
    if (!link || window.history.length < 2) { return; }
    event.preventDefault();
    window.history.back();
  });
})();
