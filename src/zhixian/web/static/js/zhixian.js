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
