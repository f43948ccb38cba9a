/* Funnel builder: pick steps, window, mode, breakdown and trend; draw the chart and table
   from /api/funnel/view; keep the URL shareable; offer the CSV of /api/funnel.csv. */
(function () {
  "use strict";
  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  var T = data("fs-strings"), initial = data("fs-initial"), saved = data("fs-saved");
  var events = data("fs-events");
  var lang = document.body.getAttribute("data-lang");
  var list = document.getElementById("step-list");
  var $ = function (id) { return document.getElementById(id); };
  var timer = null, seq = 0;

  function stepSelect(value) {
    var li = document.createElement("li");
    var sel = document.createElement("select");
    sel.className = "step";
    events.forEach(function (e) {
      var o = document.createElement("option");
      o.value = e.event;
      o.textContent = e.event + " (" + e.users.toLocaleString() + ")";
      sel.appendChild(o);
    });
    if (value && !events.some(function (e) { return e.event === value; })) {
      var o = document.createElement("option");
      o.value = value; o.textContent = value; sel.appendChild(o);
    }
    if (value) sel.value = value;
    sel.addEventListener("change", schedule);
    var rm = document.createElement("button");
    rm.type = "button"; rm.textContent = "×"; rm.title = T.remove_step;
    rm.addEventListener("click", function () {
      if (list.children.length > 1) { li.remove(); schedule(); }
    });
    li.appendChild(sel); li.appendChild(rm);
    list.appendChild(li);
  }

  function setSteps(steps) {
    list.innerHTML = "";
    steps.forEach(function (s) { stepSelect(typeof s === "string" ? s : s.event); });
  }

  function params() {
    var p = new URLSearchParams();
    var steps = Array.prototype.map.call(list.querySelectorAll("select.step"), function (s) { return s.value; });
    p.set("steps", steps.join(","));
    p.set("window", $("window").value.trim() || "7d");
    p.set("mode", $("mode").value);
    if ($("by").value) p.set("by", $("by").value);
    if ($("period").value) p.set("period", $("period").value);
    return p;
  }

  function pct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%"; }
  function num(x) { return x === null || x === undefined ? "–" : Number(x).toLocaleString(); }
  function dur(s) {
    if (s === null || s === undefined) return "–";
    var sep = lang === "zh" ? "" : " ";
    var units = [[T.dur_days, 86400], [T.dur_hours, 3600], [T.dur_minutes, 60]];
    for (var i = 0; i < units.length; i++) if (s >= units[i][1]) return (s / units[i][1]).toFixed(1) + sep + units[i][0];
    return Math.round(s) + sep + T.dur_seconds;
  }

  function table(steps) {
    var head = [T.step, T.entities, T.conversion_from_start, T.ci95, T.conversion_from_previous,
                T.dropped, T.still_converting, T.median_time];
    var html = "<thead><tr>" + head.map(function (h, i) {
      return "<th class='" + (i ? "num" : "") + "'>" + esc(h) + "</th>"; }).join("") + "</tr></thead><tbody>";
    steps.forEach(function (r) {
      var cells = [esc(r.step), num(r.entities), pct(r.conversion_from_start),
                   pct(r.ci_low) + "–" + pct(r.ci_high), pct(r.conversion_from_previous),
                   num(r.dropped), num(r.still_converting), dur(r.median_seconds_from_previous)];
      html += "<tr>" + cells.map(function (c, i) { return "<td class='" + (i ? "num" : "") + "'>" + c + "</td>"; }).join("") + "</tr>";
    });
    $("steps-table").innerHTML = html + "</tbody>";
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c]; });
  }

  function run() {
    var p = params(), mine = ++seq;
    $("status").textContent = T.loading;
    $("status").className = "note";
    var csv = new URLSearchParams(p); csv.set("table", "steps");
    $("download").href = "/api/funnel.csv?" + csv.toString();
    var page = new URLSearchParams(p); page.set("lang", lang);
    history.replaceState(null, "", "/funnels?" + page.toString());
    ["en", "zh"].forEach(function (code) {  // the language switch keeps the funnel
      var link = $("lang-" + code), q = new URLSearchParams(p);
      q.set("lang", code);
      if (link) link.href = "/funnels?" + q.toString();
    });
    var q = new URLSearchParams(p); q.set("lang", lang);
    fetch("/api/funnel/view?" + q.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (res) {
        if (mine !== seq) return;
        if (!res.ok) {
          var e = res.body.error || {};
          $("status").textContent = T.error + ": " + (e.message || "") + (e.hint ? " " + e.hint : "");
          $("status").className = "error";
          return;
        }
        $("status").textContent = "";
        var charts = $("charts");
        charts.innerHTML = "";
        ["funnel", "breakdown", "trend", "time_to_convert"].forEach(function (kind) {
          var fig = res.body.figures[kind];
          if (!fig) return;
          var div = document.createElement("div");
          div.className = "chart"; div.id = "chart-" + kind;
          charts.appendChild(div);
          window.fsPlot(div, fig);
        });
        table(res.body.result.steps);
        document.body.setAttribute("data-ready", String(mine));
      })
      .catch(function (err) {
        if (mine !== seq) return;
        $("status").textContent = T.error + ": " + err;
        $("status").className = "error";
      });
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(run, 250); }

  $("add-step").addEventListener("click", function () {
    var used = Array.prototype.map.call(list.querySelectorAll("select.step"), function (s) { return s.value; });
    var next = events.filter(function (e) { return used.indexOf(e.event) < 0; })[0];
    stepSelect(next ? next.event : (events[0] || {}).event);
    schedule();
  });
  ["window", "mode", "by", "period"].forEach(function (id) { $(id).addEventListener("change", schedule); });
  $("run").addEventListener("click", run);
  var savedSel = $("saved");
  if (savedSel) savedSel.addEventListener("change", function () {
    var f = saved[savedSel.value];
    if (!f) return;
    setSteps(f.steps);
    $("window").value = f.window;
    $("mode").value = f.mode;
    $("period").value = f.period || "";
    $("by").value = (f.breakdowns && f.breakdowns[0]) || "";
    run();
  });

  if (savedSel && initial.name && saved[initial.name]) {
    savedSel.value = initial.name;
    savedSel.dispatchEvent(new Event("change"));
  } else {
    setSteps(initial.steps.length ? initial.steps : [(events[0] || {}).event]);
    run();
  }
})();
