// Live progress of a run on its admin page: poll the run's status and update the counts in
// place; reload once it has finished (to show its errors). Without JavaScript a <noscript>
// meta refresh does the same.
(function () {
  var box = document.querySelector("[data-poll]");
  if (!box) return;
  var url = box.getAttribute("data-poll");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (run) {
        if (!run) return;
        Object.keys(run.counts).forEach(function (name) {
          var cell = box.querySelector('[data-count="' + name + '"]');
          if (cell) cell.textContent = run.counts[name];
        });
        var status = box.querySelector('[data-field="status"]');
        if (status) { status.textContent = run.status; status.className = "status " + run.status; }
        if (run.status === "succeeded" || run.status === "failed") window.location.reload();
        else window.setTimeout(tick, 1000);
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 1000);
})();
