// nsqadmin's client script: confirmation dialogs, live refresh and charts. The pages work without it.
(function () {
  "use strict";
  var REFRESH_MS = Number(document.body.getAttribute("data-refresh-ms")) || 5000;
  var charts = [];

  function drawCharts(root) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    if (typeof uPlot === "undefined") return;
    root.querySelectorAll("figure.chart[data-chart]").forEach(function (fig) {
      var spec = JSON.parse(fig.getAttribute("data-chart"));
      var holder = document.createElement("div");
      fig.appendChild(holder);
      if (spec.data[0].length < 2) {
        holder.className = "muted collecting";
        holder.textContent = "Collecting samples…";
        return;
      }
      var opts = {
        width: Math.max(300, fig.clientWidth - 16),
        height: 200,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [{}, { size: 70 }],
        series: [{}].concat(spec.series.map(function (s) {
          return { label: s.label, stroke: s.color, width: 2, spanGaps: true, fill: s.color + "22" };
        })),
      };
      charts.push(new uPlot(opts, spec.data, holder));
    });
  }

  var dialog = document.getElementById("confirm-dialog");

  function bindActions(root) {
    root.querySelectorAll("form.action[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!dialog || typeof dialog.showModal !== "function") return; // falls back to the confirmation page
        e.preventDefault();
        var post = dialog.querySelector("form");
        post.setAttribute("action", form.getAttribute("data-post"));
        post.querySelectorAll("input.extra").forEach(function (i) { i.remove(); });
        post.querySelector("input[name=action]").value = form.getAttribute("data-action");
        form.querySelectorAll("input[type=hidden]").forEach(function (i) {
          if (i.name === "confirm") return;
          var copy = document.createElement("input");
          copy.type = "hidden";
          copy.className = "extra";
          copy.name = i.name;
          copy.value = i.value;
          post.appendChild(copy);
        });
        dialog.querySelector(".question").textContent = form.getAttribute("data-confirm");
        dialog.showModal();
      });
    });
  }

  if (dialog) {
    dialog.querySelector("button[value=cancel]").addEventListener("click", function () { dialog.close(); });
  }

  // what a reload should not repeat: the action's notice and a confirmation asked without JavaScript
  var url = new URL(location.href);
  var notice = url.searchParams.has("notice");
  url.searchParams.delete("notice");
  if (notice) history.replaceState(null, "", url.pathname + url.search + url.hash);

  var liveBox = document.getElementById("live");
  var toggle = document.querySelector(".live-toggle");
  if (toggle && liveBox) {
    toggle.hidden = false;
    liveBox.checked = localStorage.getItem("nsqadmin-live") !== "off";
    liveBox.addEventListener("change", function () {
      localStorage.setItem("nsqadmin-live", liveBox.checked ? "on" : "off");
    });
  }

  var refreshes = 0;
  function refresh() {
    var busy = (dialog && dialog.open) || document.hidden || (liveBox && !liveBox.checked) ||
      (document.activeElement && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName));
    if (busy) return schedule();
    fetch(location.href, { headers: { Accept: "text/html" } })
      .then(function (res) { return res.text(); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("live-region");
        var region = document.getElementById("live-region");
        if (next && region && !(dialog && dialog.open)) {
          var kept = region.querySelector(".alert.info[role=status]");
          region.innerHTML = next.innerHTML;
          if (kept && notice) region.insertBefore(kept, region.firstChild);
          bindActions(region);
          drawCharts(region);
          document.body.setAttribute("data-refreshes", String(++refreshes));
        }
      })
      .catch(function () {})
      .then(schedule);
  }
  function schedule() { setTimeout(refresh, REFRESH_MS); }

  bindActions(document);
  drawCharts(document);
  window.addEventListener("resize", function () { drawCharts(document); });
  document.body.setAttribute("data-js", "on");
  schedule();
})();
