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
    if (document.querySelector("dialog.confirm[open]")) { return false; }  // a move is being asked
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

  // data-nav-toggle on the bar's Menu button (narrow screens): open or fold the menu it
  // controls; app.css shows the menu while aria-expanded is true. Escape folds it again.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-nav-toggle]");
    if (toggle) { menu(toggle, toggle.getAttribute("aria-expanded") !== "true"); }
  });
  document.addEventListener("keydown", function (event) {
    var toggle = document.querySelector("[data-nav-toggle][aria-expanded=true]");
    var open = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (event.key === "Escape" && open && open.contains(document.activeElement)) {
      menu(toggle, false);
      toggle.focus();
    }
  });

  function menu(toggle, open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  // data-confirm="QUESTION? What it means." on a form, or on an htmx button (the risk table's
  // rows): ask in a dialog first, the move's own words from the moves registry. Cancel has the
  // focus and Escape cancels. Without script the form posts as it is; the server decides.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (!question || event.defaultPrevented) { return; }  // htmx's own forms ask below
    if (form === confirmed) { confirmed = null; return; }
    event.preventDefault();
    var submitter = event.submitter;
    ask(question, submitter || form, function () {
      confirmed = form;
      if (submitter) { form.requestSubmit(submitter); } else { form.requestSubmit(); }
    });
  });
  var confirmed = null;

  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var question = elt.getAttribute && elt.getAttribute("data-confirm");
    if (!question) { return; }
    event.preventDefault();
    ask(question, elt, function () { event.detail.issueRequest(true); });
  });

  function ask(question, button, go) {
    var dialog = confirmDialog();
    var split = question.indexOf("? ");
    dialog.querySelector("h2").textContent = split < 0 ? question : question.slice(0, split + 1);
    dialog.querySelector("p").textContent = split < 0 ? "" : question.slice(split + 2);
    var yes = dialog.querySelector("[value=confirm]");
    yes.textContent = (button.textContent || "").trim() || "Confirm";
    yes.className = "btn " + (button.classList.contains("danger") ? "danger" : "primary");
    dialog.returnValue = "";
    dialog.addEventListener("close", function answered() {
      dialog.removeEventListener("close", answered);
      if (dialog.returnValue === "confirm") { go(); }
    });
    dialog.showModal();
    dialog.querySelector("[value=cancel]").focus();
  }

  function confirmDialog() {
    var dialog = document.getElementById("confirm-dialog");
    if (dialog) { return dialog; }
    dialog = document.createElement("dialog");
    dialog.id = "confirm-dialog";
    dialog.className = "confirm";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-question");
    dialog.setAttribute("aria-describedby", "confirm-dialog-meaning");
    var form = document.createElement("form");
    form.method = "dialog";
    var title = document.createElement("h2");
    title.id = "confirm-dialog-question";
    var meaning = document.createElement("p");
    meaning.id = "confirm-dialog-meaning";
    var buttons = document.createElement("div");
    buttons.className = "confirm-buttons";
    var cancel = document.createElement("button");
    cancel.className = "btn";
    cancel.value = "cancel";
    cancel.textContent = "Cancel";
    var yes = document.createElement("button");
    yes.value = "confirm";
    buttons.append(cancel, yes);
    form.append(title, meaning, buttons);
    dialog.append(form);
    document.body.append(dialog);
    return dialog;
  }
})();
