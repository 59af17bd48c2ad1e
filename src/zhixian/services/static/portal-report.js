// 我要反映 (portal): the county basemap, a pin set by tapping or by the browser's position, and the open public
// reports near the pin first, each with “我也遇到了”. Browser geolocation is WGS 84; a host app that fills the
// position from a phone map SDK in GCJ-02 sets #pr-crs to "GCJ02" and the server converts it.
(function () {
  "use strict";
  var form = document.getElementById("pr-form");
  var el = document.getElementById("pr-map");
  if (!form || !el || typeof L === "undefined") { return; }
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var lat = document.getElementById("pr-lat"), lon = document.getElementById("pr-lon"), crs = document.getElementById("pr-crs");
  var where = document.getElementById("pr-where");
  var box = document.getElementById("pr-nearby"), list = document.getElementById("pr-nearby-list");
  var signed = form.getAttribute("data-signed") === "1";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  var map = L.map(el, { attributionControl: false, zoomControl: false, zoomSnap: 0.25 });
  L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
  map.setView([30.84, 120.92], 11);

  getJSON(form.getAttribute("data-basemap")).then(function (info) {
    (info.layers || []).forEach(function (spec, i) {
      L.tileLayer(spec.url, {
        minZoom: spec.min_zoom, maxZoom: spec.max_zoom, maxNativeZoom: spec.max_native_zoom || spec.max_zoom, zIndex: i + 1
      }).addTo(map);
    });
    if (info.attribution) { L.control.attribution({ prefix: false }).addAttribution(info.attribution).addTo(map); }
  }).catch(function () {});
  getJSON(form.getAttribute("data-areas")).then(function (fc) {
    var layer = L.geoJSON(fc, { style: { color: "#0b5cad", weight: 1.5, fill: false }, interactive: false }).addTo(map);
    // not animated: a pin set by GPS while a zoom animation ran would be undone when it ends (Leaflet)
    if (!lat.value && layer.getLayers().length) { map.fitBounds(layer.getBounds(), { animate: false }); }
  }).catch(function () {});

  var pin = null, dots = L.layerGroup().addTo(map);
  function icon(cls, size) {
    return L.divIcon({ className: cls, html: "<span></span>", iconSize: [size, size], iconAnchor: [size / 2, size] });
  }

  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (cls) { node.className = cls; }
    return node;
  }

  function meToo(item, button, count) {
    if (!signed) { window.location.href = "/portal/login?next=" + encodeURIComponent("/portal/report"); return; }
    button.disabled = true;
    fetch("/portal/reports/" + encodeURIComponent(item.token) + "/support", {
      method: "POST", credentials: "same-origin", headers: { Accept: "application/json", "X-CSRF-Token": csrf }
    }).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); }).then(function (data) {
      count.textContent = data.supporters + " 人也遇到了";
      button.textContent = "已记录";
    }).catch(function () { button.disabled = false; button.textContent = "未成功，再试一次"; });
  }

  function showNearby(items) {
    dots.clearLayers();
    list.textContent = "";
    box.hidden = !items.length;
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "card";
      var row = document.createElement("div");
      row.className = "pr-row";
      var link = text("a", item.class_name);
      link.href = item.url;
      row.appendChild(link);
      row.appendChild(text("span", "约 " + Math.round(item.distance_m) + " 米", "hint"));
      li.appendChild(row);
      li.appendChild(text("div", item.status));
      li.appendChild(text("div", item.description, "hint"));
      var actions = document.createElement("div");
      actions.className = "pr-row";
      var count = text("span", item.supporters + " 人也遇到了", "hint");
      if (item.own) {
        actions.appendChild(text("span", "这是您反映的问题", "tag"));
      } else {
        var button = text("button", item.supported ? "已记录" : "我也遇到了", "btn secondary");
        button.type = "button";
        button.disabled = item.supported;
        button.addEventListener("click", function () { meToo(item, button, count); });
        actions.appendChild(button);
      }
      actions.appendChild(count);
      li.appendChild(actions);
      list.appendChild(li);
    });
  }

  function place(latlng, source, fromSdk) {
    lat.value = latlng.lat.toFixed(6);
    lon.value = latlng.lng.toFixed(6);
    crs.value = fromSdk || "WGS84";
    if (pin) { pin.setLatLng(latlng); } else {
      pin = L.marker(latlng, { icon: icon("pr-pin", 22), title: "问题位置", alt: "问题位置", keyboard: false }).addTo(map);
    }
    el.setAttribute("data-pinned", lat.value + "," + lon.value);
    where.textContent = source + "：" + lat.value + ", " + lon.value;
    getJSON(form.getAttribute("data-nearby") + "?lat=" + lat.value + "&lon=" + lon.value + "&crs=" + crs.value)
      .then(showNearby).catch(function () { box.hidden = true; });
  }

  map.on("click", function (e) { place(e.latlng, "已选择位置"); });
  if (lat.value && lon.value) {
    var start = L.latLng(parseFloat(lat.value), parseFloat(lon.value));
    map.setView(start, 17);
    place(start, "已选择位置", crs.value);
  }

  document.getElementById("pr-locate").addEventListener("click", function () {
    if (!navigator.geolocation) { where.textContent = "此设备不支持定位，请在地图上点选"; return; }
    where.textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      var here = L.latLng(pos.coords.latitude, pos.coords.longitude);
      map.setView(here, 17);
      place(here, "当前位置（精度约 " + Math.round(pos.coords.accuracy) + " 米）");
    }, function () { where.textContent = "无法获取位置，请在地图上点选"; }, { enableHighAccuracy: true, timeout: 15000 });
  });
})();
