// 城市感知 pages: device map, device charts, location picker (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  var COLOURS = { normal: "#1f8a3b", alarm: "#c62828", offline: "#6b7280", never: "#cbd2d9", inactive: "#e4e7eb" };

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function baseMap(el) {
    var map = L.map(el, { attributionControl: false, zoomSnap: 0.25, preferCanvas: true });
    map.setView([30.84, 120.92], 11);
    var areas = el.getAttribute("data-areas");
    if (areas) {
      getJSON(areas).then(function (fc) {
        var layer = L.geoJSON(fc, { style: { color: "#0b5cad", weight: 1.2, fill: false }, interactive: false }).addTo(map);
        if (!el.getAttribute("data-devices")) { map.fitBounds(layer.getBounds(), { animate: false }); }
      }).catch(function () {});
    }
    return map;
  }

  function deviceMap() {
    var el = document.getElementById("ps-map");
    if (!el || !window.L) { return; }
    var map = baseMap(el);
    getJSON(el.getAttribute("data-devices")).then(function (fc) {
      var layer = L.geoJSON(fc, {
        pointToLayer: function (f, latlng) {
          var p = f.properties;
          return L.circleMarker(latlng, { radius: p.state === "alarm" ? 9 : 6, color: "#fff", weight: 1.5, fillColor: COLOURS[p.state] || "#9aa5b1", fillOpacity: 0.95 });
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindTooltip(p.name + "（" + p.code + "）" + p.profile_name + "：" + p.state_label + (p.alarms ? "，" + p.alarms + " 条告警" : ""));
          l.on("click", function () { window.location.href = p.alarms ? p.alarms_href : p.href; });
        }
      }).addTo(map);
      el.setAttribute("data-count", String(fc.features.length));
      if (fc.features.length) { map.fitBounds(layer.getBounds().pad(0.1), { animate: false }); }
    });
  }

  function pick() {
    var el = document.getElementById("ps-pick");
    if (!el || !window.L) { return; }
    var map = baseMap(el);
    var lon = document.getElementById(el.dataset.lon), lat = document.getElementById(el.dataset.lat);
    var marker = null;
    map.on("click", function (e) {
      lon.value = e.latlng.lng.toFixed(6); lat.value = e.latlng.lat.toFixed(6);
      if (marker) { marker.setLatLng(e.latlng); } else { marker = L.circleMarker(e.latlng, { radius: 8, color: "#b42318" }).addTo(map); }
    });
  }

  var RES = { raw: "原始读数", "5m": "5 分钟汇总（平均/最小/最大）", "1h": "小时汇总（平均/最小/最大）" };

  function chart() {
    var el = document.getElementById("ps-chart");
    if (!el || !window.echarts) { return; }
    var c = echarts.init(el);
    var keySel = document.getElementById("ps-key"), rangeSel = document.getElementById("ps-range");
    var note = document.getElementById("ps-resolution");
    // ranges end at the platform's "now", not this computer's (a duty room PC's clock may be off)
    var skew = (parseInt(el.getAttribute("data-now"), 10) || Date.now()) - Date.now();
    function load() {
      var hours = parseInt(rangeSel.value, 10);
      var end = new Date(Date.now() + skew), start = new Date(end.getTime() - hours * 3600 * 1000);
      var url = el.getAttribute("data-series") + "?key=" + encodeURIComponent(keySel.value) +
        "&start=" + encodeURIComponent(start.toISOString()) + "&end=" + encodeURIComponent(end.toISOString());
      var t0 = performance.now();
      getJSON(url).then(function (s) {
        var ms = Math.round(performance.now() - t0);
        note.textContent = (RES[s.resolution] || s.resolution) + "，" + s.points.length + " 个点，" + ms + " 毫秒";
        el.setAttribute("data-points", String(s.points.length));
        var avg = s.points.map(function (p) { return [p[0], p[1]]; });
        var thin = { width: 1, type: "dashed", color: "#8fb8e0" };
        var band = s.resolution === "raw" ? [] : [
          { name: "最小", type: "line", data: s.points.map(function (p) { return [p[0], p[2]]; }), lineStyle: thin, showSymbol: false },
          { name: "最大", type: "line", data: s.points.map(function (p) { return [p[0], p[3]]; }), lineStyle: thin, showSymbol: false }
        ];
        c.setOption({
          tooltip: { trigger: "axis", renderMode: "richText" },  // on the canvas: no inline styles (CSP)
          grid: { left: 56, right: 24, top: 30, bottom: 56 },
          xAxis: { type: "time" },
          yAxis: { type: "value", name: s.unit, scale: true },
          dataZoom: [{ type: "inside" }, { type: "slider" }],
          legend: { top: 0, right: 10 },
          series: band.concat([{ name: s.resolution === "raw" ? s.name : s.name + "（平均）", type: "line", data: avg, showSymbol: false, lineStyle: { width: 1.5, color: "#0b5cad" } }])
        }, true);
      }).catch(function () { note.textContent = "曲线加载失败"; });
    }
    keySel.addEventListener("change", load);
    rangeSel.addEventListener("change", load);
    window.addEventListener("resize", function () { c.resize(); });
    load();
    setInterval(function () { if (parseInt(rangeSel.value, 10) <= 24) { load(); } }, 30000);
  }

  deviceMap();
  pick();
  chart();
})();
