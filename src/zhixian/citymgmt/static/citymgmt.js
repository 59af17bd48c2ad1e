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

  // --- shared map initialisation: baseMap(el[, options]) is used by every map (ops, report, case, config).
  // options (all optional): { basemap: false } to skip the background tiles, { zoom: [lat, lon, z] }.
  function baseMap(el, options) {
    options = options || {};
    var map = L.map(el, { attributionControl: false, zoomControl: false, zoomSnap: 0.25, preferCanvas: true });
    L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
    var view = options.zoom || [30.84, 120.92, 11];
    map.setView([view[0], view[1]], view[2]);
    if (options.basemap !== false) { addBasemap(map); }
    var areasUrl = el.getAttribute("data-areas");
    if (areasUrl) {
      getJSON(areasUrl).then(function (fc) {
        var layer = L.geoJSON(fc, { style: { color: "#0b5cad", weight: 1.5, fill: false }, interactive: false }).addTo(map);
        if (!el.getAttribute("data-grids") && !options.zoom && layer.getLayers().length) { map.fitBounds(layer.getBounds()); }
      });
    }
    return map;
  }

  // --- basemap: tiles come from the platform (which holds any service key); a lapsed tile ticket is renewed once
  var basemapInfo = null;
  function basemapView(fresh) {
    if (!basemapInfo || fresh) { basemapInfo = getJSON("/api/v1/citymgmt/map/basemap").catch(function () { return { layers: [] }; }); }
    return basemapInfo;
  }

  function addBasemap(map) {
    return basemapView(false).then(function (info) {
      if (!info.layers || !info.layers.length) { return info; }
      var renewing = null;
      info.layers.forEach(function (spec, i) {
        var layer = L.tileLayer(spec.url, {
          minZoom: spec.min_zoom, maxZoom: spec.max_zoom, maxNativeZoom: spec.max_native_zoom || spec.max_zoom,
          zIndex: i + 1, className: "cm-tiles-" + spec.name, crossOrigin: false
        });
        layer.on("tileerror", function () {
          if (renewing) { return; }
          renewing = basemapView(true).then(function () { setTimeout(function () { renewing = null; }, 60000); layer.redraw(); });
        });
        layer.addTo(map);
        layer.bringToBack();
      });
      map.setMaxZoom(Math.max.apply(null, info.layers.map(function (l) { return l.max_zoom; })));
      if (info.attribution) {
        L.control.attribution({ prefix: false }).addAttribution(info.attribution).addTo(map);
      }
      if (info.gazetteer) { gazetteerLayer(map); }
      return info;
    });
  }

  // 地名地址: standard addresses of the visible extent, once the map is close enough to read them
  function gazetteerLayer(map) {
    var layer = L.layerGroup().addTo(map);
    var seq = 0;
    function load() {
      layer.clearLayers();
      if (map.getZoom() < 16) { return; }
      var b = map.getBounds(), mine = ++seq;
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",");
      getJSON("/api/v1/citymgmt/map/addresses?bbox=" + bbox).then(function (data) {
        if (mine !== seq) { return; }
        data.items.forEach(function (a) {
          L.circleMarker([a.lat, a.lon], { radius: 3, color: "#5b3f00", weight: 1, fillColor: "#f5c04a", fillOpacity: 1 })
            .bindTooltip(a.text, { direction: "top" }).addTo(layer);
        });
      }).catch(function () {});
    }
    map.on("moveend", load);
    load();
    return layer;
  }

  function opsMap() {
    var el = document.getElementById("cm-map");
    if (!el || !window.L) { return; }
    var map = baseMap(el);
    el.zhixianMap = map;  // for scripts (and browser tests) that move the view
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
          // over a basemap, empty grids stay clear so roads and names show through
          var clear = el.classList.contains("cm-has-basemap");
          return { color: clear ? "#6b7a89" : "#9aa5b1", weight: clear ? 0.5 : 0.3, fillColor: shade(v, max),
            fillOpacity: clear ? (v ? 0.55 : 0.04) : 0.85 };
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindTooltip(p.name + "：在办 " + p.open + "，超期 " + p.overdue);
          l.on("click", function () { window.location.href = p.href; });
        }
      }).addTo(map);
      if (!draw.fitted) { map.fitBounds(layer.getBounds()); draw.fitted = true; }
    }
    getJSON(el.getAttribute("data-grids")).then(function (fc) { data = fc; return basemapView(false); }).then(function (info) {
      if (info.layers && info.layers.length) { el.classList.add("cm-has-basemap"); }
      draw();
    });
    var select = document.querySelector("[data-map-mode]");
    if (select) { select.addEventListener("change", function () { mode = select.value; if (data) { draw(); } }); }
    caseLayers(map, el);
  }

  // --- operations view: case heat and case points for a period, with a legend whose total opens the list
  var LIGHTS = { red: "#b42318", yellow: "#d99a00", green: "#1e7b3a", none: "#5c6f82" };
  var HEAT_GRADIENT = { 0.2: "#3b8bd9", 0.45: "#39b36b", 0.65: "#f2c12e", 0.85: "#f07b1d", 1.0: "#c8102e" };

  function caseLayers(map, el) {
    var heatUrl = el.getAttribute("data-heat"), pointsUrl = el.getAttribute("data-points");
    if (!heatUrl || !pointsUrl) { return; }
    var fromEl = document.querySelector("[data-map-from]"), toEl = document.querySelector("[data-map-to]");
    var statusEl = document.querySelector("[data-map-status]");
    var heatBox = document.querySelector("[data-map-heat]"), pointsBox = document.querySelector("[data-map-points]");
    var legend = document.getElementById("cm-map-legend");
    var heat = null, points = L.layerGroup(), seq = 0, today = null;
    var pane = map.createPane("cm-cases");
    pane.style.zIndex = 450;

    function query() {
      var q = [];
      if (fromEl && fromEl.value) { q.push("from=" + fromEl.value); }
      if (toEl && toEl.value) { q.push("to=" + toEl.value); }
      if (statusEl && statusEl.value) { q.push("status=" + statusEl.value); }
      return q.join("&");
    }

    function showLegend(data, message) {
      if (!legend) { return; }
      legend.innerHTML = "";
      if (message) { legend.textContent = message; return; }
      var bar = document.createElement("span");
      bar.className = "cm-heat-bar";
      bar.setAttribute("aria-hidden", "true");
      var link = document.createElement("a");
      link.href = data.list_url;
      link.textContent = "共 " + data.total + " 件";
      link.setAttribute("data-map-total", String(data.total));
      legend.appendChild(document.createTextNode("案件热力（" + data.from + " 至 " + data.to + "，" + data.status_label + "）：少 "));
      legend.appendChild(bar);
      legend.appendChild(document.createTextNode(" 多（约 " + data.bin_m + " 米一格，最多 " + data.max + " 件）；"));
      legend.appendChild(link);
      if (data.cells_truncated) { legend.appendChild(document.createTextNode("；格子过多，只显示最密集的部分")); }
    }

    function loadHeat() {
      var mine = ++seq;
      showLegend(null, "正在加载案件…");
      getJSON(heatUrl + "?" + query()).then(function (data) {
        if (mine !== seq) { return; }
        if (!today) { today = data.to; }
        if (fromEl && !fromEl.value) { fromEl.value = data.from; }
        if (toEl && !toEl.value) { toEl.value = data.to; }
        if (heat) { map.removeLayer(heat); heat = null; }
        if (window.L.heatLayer) {
          var top = Math.max(3, Math.ceil(data.max * 0.6));
          heat = L.heatLayer(data.cells.map(function (c) { return [c[0], c[1], Math.min(c[2], top)]; }),
            { pane: "cm-cases", radius: 20, blur: 16, max: top, maxZoom: 12, minOpacity: 0.35, gradient: HEAT_GRADIENT });
          if (!heatBox || heatBox.checked) { heat.addTo(map); }
        }
        showLegend(data);
        loadPoints();
      }).catch(function (err) {
        if (mine === seq) { showLegend(null, "案件数据加载失败（" + err.message + "），请检查时间范围"); }
      });
    }

    function loadPoints() {
      points.clearLayers();
      var hint = document.getElementById("cm-map-points-hint");
      if (pointsBox && !pointsBox.checked) { if (hint) { hint.textContent = ""; } return; }
      if (map.getZoom() < 13) { if (hint) { hint.textContent = "放大到街道级别（13 级以上）显示案件点位"; } return; }
      var b = map.getBounds(), mine = seq;
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",");
      getJSON(pointsUrl + "?bbox=" + bbox + "&" + query()).then(function (data) {
        if (mine !== seq) { return; }
        data.items.forEach(function (c) {
          var color = c.status === "closed" ? "#5c6f82" : LIGHTS[c.light] || "#0b5cad";
          L.circleMarker([c.lat, c.lon], { pane: "cm-cases", radius: 6, color: "#fff", weight: 1.5, fillColor: color, fillOpacity: 0.95 })
            .bindTooltip(c.number + " " + c.class_name + "（" + c.status_label + "，" + c.reported_at + "）")
            .on("click", function () { window.location.href = c.href; })
            .addTo(points);
        });
        if (hint) { hint.textContent = "本视野 " + data.total + " 件" + (data.truncated ? "，显示最新 " + data.items.length + " 件" : ""); }
      }).catch(function () { if (hint) { hint.textContent = "案件点位加载失败"; } });
    }

    points.addTo(map);
    map.on("moveend", loadPoints);
    [fromEl, toEl, statusEl].forEach(function (input) { if (input) { input.addEventListener("change", loadHeat); } });
    if (heatBox) { heatBox.addEventListener("change", function () { if (heat) { if (heatBox.checked) { heat.addTo(map); } else { map.removeLayer(heat); } } }); }
    if (pointsBox) { pointsBox.addEventListener("change", loadPoints); }
    Array.prototype.forEach.call(document.querySelectorAll("[data-map-days]"), function (button) {
      button.addEventListener("click", function () {
        var end = today || (toEl && toEl.value);
        if (!end || !fromEl || !toEl) { return; }
        var d = new Date(end + "T00:00:00Z");
        var days = button.getAttribute("data-map-days");
        if (days === "month") { d.setUTCDate(1); } else { d.setUTCDate(d.getUTCDate() - Number(days) + 1); }
        toEl.value = end; fromEl.value = d.toISOString().slice(0, 10);
        loadHeat();
      });
    });
    loadHeat();
  }

  function sourceChart() {
    var el = document.getElementById("cm-sources");
    if (!el || !window.echarts) { return; }
    var rows = JSON.parse(el.getAttribute("data-chart") || "[]");
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "item" },
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
            msg.className = "notice ok";
            msg.innerHTML = "";
            var a = document.createElement("a");
            a.href = "/citymgmt/cases/" + res.data.id; a.textContent = "已上报，案件编号 " + res.data.number;
            msg.appendChild(a);
            form.reset();
          } else {
            msg.className = "notice err";
            var errs = (res.data.errors || []).map(function (e) { return e.message; });
            msg.textContent = (res.data.detail || "提交失败") + (errs.length ? "：" + errs.join("；") : "");
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

  // --- 应用维护 → 地图底图: a preset fills the address fields; only the chosen source's fields are shown
  function basemapForm() {
    var form = document.getElementById("cm-basemap-form");
    var preview = document.getElementById("cm-basemap-preview");
    if (preview && window.L) { baseMap(preview); }
    if (!form) { return; }
    function showKind() {
      var checked = form.querySelector("input[name=kind]:checked");
      var kind = checked ? checked.value : "none";
      Array.prototype.forEach.call(form.querySelectorAll("fieldset[data-kind]"), function (fs) {
        fs.hidden = fs.getAttribute("data-kind") !== kind;
      });
    }
    Array.prototype.forEach.call(form.querySelectorAll("input[name=kind]"), function (r) { r.addEventListener("change", showKind); });
    showKind();
    var preset = document.getElementById("f-preset");
    if (preset) {
      var presets = JSON.parse(preset.getAttribute("data-presets") || "{}");
      preset.addEventListener("change", function () {
        var p = presets[preset.value];
        if (!p) { return; }
        ["url", "labels_url", "subdomains", "attribution"].forEach(function (name) {
          var input = document.getElementById("f-" + name);
          if (input) { input.value = p[name]; }
        });
      });
    }
  }

  // --- 应用维护 → 网格与边界: the planned cover on a map (new squares, problem communities, overlaps)
  var PREVIEW_STYLES = {
    community: function (p) { return { color: p.problem ? "#b42318" : "#0b5cad", weight: 2, fillColor: p.problem ? "#b42318" : "#0b5cad", fillOpacity: p.problem ? 0.18 : 0.04 }; },
    cell: function () { return { color: "#0b5cad", weight: 0.8, fillColor: "#4d94db", fillOpacity: 0.25 }; },
    existing: function () { return { color: "#b42318", weight: 1, dashArray: "4 3", fillColor: "#f04438", fillOpacity: 0.35 }; },
    outside: function () { return { color: "#5c6f82", weight: 1, fillColor: "#9aa5b1", fillOpacity: 0.35 }; }
  };

  function coverPreview() {
    var el = document.getElementById("cm-cover-map");
    if (!el || !window.L) { return; }
    var fc = JSON.parse(el.getAttribute("data-preview") || '{"features": []}');
    var map = baseMap(el);
    var layer = L.geoJSON(fc, {
      style: function (f) { return (PREVIEW_STYLES[f.properties.role] || PREVIEW_STYLES.cell)(f.properties); },
      onEachFeature: function (f, l) {
        var p = f.properties;
        var text = p.role === "cell" ? "新网格 " + p.code : p.role === "existing" ? "重叠的已有网格" : p.role === "outside" ? "不属于任何社区" : (p.name || "") + " " + (p.code || "");
        l.bindTooltip(text);
      }
    }).addTo(map);
    if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), { padding: [12, 12] }); }
  }

  window.ZhixianMap = { baseMap: baseMap, addBasemap: addBasemap };

  opsMap();
  sourceChart();
  reportForm();
  basemapForm();
  coverPreview();
})();
