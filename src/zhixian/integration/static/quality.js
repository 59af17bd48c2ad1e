// Quality dashboard: one grouped bar per resource (completeness, validity, timeliness, duplication).
(function () {
  const el = document.getElementById("quality-chart");
  if (!el || typeof echarts === "undefined") return;
  fetch(el.dataset.source, { credentials: "same-origin" })
    .then((r) => r.json())
    .then((rows) => {
      const chart = echarts.init(el);
      const pct = (v) => Math.round(v * 1000) / 10;
      chart.setOption({
        tooltip: { trigger: "axis", renderMode: "richText" },  // on the canvas: no inline styles (CSP)
        legend: { top: 0, data: ["完整性", "有效性", "及时性", "同键异值率"] },
        grid: { left: 40, right: 10, bottom: 60 },
        xAxis: { type: "category", data: rows.map((r) => r.resource_name), axisLabel: { rotate: 20 } },
        yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
        series: [
          { name: "完整性", type: "bar", data: rows.map((r) => pct(r.completeness)) },
          { name: "有效性", type: "bar", data: rows.map((r) => pct(r.validity)) },
          { name: "及时性", type: "bar", data: rows.map((r) => pct(r.timeliness)) },
          { name: "同键异值率", type: "bar", data: rows.map((r) => pct(r.duplication)) },
        ],
      });
      window.addEventListener("resize", () => chart.resize());
    });
})();
