// A queued or running job (index or churn recomputation): follow it by polling its status (JSON).
(function () {
  var box = document.getElementById("job");
  if (!box) { return; }
  var labels = document.getElementById("job-labels").dataset;
  var state = document.getElementById("job-state");
  var count = document.getElementById("job-count");
  var bar = document.getElementById("job-progress");
  function show(job) {
    state.textContent = labels[job.status] || job.status;
    if (job.total) {
      count.textContent = "(" + job.done + "/" + job.total + ")";
      bar.max = job.total;
      bar.value = job.done;
    }
    if (job.status === "done") { count.textContent += " " + labels.reload; }
  }
  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        show(job);
        if (job.status === "queued" || job.status === "running") { setTimeout(poll, 3000); }
      })
      .catch(function () { setTimeout(poll, 10000); });
  }
  if (box.dataset.status === "queued" || box.dataset.status === "running") { setTimeout(poll, 2000); }
})();
