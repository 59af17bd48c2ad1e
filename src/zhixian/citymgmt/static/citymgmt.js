// 数字城管 pages: operations map and chart, and the inspector's retry-safe report form.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function shade(value, max) {
    if (!value) { return "#f4f6f8"; }
    var t = Math.min(1, value / (max || 1));
    var light = Math.round(88 - t * 50);
    return "hsl(8, 75%, " + light + "%)";
  }

  function baseMap(el) {
    var map = L.map(el, { attributionControl: false, zoomSnap: 0.25, preferCanvas: true });
    map.setView([30.84, 120.92], 11);
    var areasUrl = el.getAttribute("data-areas");
    if (areasUrl) {
      getJSON(areasUrl).then(function (fc) {
        var layer = L.geoJSON(fc, { style: { color: "#0b5cad", weight: 1.5, fill: false }, interactive: false }).addTo(map);
        if (!el.getAttribute("data-grids")) { map.fitBounds(layer.getBounds()); }
      });
    }
    return map;
  }

  function opsMap() {
    var el = document.getElementById("cm-map");
    if (!el || !window.L) { return; }
    var map = baseMap(el);
    var layer = null;
    var mode = "open";
    var data = null;
    function draw() {
      if (layer) { map.removeLayer(layer); }
      var max = 0;
      data.features.forEach(function (f) {
        var p = f.properties;
        p.rate = p.open ? p.overdue / p.open : 0;
        max = Math.max(max, mode === "open" ? p.open : p.rate);
      });
      layer = L.geoJSON(data, {
        style: function (f) {
          var v = mode === "open" ? f.properties.open : f.properties.rate;
          return { color: "#9aa5b1", weight: 0.3, fillColor: shade(v, max), fillOpacity: 0.85 };
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindTooltip(p.name + "：在办 " + p.open + "，超期 " + p.overdue);
          l.on("click", function () { window.location.href = p.href; });
        }
      }).addTo(map);
      if (!draw.fitted) { map.fitBounds(layer.getBounds()); draw.fitted = true; }
    }
    getJSON(el.getAttribute("data-grids")).then(function (fc) { data = fc; draw(); });
    var select = document.querySelector("[data-map-mode]");
    if (select) { select.addEventListener("change", function () { mode = select.value; if (data) { draw(); } }); }
  }

  function sourceChart() {
    var el = document.getElementById("cm-sources");
    if (!el || !window.echarts) { return; }
    var rows = JSON.parse(el.getAttribute("data-chart") || "[]");
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "item", renderMode: "richText" },  // drawn on the canvas: no inline styles (CSP)
      series: [{ type: "pie", radius: ["35%", "70%"], data: rows.map(function (r) { return { name: r.label, value: r.count, source: r.source }; }) }]
    });
    chart.on("click", function (p) { window.location.href = "/citymgmt/cases?source=" + encodeURIComponent(p.data.source); });
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function reportForm() {
    var form = document.getElementById("cm-report");
    if (!form) { return; }
    var msg = document.getElementById("cm-report-msg");
    var lon = document.getElementById("lon"), lat = document.getElementById("lat"), crs = document.getElementById("crs");
    var pickEl = document.getElementById("cm-pick");
    var marker = null, map = null;
    if (pickEl && window.L) {
      map = baseMap(pickEl);
      map.on("click", function (e) {
        lon.value = e.latlng.lng.toFixed(6); lat.value = e.latlng.lat.toFixed(6); crs.value = "WGS84";
        if (marker) { marker.setLatLng(e.latlng); } else { marker = L.circleMarker(e.latlng, { radius: 8, color: "#b42318" }).addTo(map); }
      });
    }
    var locate = form.querySelector("[data-locate]");
    var gps = document.getElementById("cm-gps-status");
    if (locate) {
      locate.addEventListener("click", function () {
        if (!navigator.geolocation) { gps.textContent = "此设备不支持定位，请在地图上点选"; return; }
        gps.textContent = "正在定位…";
        navigator.geolocation.getCurrentPosition(function (pos) {
          lon.value = pos.coords.longitude.toFixed(6); lat.value = pos.coords.latitude.toFixed(6); crs.value = "WGS84";
          gps.textContent = "已定位（精度约 " + Math.round(pos.coords.accuracy) + " 米）";
        }, function () { gps.textContent = "定位失败，请在地图上点选"; }, { enableHighAccuracy: true, timeout: 15000 });
      });
    }
    var self = form.querySelector("[data-self]");
    if (self) { self.addEventListener("change", function () { form.querySelector("[data-after]").hidden = !self.checked; }); }
    // the key lives until the report is accepted, so a retry after a dropped connection is the same report
    var key = sessionStorage.getItem("cm-report-key") || newKey();
    sessionStorage.setItem("cm-report-key", key);
    form.addEventListener("submit", function (evt) {
      evt.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var body = new FormData(form);
      ["photo", "photo_after"].forEach(function (n) { var f = body.get(n); if (f && !f.size) { body.delete(n); } });
      msg.className = "notice warn"; msg.textContent = "正在提交…";
      button.disabled = true;
      var attempt = 0;
      function send() {
        attempt += 1;
        fetch(form.getAttribute("data-endpoint"), {
          method: "POST", body: body, credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf, "Idempotency-Key": key, Accept: "application/json" }
        }).then(function (r) {
          return r.json().then(function (data) { return { status: r.status, data: data }; });
        }).then(function (res) {
          button.disabled = false;
          if (res.status === 201) {
            sessionStorage.removeItem("cm-report-key");
            key = newKey(); sessionStorage.setItem("cm-report-key", key);
            window.zhixian.clearErrors(form);
            msg.className = "notice ok";
            msg.innerHTML = "";
            var a = document.createElement("a");
            a.href = "/citymgmt/cases/" + res.data.id; a.textContent = "已上报，案件编号 " + res.data.number;
            msg.appendChild(a);
            form.reset();
          } else {
            window.zhixian.showErrors(form, msg, res.data, "未能上报");  // each message beside its field
          }
        }).catch(function () {
          if (attempt < 5) {
            msg.textContent = "网络不稳定，正在第 " + (attempt + 1) + " 次重试…";
            setTimeout(send, Math.min(15000, 1000 * Math.pow(2, attempt)));
          } else {
            button.disabled = false;
            msg.className = "notice err"; msg.textContent = "网络不可用，请稍后再点提交（不会重复上报）";
          }
        });
      }
      send();
    });
  }

  opsMap();
  sourceChart();
  reportForm();
})();
