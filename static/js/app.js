// Client half of automatic logoff: warn a minute before the idle limit, then reload so the
// server (IdleTimeoutMiddleware) signs the person out and no health data stays on screen.
(function () {
  "use strict";
  var body = document.body;
  var limit = parseInt(body.getAttribute("data-idle-timeout") || "0", 10);
  if (!limit || body.getAttribute("data-signed-in") !== "true") { return; }
  var warning = document.getElementById("idle-warning");
  var stay = document.getElementById("idle-stay");
  var warnAt = Math.max(limit - 60, Math.floor(limit / 2));
  var warnTimer, endTimer;

  function schedule() {
    clearTimeout(warnTimer); clearTimeout(endTimer);
    if (warning) { warning.hidden = true; }
    warnTimer = setTimeout(function () { if (warning) { warning.hidden = false; if (stay) { stay.focus(); } } }, warnAt * 1000);
    // A little after the limit, so the server agrees the session is idle.
    endTimer = setTimeout(function () { window.location.reload(); }, (limit + 2) * 1000);
  }

  if (stay) {
    stay.addEventListener("click", function () {
      var token = document.querySelector("meta[name=csrf-token]");
      fetch(stay.getAttribute("data-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.getAttribute("content") : "" }
      }).then(schedule);
    });
  }
  schedule();
})();
