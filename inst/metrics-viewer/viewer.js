// rkeras live training metrics (issue 17). Plain SVG, no libraries, no network.
// The training loop rewrites data.js atomically after every epoch; its body is one call
// rkerasMetrics({...}) around the JSON in metrics.json (a page opened from file:// may load
// scripts but not fetch files). The page reloads data.js every second until the run is done.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var W = 640, H = 230, M = { left: 58, right: 16, top: 24, bottom: 30 };
  var lastSerial = null, timer = null, pending = null;

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // Ticks at whole epochs, at most about 8 of them.
  function epochTicks(first, last) {
    var span = Math.max(1, last - first), steps = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000];
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) if (span / steps[i] <= 8) { step = steps[i]; break; }
    var ticks = [];
    for (var t = Math.ceil(first / step) * step; t <= last; t += step) ticks.push(t);
    if (!ticks.length) ticks.push(first);
    return ticks;
  }

  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { var d = Math.abs(lo) * 0.05 || 0.5; lo -= d; hi += d; }
    var raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
    var step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
    var ticks = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
    return { lo: lo, hi: hi, ticks: ticks };
  }

  function fmt(v) {
    var a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(1) : String(+v.toPrecision(4));
  }

  function drawChart(name, series, first, last) {
    var sec = document.createElement("section");
    sec.className = "chart";
    sec.setAttribute("data-metric", name);
    var h2 = document.createElement("h2");
    h2.textContent = name;
    sec.appendChild(h2);
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": name });
    sec.appendChild(svg);
    var values = [];
    series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null && isFinite(v)) values.push(v); }); });
    var vmin = values.length ? Math.min.apply(null, values) : 0, vmax = values.length ? Math.max.apply(null, values) : 1;
    var pad = (vmax - vmin) * 0.05;  // points on the edges stay inside the plot
    var y = niceTicks(vmin - pad, vmax + pad, 4);
    var lo = Math.min(y.lo, y.ticks[0]), hi = Math.max(y.hi, y.ticks[y.ticks.length - 1]);
    var pw = W - M.left - M.right, ph = H - M.top - M.bottom;
    var sx = function (e) { return M.left + (last > first ? (e - first) / (last - first) : 0.5) * pw; };
    var sy = function (v) { return M.top + (1 - (v - lo) / (hi - lo)) * ph; };
    var grid = el("g", { "class": "grid" }, svg), axis = el("g", { "class": "axis" }, svg);
    y.ticks.forEach(function (t) {
      el("line", { x1: M.left, x2: W - M.right, y1: sy(t), y2: sy(t) }, grid);
      var lab = el("text", { x: M.left - 6, y: sy(t) + 4, "text-anchor": "end" }, axis);
      lab.textContent = fmt(t);
    });
    var xt = epochTicks(first, last);
    xt.forEach(function (t) {
      el("line", { x1: sx(t), x2: sx(t), y1: M.top + ph, y2: M.top + ph + 4 }, axis);
      var lab = el("text", { x: sx(t), y: M.top + ph + 16, "text-anchor": "middle", "class": "xtick" }, axis);
      lab.textContent = String(t);
    });
    el("line", { x1: M.left, x2: W - M.right, y1: M.top + ph, y2: M.top + ph }, axis);
    el("line", { x1: M.left, x2: M.left, y1: M.top, y2: M.top + ph }, axis);
    var xl = el("text", { x: M.left + pw / 2, y: H - 2, "text-anchor": "middle" }, axis);
    xl.textContent = "epoch";
    var legend = el("g", { "class": "legend" }, svg), lx = W - M.right - 170;
    series.forEach(function (s, i) {
      var g = el("g", { "class": "series " + s.kind, "data-series": s.key }, svg);
      var pts = [], n = 0, path = [];
      s.values.forEach(function (v, j) {
        var e = s.first + j;
        if (v === null || !isFinite(v)) { if (path.length) pts.push(path); path = []; return; }
        path.push(sx(e).toFixed(1) + "," + sy(v).toFixed(1));
      });
      if (path.length) pts.push(path);
      pts.forEach(function (p) { if (p.length > 1) el("polyline", { "class": "line", points: p.join(" ") }, g); });
      s.values.forEach(function (v, j) {
        if (v === null || !isFinite(v)) return;
        var c = el("circle", { "class": "point", cx: sx(s.first + j).toFixed(1), cy: sy(v).toFixed(1), r: 3,
                               "data-epoch": s.first + j, "data-value": v }, g);
        var tip = el("title", {}, c);
        tip.textContent = s.key + " epoch " + (s.first + j) + ": " + fmt(v);
        n++;
      });
      g.setAttribute("data-points", n);
      var lg = el("g", { "class": s.kind }, legend);
      el("circle", { "class": "point", cx: lx + i * 90, cy: 10, r: 3 }, lg);
      var t = el("text", { x: lx + i * 90 + 7, y: 14 }, lg);
      t.textContent = s.kind === "val" ? "validation" : "training";
    });
    return sec;
  }

  function render(data) {
    var names = Object.keys(data.metrics || {});
    var groups = [], byBase = {};
    names.forEach(function (k) {
      var base = k.replace(/^val_/, "");
      if (!byBase[base]) { byBase[base] = []; groups.push(base); }
      byBase[base].push({ key: k, kind: k.indexOf("val_") === 0 ? "val" : "train", values: data.metrics[k],
                          first: data.first_epoch || 1 });
    });
    groups.forEach(function (b) { byBase[b].sort(function (a, c) { return a.kind === "val" ? 1 : c.kind === "val" ? -1 : 0; }); });
    var first = data.first_epoch || 1;
    var seen = 0;
    names.forEach(function (k) { seen = Math.max(seen, data.metrics[k].length); });
    var last = Math.max(first + 1, data.epochs || 0, first + seen - 1);
    var main = document.getElementById("charts");
    while (main.firstChild) main.removeChild(main.firstChild);
    groups.forEach(function (b) { main.appendChild(drawChart(b, byBase[b], first, last)); });
    if (data.title) {
      document.getElementById("title").textContent = data.title;
      document.title = data.title;
    }
    var status = document.getElementById("status"), lastEpoch = first + seen - 1;
    status.className = data.done ? (data.status === "ok" && lastEpoch >= (data.epochs || 0) ? "done" : "stopped") : "running";
    status.setAttribute("data-epochs-seen", seen);
    status.textContent = seen === 0 ? (data.done ? "no epoch finished" : "waiting for the first epoch")
      : !data.done ? "epoch " + lastEpoch + " of " + data.epochs
      : data.status === "interrupted" ? "interrupted after epoch " + lastEpoch
      : data.status === "error" ? "stopped by an error after epoch " + lastEpoch
      : lastEpoch < (data.epochs || 0) ? "stopped after epoch " + lastEpoch + " of " + data.epochs
      : "finished: " + lastEpoch + " epochs";
  }

  // Called by data.js.
  window.rkerasMetrics = function (data) {
    if (data.serial !== lastSerial) {
      lastSerial = data.serial;
      render(data);
    }
    if (data.done && timer !== null) { clearInterval(timer); timer = null; }
  };

  function poll() {
    if (pending) pending.parentNode.removeChild(pending);
    pending = document.createElement("script");
    pending.src = "data.js?t=" + Date.now();
    document.head.appendChild(pending);
  }

  document.addEventListener("DOMContentLoaded", function () {
    poll();
    timer = setInterval(poll, 1000);
  });
})();
