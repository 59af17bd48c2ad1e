// Page behaviour without inline scripts (the CSP forbids them).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  // htmx writes send the session's CSRF token as a header
  document.addEventListener("htmx:configRequest", function (evt) {
    if (csrf) { evt.detail.headers["X-CSRF-Token"] = csrf; }
  });
  document.addEventListener("click", function (evt) {
    var toggle = evt.target.closest("[data-toggle-nav]");
    if (toggle) {
      var nav = document.getElementById("nav");
      if (nav) {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      }
    }
  });
  document.addEventListener("submit", function (evt) {
    var msg = evt.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { evt.preventDefault(); }
  });
  // a form the server refused: bring its summary into view and to the screen reader first
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".form-summary");
    if (summary) { summary.focus(); }
    Array.prototype.forEach.call(document.querySelectorAll("form [aria-invalid]"), function (c) { c._refused = valueOf(c); });
  });

  // Forms sent with fetch (the phone report) show an RFC 9457 answer the way _forms.html shows a refused
  // page: each message beside its field (aria-describedby, aria-invalid), a summary naming each field by
  // its label, and a field's message goes as soon as the field is changed (typed, picked on the map, GPS).
  function labelOf(form, control) {
    var label = control.id ? form.querySelector('label[for="' + control.id + '"]') : null;
    var legend = control.closest("fieldset") ? control.closest("fieldset").querySelector("legend") : null;
    return ((label || legend || {}).textContent || control.name).replace(/[（(].*$/, "").trim();
  }

  function valueOf(control) {
    if (control.type === "file") { return control.files && control.files.length ? control.files[0].name : ""; }
    if (control.type === "checkbox" || control.type === "radio") { return control.checked ? control.value : ""; }
    return control.value;
  }

  function clearField(form, control) {
    var box = control.closest(".field") || control.parentElement;
    var old = document.getElementById(control.id + "-error");
    if (old) { old.remove(); }
    control.removeAttribute("aria-invalid");
    var described = (control.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== control.id + "-error";
    });
    if (described.length) { control.setAttribute("aria-describedby", described.join(" ")); }
    else { control.removeAttribute("aria-describedby"); }
    if (box) { box.classList.remove("invalid"); }
    var item = form._summary ? form._summary.querySelector('[data-error-for="' + control.name + '"]') : null;
    if (item) {
      var list = item.parentElement;
      item.remove();
      // every refused field changed: the summary goes too (the box stays for the next answer)
      if (list && !list.children.length && form._summary) { form._summary.className = ""; form._summary.textContent = ""; }
    }
  }

  function clearErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (c) { clearField(form, c); });
    if (form._watch) { clearInterval(form._watch); form._watch = null; }
  }

  function showErrors(form, summaryBox, problem, title) {
    clearErrors(form);
    form._summary = summaryBox;
    var placed = [], other = [];
    (problem.errors || []).forEach(function (e) {
      var control = e.field ? form.elements[e.field] : null;
      if (control && control.length && !control.tagName) { control = control[0]; }  // radios: the first
      if (!control || control.type === "hidden") { other.push(e.message); return; }
      if (document.getElementById(control.id + "-error")) {
        document.getElementById(control.id + "-error").textContent += "；" + e.message;
        return;
      }
      var note = document.createElement("div");
      note.className = "field-error"; note.id = control.id + "-error"; note.textContent = e.message;
      var box = control.closest(".field") || control.parentElement;
      box.appendChild(note);
      if (box.classList) { box.classList.add("invalid"); }
      control.setAttribute("aria-invalid", "true");
      var described = control.getAttribute("aria-describedby");
      control.setAttribute("aria-describedby", (described ? described + " " : "") + note.id);
      control._refused = valueOf(control);
      placed.push({ control: control, label: labelOf(form, control), message: e.message });
    });
    summaryBox.className = "notice err form-summary";
    summaryBox.textContent = "";
    var head = document.createElement("p");
    head.className = "form-summary-title";
    head.textContent = placed.length ? title + "，请修改标出的 " + placed.length + " 项" : (problem.detail || title);
    summaryBox.appendChild(head);
    var list = document.createElement("ul");
    placed.forEach(function (p) {
      var li = document.createElement("li"), a = document.createElement("a");
      li.setAttribute("data-error-for", p.control.name);
      a.href = "#" + p.control.id; a.textContent = p.label + "：" + p.message;
      li.appendChild(a); list.appendChild(li);
    });
    other.forEach(function (m) { var li = document.createElement("li"); li.textContent = m; list.appendChild(li); });
    if (list.children.length) { summaryBox.appendChild(list); }
    if (placed.length) {
      placed[0].control.focus();
      // values set by a script (a tap on the map, GPS) fire no event: look while messages are shown
      form._watch = setInterval(function () {
        var left = form.querySelectorAll("[aria-invalid]");
        Array.prototype.forEach.call(left, function (c) { if (valueOf(c) !== c._refused) { clearField(form, c); } });
        if (!left.length) { clearInterval(form._watch); form._watch = null; }
      }, 400);
    }
  }

  document.addEventListener("input", fieldChanged);
  document.addEventListener("change", fieldChanged);
  function fieldChanged(evt) {
    var control = evt.target;
    if (control.form && control.getAttribute && control.getAttribute("aria-invalid") && control._refused !== undefined
        && valueOf(control) !== control._refused) {
      clearField(control.form, control);
    }
  }

  window.zhixian = { showErrors: showErrors, clearErrors: clearErrors, csrf: csrf };
})();
