// Usage chart: calls per day; every bar opens the calls of that day (no inline scripts: CSP).
(function () {
  "use strict";
  var el = document.getElementById("daily-calls");
  if (!el || typeof echarts === "undefined") { return; }
  var days = JSON.parse(el.getAttribute("data-days") || "[]");
  var chart = echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis", renderMode: "richText" },  // on the canvas: no inline styles (CSP)
    grid: { left: 40, right: 10, top: 20, bottom: 40 },
    xAxis: { type: "category", data: days.map(function (d) { return d.day.slice(5); }) },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: "调用次数", type: "bar", data: days.map(function (d) { return d.calls; }), itemStyle: { color: "#0b5cad" } }]
  });
  chart.on("click", function (params) {
    var day = days[params.dataIndex];
    if (day && day.href) { window.location.href = day.href; }
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
