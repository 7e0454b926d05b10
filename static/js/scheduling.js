// The day board refreshes itself every data-refresh-seconds, so a wall screen shows check-ins
// as they happen. It stops refreshing once nobody has touched the page for nearly the idle
// limit: every reload counts as activity on the server, and automatic logoff
// (IdleTimeoutMiddleware, static/js/app.js) must still happen on an unattended screen.
(function () {
  "use strict";
  var board = document.querySelector("[data-refresh-seconds]");
  if (!board) { return; }
  var every = parseInt(board.getAttribute("data-refresh-seconds"), 10) * 1000;
  var limit = parseInt(document.body.getAttribute("data-idle-timeout") || "0", 10) * 1000;
  var key = "ketaclinic-board-last-input";
  function touch() { try { sessionStorage.setItem(key, String(Date.now())); } catch (e) { /* private mode */ } }
  function lastInput() {
    try { return parseInt(sessionStorage.getItem(key) || "0", 10); } catch (e) { return Date.now(); }
  }
  if (!lastInput()) { touch(); }
  ["click", "keydown", "touchstart"].forEach(function (name) {
    document.addEventListener(name, touch, { passive: true });
  });
  setInterval(function () {
    var focused = document.activeElement;
    if (focused && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(focused.tagName)) { return; }
    if (limit && Date.now() - lastInput() > limit - 90000) { return; }
    window.location.reload();
  }, every);
})();
