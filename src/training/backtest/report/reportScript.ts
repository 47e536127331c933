/**
 * The report's inline script (plain ES5-style browser JavaScript, kept as text so that no bundler or
 * transpiler touches it). It reads the JSON of `#report-data` (see reportData.ts), draws the charts
 * with the inlined uPlot into `#chart-equity`, `#chart-drawdown`, `#chart-returns` and
 * `#chart-groups` (and `#chart-reliability` with classification), and sets
 * `document.body.dataset.chartsReady` to the number of charts drawn once each has drawn
 * (`data-charts-expected` says how many there are). Equity and drawdown are drawn over period
 * indices (an ordinal axis: time without rows takes no width), labelled with the periods' times.
 *
 * The reliability diagram's code is only part of the script of a report with classification:
 * without it the script, like the rest of the page, keeps its bytes.
 */
export function reportScript(options: { reliability?: boolean } = {}): string {
  return options.reliability ? SCRIPT_START + RELIABILITY_CHART + scriptEnd('reliabilityChart(), ') : SCRIPT_START + scriptEnd('');
}

const SCRIPT_START = String.raw`(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var C = data.colors;
  var charts = [];
  var counted = [];
  var expected = 0;

  function onDraw(u) {
    if (counted.indexOf(u) >= 0) return;
    counted.push(u);
    if (counted.length === expected) document.body.dataset.chartsReady = String(counted.length);
  }
  function utc(sec) { return uPlot.tzDate(new Date(sec * 1e3), 'Etc/UTC'); }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function pct(v, d) { return isNum(v) ? (v * 100).toFixed(d == null ? 2 : d) + ' %' : '–'; }
  function fixed(d) { return function (u, v) { return isNum(v) ? v.toFixed(d) : '–'; }; }
  function decimalsFor(incr) {
    var d = Math.ceil(-Math.log10(incr) - 1e-9);
    return isNum(d) ? Math.min(8, Math.max(0, d)) : 2;
  }
  function pctAxis(u, splits, axisIdx, space, incr) {
    var d = decimalsFor(incr * 100);
    return splits.map(function (v) { return v == null ? '' : (v * 100).toFixed(d) + '%'; });
  }
  function numAxis(u, splits, axisIdx, space, incr) {
    var d = decimalsFor(incr);
    return splits.map(function (v) { return v == null ? '' : v.toFixed(d); });
  }
  function widthOf(el) { return Math.max(320, Math.floor(el.getBoundingClientRect().width)); }
  var fmtFull = uPlot.fmtDate('{YYYY}-{MM}-{DD} {HH}:{mm}');
  var fmtDay = uPlot.fmtDate('{YYYY}-{MM}-{DD}');
  var fmtHour = uPlot.fmtDate('{MM}-{DD} {HH}:{mm}');
  var fmtMinute = uPlot.fmtDate('{HH}:{mm}');
  var noPoints = { show: false };

  // The charts over time share an ordinal x axis: x is a period's index, so time without rows takes
  // no width; d.t holds the time (seconds, UTC) of each plotted x, for ticks and the legend.
  function closest(xs, v) {
    var lo = 0, hi = xs.length - 1;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (xs[mid] < v) lo = mid + 1; else hi = mid; }
    return lo > 0 && Math.abs(xs[lo - 1] - v) <= Math.abs(xs[lo] - v) ? lo - 1 : lo;
  }
  function periodSeries(d) {
    return { label: 'period (UTC)', value: function (u, v, si, i) {
      return i == null || !isNum(d.t[i]) ? '–' : fmtFull(utc(d.t[i])) + ' · period ' + (d.x[i] + 1);
    } };
  }
  function periodAxis(d) {
    return {
      label: 'trading periods (ticks: UTC time of the period)', labelSize: 24, space: 90,
      // Ticks only at plotted periods, whose times are known: about one per 110 px.
      splits: function (u, axisIdx, min, max) {
        // Centred in n equal slices, so that no label is cut at either edge.
        var n = Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / 110));
        var out = [];
        for (var k = 0; k < n; k++) {
          var x = d.x[closest(d.x, min + ((max - min) * (k + 0.5)) / n)];
          if (x >= min && x <= max && out.indexOf(x) < 0) out.push(x);
        }
        return out;
      },
      values: function (u, splits) {
        var ts = splits.map(function (v) { return d.t[closest(d.x, v)]; });
        var steps = [];
        for (var i = 1; i < ts.length; i++) steps.push(ts[i] - ts[i - 1]);
        steps.sort(function (a, b) { return a - b; });
        var step = steps.length > 0 ? steps[steps.length >> 1] : 86400;
        var f = step >= 86400 ? fmtDay : step >= 3600 ? fmtHour : fmtMinute;
        return ts.map(function (t) { return isNum(t) ? f(utc(t)) : ''; });
      }
    };
  }
  // A dashed vertical line (and its length) between the two periods either side of a long gap;
  // the label at the bottom where the chart's area hangs from the top (drawdown).
  function gapMarks(labelAtBottom) { return function (u) { markGaps(u, labelAtBottom); }; }
  function markGaps(u, labelAtBottom) {
    var gaps = data.timeline.gaps;
    if (!gaps || gaps.length === 0) return;
    var ctx = u.ctx, dpr = devicePixelRatio, b = u.bbox;
    ctx.save();
    ctx.strokeStyle = C.gap;
    ctx.fillStyle = C.gap;
    ctx.lineWidth = 1.5 * dpr;
    ctx.setLineDash([5 * dpr, 4 * dpr]);
    ctx.font = (11 * dpr) + 'px system-ui, sans-serif';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    gaps.forEach(function (g) {
      var px = Math.round(u.valToPos(g.at - 0.5, 'x', true)) + 0.5;
      if (!(px >= b.left && px <= b.left + b.width)) return;
      ctx.beginPath(); ctx.moveTo(px, b.top); ctx.lineTo(px, b.top + b.height); ctx.stroke();
      ctx.fillText(g.label, px + 4 * dpr, labelAtBottom ? b.top + b.height - 5 * dpr : b.top + 12 * dpr);
    });
    ctx.restore();
  }

  function equityChart() {
    var d = data.equity;
    if (!d || d.x.length === 0) return null;
    var series = [periodSeries(d)];
    d.lines.forEach(function (l) {
      series.push({ label: l.name, stroke: l.color, width: l.width, spanGaps: true, points: noPoints, value: fixed(4) });
    });
    return {
      id: 'chart-equity', height: 360,
      data: [d.x].concat(d.lines.map(function (l) { return l.y; })),
      opts: {
        series: series,
        scales: { x: { time: false } },
        axes: [periodAxis(d), { label: 'equity (growth of 1)', size: 64, values: numAxis }],
        cursor: { drag: { x: true, y: false } },
        hooks: { draw: [gapMarks(false)] }
      }
    };
  }

  function drawdownChart() {
    var d = data.drawdown;
    if (!d || d.x.length === 0) return null;
    var l = d.lines[0];
    return {
      id: 'chart-drawdown', height: 260,
      data: [d.x, l.y],
      opts: {
        series: [periodSeries(d), { label: 'drawdown', stroke: l.color, fill: C.drawdownFill, fillTo: 0, width: l.width,
          spanGaps: true, points: noPoints, value: function (u, v) { return pct(v); } }],
        scales: { x: { time: false }, y: { range: function (u, min) { var lo = Math.min(isNum(min) ? min : 0, 0); return [lo === 0 ? -0.01 : lo * 1.08, 0]; } } },
        axes: [periodAxis(d), { label: 'drawdown', size: 64, values: pctAxis }],
        cursor: { drag: { x: true, y: false } },
        hooks: { draw: [gapMarks(true)] }
      }
    };
  }

  function returnsChart() {
    var h = data.returns;
    if (!h) return null;
    return {
      id: 'chart-returns', height: 300,
      data: [h.centers, h.counts, h.normal],
      opts: {
        series: [
          { label: 'return (bin centre)', value: function (u, v) { return pct(v, 3); } },
          { label: 'periods', stroke: C.returns, fill: C.returnsFill, width: 1, points: noPoints,
            paths: uPlot.paths.bars({ size: [1, Infinity], gap: 1 }), value: fixed(0) },
          { label: 'normal, same mean and sd', stroke: C.normal, width: 1.5, dash: [6, 4], spanGaps: true, points: noPoints, value: fixed(1) }
        ],
        scales: {
          x: { time: false, range: [h.edges[0], h.edges[h.edges.length - 1]] },
          y: { range: function (u, min, max) { return [0, (isNum(max) && max > 0 ? max : 1) * 1.06]; } }
        },
        axes: [{ label: 'return per period', labelSize: 24, values: pctAxis }, { label: 'periods', size: 64, values: numAxis }]
      }
    };
  }

  function groupsChart() {
    var g = data.groups;
    if (!g) return null;
    var k = g.names.length;
    var x = [];
    for (var i = 1; i <= k; i++) x.push(i);
    var isPct = g.metric === 'totalReturn';
    var label = isPct ? 'total return' : 'Sharpe ratio';
    function yLine(u, v) { return Math.round(u.valToPos(v, 'y', true)) + 0.5; }
    return {
      id: 'chart-groups', height: 300,
      data: [x, g.values],
      opts: {
        series: [
          { label: g.kind, value: function (u, v) { return isNum(v) ? g.names[Math.round(v) - 1] : '–'; } },
          { label: label, stroke: C.groupBars, fill: C.groupBarsFill, width: 1, points: noPoints,
            paths: uPlot.paths.bars({ size: [0.6, 90] }), value: isPct ? function (u, v) { return pct(v); } : fixed(2) }
        ],
        scales: {
          x: { time: false, range: [0.5, k + 0.5] },
          y: { range: function (u, min, max) {
            var lo = Math.min(isNum(min) ? min : 0, 0, isNum(g.lo) ? g.lo : 0);
            var hi = Math.max(isNum(max) ? max : 0, 0, isNum(g.hi) ? g.hi : 0);
            var pad = (hi - lo) * 0.08 || 1;
            return [lo < 0 ? lo - pad : 0, hi + pad];
          } }
        },
        axes: [
          { label: g.kind === 'fold' ? 'fold' : 'path', labelSize: 24, grid: { show: false },
            splits: function () { return x; },
            values: function (u, splits) { return splits.map(function (v) { return k <= 12 ? g.names[v - 1] : String(v); }); } },
          { label: label, size: 64, values: isPct ? pctAxis : numAxis }
        ],
        hooks: {
          drawAxes: [function (u) {
            if (!isNum(g.lo) || !isNum(g.hi)) return;
            var top = yLine(u, g.hi);
            u.ctx.save();
            u.ctx.fillStyle = C.band;
            u.ctx.fillRect(u.bbox.left, top, u.bbox.width, yLine(u, g.lo) - top);
            u.ctx.restore();
          }],
          draw: [function (u) {
            var ctx = u.ctx;
            ctx.save();
            ctx.lineWidth = Math.max(1, devicePixelRatio);
            ctx.strokeStyle = '#57606a';
            var y0 = yLine(u, 0);
            ctx.beginPath(); ctx.moveTo(u.bbox.left, y0); ctx.lineTo(u.bbox.left + u.bbox.width, y0); ctx.stroke();
            if (isNum(g.mean)) {
              var ym = yLine(u, g.mean);
              ctx.strokeStyle = C.groupBars;
              ctx.lineWidth = 1.5 * devicePixelRatio;
              ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
              ctx.beginPath(); ctx.moveTo(u.bbox.left, ym); ctx.lineTo(u.bbox.left + u.bbox.width, ym); ctx.stroke();
            }
            ctx.restore();
          }]
        }
      }
    };
  }

`;

/** The reliability diagram (the classification section's chart); see ReliabilityPlot in reportData.ts. */
const RELIABILITY_CHART = String.raw`  function reliabilityChart() {
    var c = data.classification;
    if (!c) return null;
    var r = c.reliability;
    var K = c.colors;
    function grouped(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
    function bound(v) { return isNum(v) ? String(+v.toFixed(4)) : '–'; }
    function radius(i) {
      var n = r.count[i];
      return isNum(n) && r.maxCount > 0 ? 3 + 8 * Math.sqrt(n / r.maxCount) : 0;
    }
    return {
      id: 'chart-reliability', height: 470,
      data: [r.x, r.observed, r.diagonal],
      opts: {
        series: [
          { label: 'mean predicted probability', value: function (u, v, si, i) {
            if (!isNum(v)) return '–';
            return i != null && isNum(r.lo[i]) ? v.toFixed(3) + ' (bin ' + bound(r.lo[i]) + '–' + bound(r.hi[i]) + ')' : v.toFixed(3);
          } },
          { label: 'observed frequency', stroke: K.points, width: 1.5, points: noPoints,
            value: function (u, v, si, i) {
              if (!isNum(v)) return '–';
              var n = i != null ? r.count[i] : null;
              return v.toFixed(3) + (isNum(n) ? ' · ' + grouped(n) + (n === 1 ? ' prediction' : ' predictions') : '');
            } },
          { label: 'perfectly calibrated (y = x)', stroke: K.diagonal, width: 1.5, dash: [6, 4], points: noPoints, value: fixed(3) }
        ],
        scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
        axes: [
          { label: 'mean predicted probability', labelSize: 24, size: 36, values: numAxis },
          { label: 'observed frequency', size: 56, values: numAxis }
        ],
        legend: { markers: { dash: function (u, i) { return u.series[i].dash ? 'dashed' : 'solid'; } } },
        cursor: { drag: { x: false, y: false } },
        hooks: {
          draw: [function (u) {
            var ctx = u.ctx;
            var dpr = devicePixelRatio;
            ctx.save();
            ctx.setLineDash([]);
            ctx.lineWidth = 1.5 * dpr;
            ctx.strokeStyle = K.points;
            ctx.fillStyle = K.pointsFill;
            for (var i = 0; i < r.x.length; i++) {
              if (!isNum(r.observed[i])) continue;
              ctx.beginPath();
              ctx.arc(u.valToPos(r.x[i], 'x', true), u.valToPos(r.observed[i], 'y', true), radius(i) * dpr, 0, 2 * Math.PI);
              ctx.fill();
              ctx.stroke();
            }
            ctx.restore();
          }]
        }
      }
    };
  }

`;

function scriptEnd(first: string): string {
  return String.raw`  var defs = [${first}equityChart(), drawdownChart(), returnsChart(), groupsChart()].filter(function (d) { return d !== null; });
  expected = defs.length;
  document.body.dataset.chartsExpected = String(expected);
  if (expected === 0) document.body.dataset.chartsReady = '0';
  defs.forEach(function (d) {
    var el = document.getElementById(d.id);
    var opts = d.opts;
    opts.width = widthOf(el);
    opts.height = d.height;
    opts.hooks = opts.hooks || {};
    opts.hooks.draw = (opts.hooks.draw || []).concat([onDraw]);
    charts.push({ el: el, height: d.height, plot: new uPlot(opts, d.data, el) });
  });
  var pending = 0;
  window.addEventListener('resize', function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () {
      charts.forEach(function (c) { c.plot.setSize({ width: widthOf(c.el), height: c.height }); });
    });
  });
})();
`;
}

/** The script of a report without classification. */
export const REPORT_SCRIPT = reportScript();
