/* The joint executive dashboard's charts (Apache ECharts, served by the app).
 *
 * The data comes from the page itself (Django's json_script, element #dashboard-charts):
 * numbers as exact decimal strings for the geometry, the same formatted figures as the
 * page for tooltips and labels, and a drill-down link for every chart element.
 */
(function () {
  "use strict";

  var source = document.getElementById("dashboard-charts");
  if (!source) return;
  var data = JSON.parse(source.textContent);

  var COLORS = {
    marketing: "#db2777",
    marketingLight: "#f9a8d4",
    it: "#0891b2",
    itLight: "#a5f3fc",
    fast_lane: "#7c3aed",
    core_stack: "#0f766e",
    under: "#16a34a",
    over: "#dc2626",
    text: "#374151",
    muted: "#6b7280",
    grid: "#eef2f7",
  };
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  var charts = [];

  var MINUS = "\u2212";
  var NBSP = "\u00a0";
  var UNITS = [[1e9, "B"], [1e6, "M"], [1e3, "k"]];
  var oneDecimal = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

  // An amount in a sensible unit, as the page's headline figures (dashboard_format.format_money_short):
  // `$14.9 M`, `−$350.9 k`, `$950`. Axis labels and bar figures; tooltips keep the cents.
  function shortMoney(value, signed) {
    var size = Math.abs(value);
    var text = String(Math.round(size));
    for (var i = 0; i < UNITS.length; i++) {
      var unit = UNITS[i][0];
      if (size >= (UNITS[i][1] === "k" ? 999.5 : unit * 0.99995)) {
        text = oneDecimal.format(size / unit) + NBSP + UNITS[i][1];
        break;
      }
    }
    var sign = text === "0" ? "" : value < 0 ? MINUS : signed ? "+" : "";
    return sign + data.currency_prefix + text;
  }

  // An axis tick (a round number): `$600 k`, `−$1.5 M`, without a sign for positives or a needless `.0`.
  function axisMoney(value) {
    return shortMoney(value).replace(".0" + NBSP, NBSP);
  }

  function num(value) {
    return value === null || value === undefined ? null : parseFloat(value);
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // Tooltips are HTML: classes from dashboard.css only, as the Content Security Policy
  // refuses style attributes. `swatch` names a colour class (tt-swatch-<name>).
  function row(swatch, label, value, strong) {
    return (
      '<div class="tt-row"><span><span class="tt-swatch tt-swatch-' + swatch + '"></span>' + escapeHtml(label) +
      '</span><span class="tt-value' + (strong ? " tt-strong" : "") + '">' + escapeHtml(value) + "</span></div>"
    );
  }

  function title(text) {
    return '<div class="tt-title">' + escapeHtml(text) + "</div>";
  }

  function footer(text) {
    return '<div class="tt-foot">' + escapeHtml(text) + "</div>";
  }

  var GAP = '<div class="tt-gap"></div>';

  function empty(element, message) {
    element.innerHTML = '<div class="chart-empty">' + escapeHtml(message) + "</div>";
  }

  function make(id) {
    var element = document.getElementById(id);
    if (!element || typeof echarts === "undefined") return null;
    var chart = echarts.init(element, null, { renderer: "canvas" });
    charts.push(chart);
    return chart;
  }

  function follow(chart, linkOf) {
    chart.on("click", function (params) {
      var link = linkOf(params);
      if (link) window.location.href = link;
    });
    chart.getZr().on("mousemove", function () {
      chart.getZr().setCursorStyle("pointer");
    });
  }

  var base = {
    animationDuration: 400,
    textStyle: { fontFamily: FONT, color: COLORS.text },
    tooltip: {
      backgroundColor: "#fff",
      borderColor: "#e5e7eb",
      textStyle: { color: "#111827", fontFamily: FONT, fontSize: 12 },
      extraCssText: "box-shadow:0 6px 16px rgba(15,23,42,.12);border-radius:.5rem;padding:.6rem .75rem;",
    },
  };

  function options(extra) {
    return Object.assign({}, base, extra);
  }

  // 1. Planned vs actual per fiscal month, each split into marketing's and IT's shares.
  (function monthly() {
    var months = data.months;
    var keys = ["planned_marketing", "planned_it", "actual_marketing", "actual_it"];
    var anything = months.some(function (m) {
      return keys.some(function (k) { return num(m[k]) !== 0; });
    });
    var element = document.getElementById("chart-monthly");
    if (element && !anything) { empty(element, "No planned or actual spend in this period."); return; }
    var chart = make("chart-monthly");
    if (!chart) return;
    function series(name, key, stack, color) {
      return {
        name: name,
        type: "bar",
        stack: stack,
        barMaxWidth: 22,
        barGap: "15%",
        itemStyle: { color: color, borderRadius: 0 },
        data: months.map(function (m) { return num(m[key]); }),
      };
    }
    chart.setOption(
      options({
        grid: { left: 8, right: 12, top: 16, bottom: 8, containLabel: true },
        tooltip: Object.assign({}, base.tooltip, {
          trigger: "axis",
          axisPointer: { type: "shadow", shadowStyle: { color: "rgba(37,99,235,.06)" } },
          formatter: function (items) {
            var m = months[items[0].dataIndex];
            var t = m.text;
            return (
              title(m.title) +
              row("marketing-light", "Planned · marketing", t.planned_marketing) +
              row("it-light", "Planned · IT", t.planned_it) +
              row("grey", "Planned total", t.planned_total, true) +
              GAP +
              row("marketing", "Actual · marketing", t.actual_marketing) +
              row("it", "Actual · IT", t.actual_it) +
              row("dark", "Actual total", t.actual_total, true) +
              GAP +
              row("none", "Variance (plan − actual)", t.variance, true) +
              footer(m.link_text)
            );
          },
        }),
        xAxis: {
          type: "category",
          data: months.map(function (m) { return m.label; }),
          axisTick: { show: false },
          axisLine: { lineStyle: { color: "#d1d5db" } },
          axisLabel: { color: COLORS.muted, fontSize: 12 },
        },
        yAxis: {
          type: "value",
          splitLine: { lineStyle: { color: COLORS.grid } },
          axisLabel: { color: COLORS.muted, formatter: axisMoney },
        },
        series: [
          series("Planned · marketing", "planned_marketing", "planned", COLORS.marketingLight),
          series("Planned · IT", "planned_it", "planned", COLORS.itLight),
          series("Actual · marketing", "actual_marketing", "actual", COLORS.marketing),
          series("Actual · IT", "actual_it", "actual", COLORS.it),
        ],
      })
    );
    follow(chart, function (p) { return months[p.dataIndex] && months[p.dataIndex].link; });
  })();

  // 2. Lane mix of actual spend.
  (function lanes() {
    var element = document.getElementById("chart-lanes");
    var lanes = data.lanes;
    var total = lanes.reduce(function (sum, l) { return sum + Math.abs(num(l.actual)); }, 0);
    if (element && total === 0) { empty(element, "No actual spend in this period."); return; }
    var chart = make("chart-lanes");
    if (!chart) return;
    chart.setOption(
      options({
        tooltip: Object.assign({}, base.tooltip, {
          trigger: "item",
          formatter: function (p) {
            var l = lanes[p.dataIndex];
            return (
              title(l.name) +
              row(l.key, "Actual", l.text, true) +
              row("none", "Share of actual", l.share) +
              row("none", "Planned", l.planned_text) +
              footer(l.link_text)
            );
          },
        }),
        legend: {
          bottom: 0,
          icon: "circle",
          itemWidth: 10,
          textStyle: { color: COLORS.text, fontSize: 13 },
          formatter: function (name) {
            var l = lanes.find(function (x) { return x.name === name; });
            return name + "  " + l.share + "  ·  " + l.short;
          },
        },
        series: [
          {
            type: "pie",
            radius: ["52%", "76%"],
            center: ["50%", "44%"],
            avoidLabelOverlap: true,
            itemStyle: { borderColor: "#fff", borderWidth: 3 },
            label: {
              show: true,
              position: "center",
              formatter: function () { return "{value|" + data.lanes_total + "}\n{caption|actual spend}"; },
              rich: {
                value: { fontSize: 17, fontWeight: 700, color: "#111827", lineHeight: 26 },
                caption: { fontSize: 12, color: COLORS.muted },
              },
            },
            emphasis: { scale: true, scaleSize: 6, label: { show: true } },
            labelLine: { show: false },
            data: lanes.map(function (l) {
              return { name: l.name, value: Math.max(num(l.actual), 0), itemStyle: { color: COLORS[l.key] } };
            }),
          },
        ],
      })
    );
    follow(chart, function (p) { return lanes[p.dataIndex] && lanes[p.dataIndex].link; });
  })();

  // 3. Marketing's share by fiscal month: the last recompute of each month (the compact history).
  (function trend() {
    var element = document.getElementById("chart-trend");
    var points = data.trend;
    if (element && points.length === 0) {
      empty(element, "No recompute has kept figures for this period yet.");
      return;
    }
    var chart = make("chart-trend");
    if (!chart) return;
    var values = points.map(function (p) { return num(p.share); });
    var known = values.filter(function (v) { return v !== null; });
    var low = known.length ? Math.min.apply(null, known) : 50;
    var high = known.length ? Math.max.apply(null, known) : 50;
    var pad = Math.max(2, (high - low) * 0.4);
    chart.setOption(
      options({
        grid: { left: 8, right: 64, top: 20, bottom: 8, containLabel: true },
        tooltip: Object.assign({}, base.tooltip, {
          trigger: "axis",
          formatter: function (items) {
            var p = points[items[0].dataIndex];
            return (
              title(p.title) +
              row("marketing", "Marketing's share", p.text, true) +
              row("none", "Marketing of total", p.detail) +
              (data.trend_scope ? row("none", "Covers", data.trend_scope) : "") +
              footer("Click for the recompute runs")
            );
          },
        }),
        xAxis: {
          type: "category",
          boundaryGap: points.length === 1,
          data: points.map(function (p) { return p.label; }),
          axisTick: { show: false },
          axisLine: { lineStyle: { color: "#d1d5db" } },
          axisLabel: { color: COLORS.muted, hideOverlap: true },
        },
        yAxis: {
          type: "value",
          min: Math.max(0, Math.floor(low - pad)),
          max: Math.min(100, Math.ceil(high + pad)),
          splitLine: { lineStyle: { color: COLORS.grid } },
          axisLabel: { color: COLORS.muted, formatter: "{value} %" },
        },
        series: [
          {
            type: "line",
            data: values,
            smooth: 0.25,
            connectNulls: false,
            symbol: "circle",
            symbolSize: points.length > 20 ? 5 : 8,
            lineStyle: { color: COLORS.marketing, width: 3 },
            itemStyle: { color: COLORS.marketing },
            areaStyle: { color: "rgba(219,39,119,.08)" },
            endLabel: {
              show: true,
              formatter: function () { return points[points.length - 1].text; },
              color: COLORS.marketing,
              fontWeight: 700,
            },
            markLine: low <= 50 && high + pad >= 50 ? {
              silent: true,
              symbol: "none",
              label: { formatter: "50 %", color: COLORS.muted, position: "insideStartTop" },
              lineStyle: { color: "#cbd5e1", type: "dashed" },
              data: [{ yAxis: 50 }],
            } : undefined,
          },
        ],
      })
    );
    follow(chart, function () { return data.trend_link; });
  })();

  // 4. The ten largest variances (planned − actual, PRODUCT.md §3), largest on top.
  // Negative (red, left of zero) is over plan. Each bar carries its figure just past its
  // end; the value axis is stretched so that every figure fits inside the chart. On a
  // narrow chart each name sits above its bar. The figures are in a sensible unit, as the
  // headline ones (the tooltip keeps the cents).
  (function variances() {
    var element = document.getElementById("chart-variances");
    var rows = data.variances.slice().reverse();
    if (element && rows.length === 0) { empty(element, "No planned or actual spend in this period."); return; }
    var chart = make("chart-variances");
    if (!chart) return;
    var NARROW = 520;
    var LABEL_SIZE = 11;
    var LABEL_GAP = 6;
    var measure = document.createElement("canvas").getContext("2d");

    function textWidth(text, size, weight) {
      measure.font = weight + " " + size + "px " + FONT;
      return Math.ceil(measure.measureText(text).width);
    }

    var drawnWidth = null;

    function draw() {
      var width = chart.getWidth();
      if (width === drawnWidth) return; // the layout depends on the width only
      var firstDraw = drawnWidth === null;
      drawnWidth = width;
      var narrow = width < NARROW;
      var values = rows.map(function (r) { return num(r.variance); });
      var texts = rows.map(function (r) { return r.short; });
      // Room for the figures: past the longest bar on each side of zero.
      var rightRoom = 0;
      var leftRoom = 0;
      values.forEach(function (value, i) {
        var room = textWidth(texts[i], LABEL_SIZE, 600) + LABEL_GAP + 4;
        if (value < 0) leftRoom = Math.max(leftRoom, room); else rightRoom = Math.max(rightRoom, room);
      });
      var nameWidth = narrow ? 0 : Math.min(260, Math.round(width * 0.34));
      // Narrow: no value axis labels (every bar carries its figure), names above the bars.
      var grid = { left: narrow ? 4 : nameWidth + 14, right: 6, top: narrow ? 18 : 6, bottom: narrow ? 4 : 26 };
      var plot = Math.max(width - grid.left - grid.right, 1);
      var most = Math.max.apply(null, values.concat([0]));
      var least = Math.min.apply(null, values.concat([0]));
      var spread = most - least || 1;
      // The bars get what the figures leave: at least a third of the width.
      var labelShare = Math.min((rightRoom + leftRoom) / plot, 2 / 3);
      var range = spread / (1 - labelShare);
      var labelScale = (rightRoom + leftRoom) ? (labelShare * range) / (rightRoom + leftRoom) : 0;
      var max = most + rightRoom * labelScale;
      var min = least - leftRoom * labelScale;

      chart.setOption(
        options({
          animation: firstDraw,
          grid: grid,
          tooltip: Object.assign({}, base.tooltip, {
            trigger: "item",
            confine: true,
            formatter: function (p) {
              var r = rows[p.dataIndex];
              var over = num(r.variance) < 0;
              return (
                title(r.name) +
                row("none", "Planned", r.planned) +
                row("none", "Actual", r.actual) +
                row("none", "Variance (plan − actual)", r.text) +
                row(over ? "over" : "under", r.gap_text, "", true) +
                footer("Click to open the initiative")
              );
            },
          }),
          xAxis: {
            type: "value",
            min: min,
            max: max,
            splitNumber: narrow ? 2 : 4,
            splitLine: { lineStyle: { color: COLORS.grid } },
            axisLabel: {
              show: !narrow,
              color: COLORS.muted,
              fontSize: 11,
              hideOverlap: true,
              showMinLabel: false,
              showMaxLabel: false,
              formatter: axisMoney,
            },
          },
          yAxis: {
            type: "category",
            z: narrow ? 10 : 0, // names above the bars' zero line
            data: rows.map(function (r) { return r.name; }),
            axisTick: { show: false },
            axisLine: { show: false },
            axisLabel: narrow
              ? {
                  inside: true,
                  align: "left",
                  verticalAlign: "bottom",
                  padding: [0, 0, 9, 0],
                  color: COLORS.text,
                  // Readable where the zero line or a grid line crosses the name.
                  textBorderColor: "#fff",
                  textBorderWidth: 3,
                  fontSize: 12,
                  width: plot - 4,
                  overflow: "truncate",
                }
              : { color: COLORS.text, fontSize: 12, width: nameWidth, overflow: "truncate" },
          },
          series: [
            {
              type: "bar",
              barWidth: narrow ? 10 : undefined,
              barMaxWidth: 16,
              data: rows.map(function (r, i) {
                var value = values[i];
                return {
                  value: value,
                  itemStyle: {
                    color: value < 0 ? COLORS.over : COLORS.under,
                    borderRadius: value < 0 ? [4, 0, 0, 4] : [0, 4, 4, 0],
                  },
                  // The figure sits just past the bar's end, away from zero.
                  label: {
                    show: true,
                    position: value < 0 ? "left" : "right",
                    distance: LABEL_GAP,
                    formatter: texts[i],
                    color: value < 0 ? "#b91c1c" : "#166534",
                    fontWeight: 600,
                    fontSize: LABEL_SIZE,
                  },
                };
              }),
              markLine: {
                silent: true,
                symbol: "none",
                label: { show: false },
                lineStyle: { color: "#9ca3af", type: "solid", width: 1 },
                data: [{ xAxis: 0 }],
              },
            },
          ],
        }),
        { replaceMerge: ["series"] }
      );
    }

    draw();
    chart.relayout = draw;
    follow(chart, function (p) { return rows[p.dataIndex] && rows[p.dataIndex].link; });
  })();

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) {
      chart.resize();
      if (chart.relayout) chart.relayout();
    });
  });

  // The filters apply as soon as one changes (the Apply button stays for keyboards and no-JS).
  var form = document.getElementById("dashboard-filters");
  if (form) {
    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () {
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
  }
})();
