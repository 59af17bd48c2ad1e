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

  // [data-copy="id"]: copies the text of element #id (the TOTP secret and address); works on plain http
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.textContent.trim();
    var done = function () {
      var label = button.textContent;
      button.textContent = "已复制";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try { if (document.execCommand("copy")) { done(); } } catch (e) { /* the text stays selected */ }
    }
  });

  // <select data-filter>: a search box above a long list (300 resources) that narrows its options
  function filterable(select) {
    var box = document.createElement("input");
    box.type = "search";
    box.placeholder = "输入名称或代码筛选";
    box.setAttribute("aria-label", "输入名称或代码缩小下方列表");
    box.className = "select-filter";
    var count = document.createElement("span");
    count.className = "hint";
    count.setAttribute("data-filter-count", "");
    count.setAttribute("aria-live", "polite");
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(count, select.nextSibling);
    var show = function () {
      var words = box.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0, first = null;
      Array.prototype.forEach.call(select.options, function (opt) {
        var text = (opt.textContent + " " + opt.value).toLowerCase();
        var hit = !opt.value || words.every(function (w) { return text.indexOf(w) >= 0; });
        opt.hidden = !hit;
        opt.disabled = !hit;
        if (hit && opt.value) { shown += 1; if (!first) { first = opt; } }
      });
      if (select.selectedOptions[0] && select.selectedOptions[0].hidden && first) { first.selected = true; }
      count.textContent = words.length ? "匹配 " + shown + " 项" : "共 " + shown + " 项";
    };
    box.addEventListener("input", show);
    show();
  }
  Array.prototype.forEach.call(document.querySelectorAll("select[data-filter]"), filterable);

  // the schedule picker (web/templates/_schedule.html): 每天/每周/每小时/每隔 N 分钟 write the cron field
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function schedulePicker(box) {
    var expr = box.querySelector("[data-expr]");
    var mode = box.querySelector("[data-mode]");
    var time = box.querySelector("[data-time]");
    var weekday = box.querySelector("[data-weekday]");
    var minute = box.querySelector("[data-minute]");
    var every = box.querySelector("[data-every]");
    var preview = box.querySelector("[data-preview]");
    var names = ["周日", "周一", "周二", "周三", "周四", "周五", "周六"];
    box.querySelectorAll("[hidden][data-picker]").forEach(function (el) { el.hidden = false; });
    var sync = function (initial) {
      var m = mode.value, hm = (time.value || "02:00").split(":"), h = +hm[0], mi = +hm[1];
      box.querySelectorAll("[data-for]").forEach(function (el) {
        el.hidden = el.getAttribute("data-for").split(" ").indexOf(m) < 0;
      });
      var value = expr.value, words = preview.textContent;
      if (m === "none") { value = ""; words = "按需运行"; }
      else if (m === "daily") { value = mi + " " + h + " * * *"; words = "每天 " + two(h) + ":" + two(mi); }
      else if (m === "weekly") { value = mi + " " + h + " * * " + weekday.value; words = "每" + names[+weekday.value] + " " + two(h) + ":" + two(mi); }
      else if (m === "hourly") { value = (+minute.value || 0) + " * * * *"; words = "每小时第 " + (+minute.value || 0) + " 分"; }
      else if (m === "every") { value = "*/" + Math.max(1, +every.value || 15) + " * * * *"; words = "每 " + Math.max(1, +every.value || 15) + " 分钟"; }
      else if (initial !== true) { words = "自定义（分 时 日 月 星期），保存后显示其含义"; }
      expr.value = value;
      preview.textContent = words;
    };
    [mode, time, weekday, minute, every].forEach(function (el) { if (el) { el.addEventListener("change", sync); el.addEventListener("input", sync); } });
    // typing an expression by hand switches the picker to 自定义
    expr.addEventListener("input", function () { mode.value = expr.value.trim() ? "custom" : "none"; sync(); });
    sync(true);
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-schedule-picker]"), schedulePicker);

  // Leaflet in Chinese, for every map on every page: titles of the zoom buttons and no English prefix.
  // Pages load leaflet.js after this file, so the texts are set the moment Leaflet defines window.L.
  function localiseLeaflet(L) {
    if (!L || !L.Control || L.__zhixian) { return; }
    L.__zhixian = true;
    if (L.Control.Zoom) { L.Control.Zoom.prototype.options.zoomInTitle = "放大"; L.Control.Zoom.prototype.options.zoomOutTitle = "缩小"; }
    if (L.Control.Attribution) { L.Control.Attribution.prototype.options.prefix = false; }
    if (L.Marker) { L.Marker.prototype.options.alt = "位置标记"; }
  }
  if (window.L) {
    localiseLeaflet(window.L);
  } else {
    var leaflet;
    Object.defineProperty(window, "L", {
      configurable: true,
      get: function () { return leaflet; },
      set: function (value) { leaflet = value; localiseLeaflet(value); }
    });
  }
})();
