// 数字城管 pages: operations map and chart, the inspector's retry-safe report form with its position
// marker and class picker, the case page's small map and photo viewer.
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
        if (!el.getAttribute("data-grids") && !options.zoom && layer.getLayers().length) { map.fitBounds(layer.getBounds(), { animate: false }); }
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
        // a lapsed ticket (401) is renewed and the layer added again; a tile the source lacks (404) is left alone.
        // Not layer.redraw(): at a fractional zoom (zoomSnap 0.25) Leaflet 1.9 then asks for tiles at z=10.25.
        layer.on("tileerror", function (e) {
          if (renewing) { return; }
          renewing = fetch(e.tile.src, { credentials: "same-origin" }).then(function (r) {
            if (r.status !== 401) { return null; }
            return basemapView(true).then(function () { map.removeLayer(layer); layer.addTo(map); layer.bringToBack(); });
          }).catch(function () { return null; }).then(function () { setTimeout(function () { renewing = null; }, 60000); });
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
      if (!draw.fitted) { map.fitBounds(layer.getBounds(), { animate: false }); draw.fitted = true; }
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
      tooltip: { trigger: "item", renderMode: "richText" },  // drawn on the canvas: no inline styles (CSP)
      series: [{ type: "pie", radius: ["35%", "70%"], data: rows.map(function (r) { return { name: r.label, value: r.count, href: r.href }; }) }]
    });
    // each slice opens its list for the same period: the link comes with the figure, never rebuilt here
    chart.on("click", function (p) { if (p.data && p.data.href) { window.location.href = p.data.href; } });
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // --- phone report: the position as a marker that follows GPS, map clicks and typed coordinates

  function pinIcon() {
    return L.divIcon({ className: "cm-pin", html: "<span></span>", iconSize: [22, 22], iconAnchor: [11, 22] });
  }

  function placeText(data) {
    if (!data.inside) { return data.message || "该位置不在本县管理范围内"; }
    var parts = [data.community_name, data.street_name].filter(Boolean).join(" · ");
    var near = data.nearest ? "；最近地名：" + data.nearest.text + "（约 " + Math.round(data.nearest.distance_m) + " 米）" : "";
    return "位于 " + (parts || "本县") + near;
  }

  function positionPicker(form) {
    var lon = document.getElementById("lon"), lat = document.getElementById("lat"), crs = document.getElementById("crs");
    var pickEl = document.getElementById("cm-pick");
    var where = document.getElementById("cm-where");
    var placesUrl = form.getAttribute("data-places");
    var map = null, marker = null, accuracy = null, lookup = null, follow = false, around = null;
    if (pickEl && window.L) { map = baseMap(pickEl); }

    function describe(lng, lt) {
      if (!where || !placesUrl) { return; }
      clearTimeout(lookup);
      lookup = setTimeout(function () {
        where.textContent = "正在确认位置…";
        getJSON(placesUrl + "?lon=" + lng.toFixed(6) + "&lat=" + lt.toFixed(6)).then(function (data) {
          where.textContent = placeText(data);
          where.className = data.inside ? "hint" : "hint cm-warn";
          if (map) { context(data); }
        }).catch(function () { where.textContent = "暂时无法确认位置所在社区（不影响上报）"; });
      }, 300);
    }

    // without a basemap the located grid and the nearest standard address are what the inspector can recognise
    function context(data) {
      if (around) { map.removeLayer(around); }
      around = L.layerGroup().addTo(map);
      if (data.grid) {
        L.geoJSON(data.grid, { style: { color: "#0b5cad", weight: 2, fillOpacity: 0.05 }, interactive: false }).addTo(around);
      }
      if (data.nearest) {
        L.circleMarker([data.nearest.lat, data.nearest.lon], { radius: 5, color: "#5b6b7c", weight: 2, fillOpacity: 0.6 })
          .bindTooltip(data.nearest.text).addTo(around);
      }
    }

    function show(lng, lt, zoom, radius) {
      if (!map) { describe(lng, lt); return; }
      var ll = L.latLng(lt, lng);
      if (marker) { marker.setLatLng(ll); } else {
        marker = L.marker(ll, { icon: pinIcon(), title: "问题位置", alt: "问题位置", keyboard: false }).addTo(map);
      }
      if (accuracy) { map.removeLayer(accuracy); accuracy = null; }
      if (radius) { accuracy = L.circle(ll, { radius: radius, color: "#0b5cad", weight: 1, fillOpacity: 0.08, interactive: false }).addTo(map); }
      if (zoom) { map.setView(ll, Math.max(map.getZoom(), zoom)); } else { map.panTo(ll); }
      pickEl.setAttribute("data-marker", lng.toFixed(6) + "," + lt.toFixed(6));
      describe(lng, lt);
    }

    function fromFields() {
      var x = parseFloat(lon.value), y = parseFloat(lat.value);
      if (isFinite(x) && isFinite(y) && Math.abs(x) <= 180 && Math.abs(y) <= 90) { show(x, y, 16); }
    }

    function set(lng, lt) {
      lon.value = lng.toFixed(6); lat.value = lt.toFixed(6); crs.value = "WGS84";
    }

    if (map) {
      map.on("click", function (e) { set(e.latlng.lng, e.latlng.lat); show(e.latlng.lng, e.latlng.lat, 0, 0); });
      // the boundary layer may finish loading after a GPS fix and refit the view to the whole county:
      // until the inspector touches the map, a fix stays centred at street level
      pickEl.addEventListener("pointerdown", function () { follow = false; });
      map.on("moveend", function () {
        pickEl.setAttribute("data-zoom", String(map.getZoom()));
        if (follow && marker && (map.getZoom() < 15 || !map.getBounds().contains(marker.getLatLng()))) {
          map.setView(marker.getLatLng(), 16);
        }
      });
    }
    lon.addEventListener("change", fromFields);
    lat.addEventListener("change", fromFields);

    var locate = form.querySelector("[data-locate]");
    var gps = document.getElementById("cm-gps-status");
    if (locate) {
      locate.addEventListener("click", function () {
        if (!navigator.geolocation) { gps.textContent = "此设备不支持定位，请在地图上点选"; return; }
        gps.textContent = "正在定位…";
        navigator.geolocation.getCurrentPosition(function (pos) {
          follow = true;
          set(pos.coords.longitude, pos.coords.latitude);
          var acc = Math.round(pos.coords.accuracy || 0);
          gps.textContent = "已定位（精度约 " + acc + " 米），可拖动地图点选修正";
          show(pos.coords.longitude, pos.coords.latitude, 16, Math.min(acc, 500));
        }, function (err) {
          gps.textContent = err && err.code === 1 ? "未获准使用定位，请在浏览器设置中允许，或在地图上点选" : "定位失败，请在地图上点选";
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
      });
    }
    return {
      clear: function () {
        if (marker) { map.removeLayer(marker); marker = null; }
        if (accuracy) { map.removeLayer(accuracy); accuracy = null; }
        if (around) { map.removeLayer(around); around = null; }
        if (pickEl) { pickEl.removeAttribute("data-marker"); }
        if (where) { where.textContent = "尚未选择位置"; }
      }
    };
  }

  // --- class picker: major class narrows the list, search by name or pinyin, recent classes one tap away

  function classPicker(form) {
    var box = form.querySelector("[data-classpick]");
    if (!box) { return; }
    var select = document.getElementById("class_code");
    var major = box.querySelector("[data-class-major]");
    var search = box.querySelector("[data-class-search]");
    var hits = box.querySelector("[data-class-hits]");
    var hint = box.querySelector("[data-class-hint]");
    var groups = Array.prototype.map.call(select.querySelectorAll("optgroup"), function (g) { return g.cloneNode(true); });
    var all = [];
    groups.forEach(function (g) {
      Array.prototype.forEach.call(g.children, function (o) {
        all.push({ code: o.value, name: o.textContent, pinyin: o.getAttribute("data-pinyin") || "", major: g.getAttribute("data-major"), group: g.label });
      });
    });

    function rebuild(majorCode, keep) {
      while (select.options.length > 1) { select.remove(1); }
      Array.prototype.slice.call(select.querySelectorAll("optgroup")).forEach(function (g) { g.remove(); });
      groups.forEach(function (g) {
        if (!majorCode || g.getAttribute("data-major") === majorCode) { select.appendChild(g.cloneNode(true)); }
      });
      select.value = keep || "";
      showHint();
    }

    function showHint() {
      var opt = select.options[select.selectedIndex];
      hint.textContent = opt && opt.value ? (opt.getAttribute("data-hint") || "") : "";
    }

    function pick(code) {
      var item = all.filter(function (c) { return c.code === code; })[0];
      if (!item) { return; }
      major.value = item.major;
      rebuild(item.major, code);
      search.value = "";
      hits.hidden = true;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      select.focus();
    }

    major.addEventListener("change", function () { rebuild(major.value, ""); });
    select.addEventListener("change", showHint);
    box.addEventListener("click", function (e) {
      var b = e.target.closest("[data-pick]");
      if (b) { e.preventDefault(); pick(b.getAttribute("data-pick")); }
    });
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      hits.innerHTML = "";
      if (!q) { hits.hidden = true; return; }
      var found = all.filter(function (c) {
        return c.name.indexOf(q) >= 0 || c.code.toLowerCase().indexOf(q) === 0 ||
          c.pinyin.split(" ").some(function (p) { return p.indexOf(q) === 0; });
      }).slice(0, 8);
      if (!found.length) {
        var li = document.createElement("li"); li.className = "muted"; li.textContent = "没有匹配的类别，请换个说法或按大类查找";
        hits.appendChild(li);
      }
      found.forEach(function (c) {
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button"; b.className = "chip"; b.setAttribute("data-pick", c.code);
        b.textContent = c.name + " · " + c.group;
        li.appendChild(b); hits.appendChild(li);
      });
      hits.hidden = false;
    });
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        var first = hits.querySelector("[data-pick]");
        if (first) { pick(first.getAttribute("data-pick")); }
      }
    });
    return { reset: function () { major.value = ""; rebuild("", ""); } };
  }

  function reportForm() {
    var form = document.getElementById("cm-report");
    if (!form) { return; }
    var msg = document.getElementById("cm-report-msg");
    var picker = positionPicker(form);
    var classes = classPicker(form);
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
            picker.clear();
            if (classes) { classes.reset(); }
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

  // --- case page: a small map of the point, its grid and community

  function caseMap() {
    var el = document.getElementById("cm-case-map");
    if (!el || !window.L) { return; }
    var shapes = JSON.parse(el.getAttribute("data-shapes") || "{}");
    var map = baseMap(el);
    var bounds = null;
    if (shapes.community) {
      var c = L.geoJSON(shapes.community, { style: { color: "#5b6b7c", weight: 1, dashArray: "4 3", fill: false }, interactive: false }).addTo(map);
      bounds = c.getBounds();
    }
    if (shapes.grid) {
      var g = L.geoJSON(shapes.grid, { style: { color: "#0b5cad", weight: 2, fillOpacity: 0.06 }, interactive: false }).addTo(map);
      bounds = g.getBounds();
    }
    var pt = shapes.point ? L.latLng(shapes.point[1], shapes.point[0]) : null;
    if (pt) {
      L.marker(pt, { icon: pinIcon(), title: "问题位置", alt: "问题位置", keyboard: false }).addTo(map);
      bounds = bounds ? bounds.extend(pt) : L.latLngBounds(pt, pt);
    }
    if (bounds) { map.fitBounds(bounds.pad(0.6), { maxZoom: 17 }); }
  }

  // --- photos: tap to enlarge, arrows or swipe through the case's photos, Esc or tap outside to close

  function lightbox() {
    var links = Array.prototype.slice.call(document.querySelectorAll("[data-lightbox]"));
    if (!links.length || typeof HTMLDialogElement === "undefined") { return; }
    var dlg = document.createElement("dialog");
    dlg.className = "cm-lightbox";
    dlg.setAttribute("aria-label", "照片查看");
    dlg.innerHTML = '<figure><img alt=""><figcaption></figcaption></figure>' +
      '<button type="button" class="cm-lb-close" aria-label="关闭">×</button>' +
      '<button type="button" class="cm-lb-prev" aria-label="上一张">‹</button>' +
      '<button type="button" class="cm-lb-next" aria-label="下一张">›</button>';
    document.body.appendChild(dlg);
    var img = dlg.querySelector("img"), cap = dlg.querySelector("figcaption");
    var index = 0, startX = null;
    function show(i) {
      index = (i + links.length) % links.length;
      var a = links[index];
      img.classList.remove("cm-lb-full");
      img.src = a.getAttribute("href");
      img.alt = a.getAttribute("data-caption") || "";
      cap.textContent = (a.getAttribute("data-caption") || "") + (links.length > 1 ? "（" + (index + 1) + "/" + links.length + "）" : "") + " · 点按照片可查看原始大小";
      dlg.querySelector(".cm-lb-prev").hidden = links.length < 2;
      dlg.querySelector(".cm-lb-next").hidden = links.length < 2;
    }
    links.forEach(function (a, i) {
      a.addEventListener("click", function (e) {
        if (e.ctrlKey || e.metaKey || e.shiftKey) { return; }
        e.preventDefault(); show(i); dlg.showModal();
      });
    });
    dlg.querySelector(".cm-lb-close").addEventListener("click", function () { dlg.close(); });
    dlg.querySelector(".cm-lb-prev").addEventListener("click", function () { show(index - 1); });
    dlg.querySelector(".cm-lb-next").addEventListener("click", function () { show(index + 1); });
    img.addEventListener("click", function () { img.classList.toggle("cm-lb-full"); });
    dlg.addEventListener("click", function (e) { if (e.target === dlg) { dlg.close(); } });
    dlg.addEventListener("keydown", function (e) {
      if (e.key === "ArrowLeft") { show(index - 1); } else if (e.key === "ArrowRight") { show(index + 1); }
    });
    dlg.addEventListener("touchstart", function (e) { startX = e.touches[0].clientX; }, { passive: true });
    dlg.addEventListener("touchend", function (e) {
      if (startX === null) { return; }
      var dx = e.changedTouches[0].clientX - startX;
      startX = null;
      if (Math.abs(dx) > 50 && !img.classList.contains("cm-lb-full")) { show(index + (dx < 0 ? 1 : -1)); }
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
  caseMap();
  lightbox();
})();
