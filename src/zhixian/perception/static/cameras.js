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
      if (fc.features.length) { map.fitBounds(layer.getBounds().pad(0.2), { animate: false }); }
    }).catch(function () {});
  }

  // HLS in the browser: hls.js where Media Source Extensions exist, the native player elsewhere (Safari, iOS)
  function attach(video, url) {
    var status = document.getElementById("pv-status");
    video.setAttribute("data-url", url);
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ liveDurationInfinity: true, enableWorker: false });
      hls.on(window.Hls.Events.ERROR, function (_e, data) {
        if (data.fatal) {
          video.setAttribute("data-error", data.details || "error");
          if (status) { status.textContent = "无法播放：" + (data.response && data.response.code === 403 ? "令牌无效、已过期或无授权" : data.details); }
        }
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    } else {
      video.src = url;
    }
    video.addEventListener("playing", function () { video.setAttribute("data-playing", "1"); if (status) { status.textContent = "正在播放"; } });
  }

  function player() {
    var video = document.getElementById("pv-player");
    if (video) { attach(video, video.getAttribute("data-hls")); }
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
          screen.appendChild(video);
          attach(video, res.body.relay_url || res.body.url);
        }).catch(function () { button.disabled = false; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { cameraMap(); player(); wall(); });
})();
