// 视频共享 pages: camera map and the video wall (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function cameraMap() {
    var el = document.getElementById("pv-map");
    if (!el || !window.L) { return; }
    var map = L.map(el, { attributionControl: false, preferCanvas: true });
    map.setView([30.84, 120.92], 11);
    getJSON(el.getAttribute("data-devices")).then(function (fc) {
      var layer = L.geoJSON(fc, {
        pointToLayer: function (f, latlng) {
          var on = f.properties.state === "normal";
          return L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 1.5, fillColor: on ? "#1f8a3b" : "#6b7280", fillOpacity: 0.95 });
        },
        onEachFeature: function (f, l) {
          l.bindTooltip(f.properties.name + "（" + f.properties.code + "）" + f.properties.state_label);
          l.on("click", function () { window.location.href = f.properties.href; });
        }
      }).addTo(map);
      el.setAttribute("data-count", String(fc.features.length));
      if (fc.features.length) { map.fitBounds(layer.getBounds().pad(0.2)); }
    }).catch(function () {});
  }

  function wall() {
    var token = document.querySelector('meta[name="csrf-token"]');
    Array.prototype.forEach.call(document.querySelectorAll(".pv-tile"), function (tile) {
      var button = tile.querySelector(".pv-start");
      button.addEventListener("click", function () {
        button.disabled = true;
        fetch(tile.getAttribute("data-play"), {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": token ? token.content : "" },
          body: JSON.stringify({ mode: "live" })
        }).then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); }).then(function (res) {
          var screen = tile.querySelector(".pv-screen");
          screen.textContent = "";
          if (!res.ok) { screen.textContent = res.body.detail || "无法调阅"; return; }
          var video = document.createElement("video");
          video.controls = true; video.muted = true; video.autoplay = true; video.setAttribute("playsinline", "");
          video.src = res.body.url;
          video.setAttribute("data-url", res.body.url);
          screen.appendChild(video);
        }).catch(function () { button.disabled = false; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { cameraMap(); wall(); });
})();
