// The chairside session page keeps itself current without a reload: every few seconds it asks
// the state endpoint for a change token (no clinical values); when the token changes it fetches
// the server-rendered live regions (alerts, pump status, flowsheet, timeline) and swaps in the
// ones that changed. Focus and anything half-typed survive the swap: alert items are merged by
// key (existing ones are left alone), other regions are replaced only when their HTML differs,
// with field values and focus restored by id. New alerts are announced through the alerts
// region (role="alert") and the polite announcer. Polling pauses while the tab is hidden, and
// stops once nobody has touched the page for nearly the idle limit, so automatic logoff
// (IdleTimeoutMiddleware, static/js/app.js) still happens on an unattended tablet. Both fetches
// say "X-Background-Poll: 1" so the server can tell them from a person's request.
(function () {
  "use strict";
  var root = document.querySelector("[data-chairside]");
  if (!root) { return; }
  var stateUrl = root.getAttribute("data-state-url");
  var liveUrl = root.getAttribute("data-live-url");
  var every = Math.max(parseInt(root.getAttribute("data-poll-seconds") || "5", 10), 2) * 1000;
  var idleLimit = parseInt(document.body.getAttribute("data-idle-timeout") || "0", 10) * 1000;
  var announcer = document.getElementById("live-announcer");
  var stale = document.getElementById("stale-notice");
  var timer = null;
  var busy = false;
  var lastInput = Date.now();

  ["click", "keydown", "touchstart", "input"].forEach(function (name) {
    document.addEventListener(name, function () { lastInput = Date.now(); }, { passive: true });
  });

  function announce(message) {
    if (!announcer || !message) { return; }
    announcer.textContent = "";
    // A fresh text node after a tick makes screen readers read it even if it repeats.
    setTimeout(function () { announcer.textContent = message; }, 50);
  }

  function setText(selector, value) {
    var el = root.querySelector(selector);
    if (el && typeof value === "string" && el.textContent !== value) { el.textContent = value; }
  }

  // Remember what the person has typed and where the cursor is, by element id.
  function snapshot(region) {
    var values = {};
    region.querySelectorAll("input, textarea, select").forEach(function (field) {
      if (!field.id || field.type === "hidden") { return; }
      values[field.id] = (field.type === "checkbox" || field.type === "radio") ? field.checked : field.value;
    });
    region.querySelectorAll("details[id]").forEach(function (fold) { values[fold.id] = fold.open; });
    var active = document.activeElement;
    var focus = null;
    if (active && active.id && region.contains(active)) {
      focus = { id: active.id, start: active.selectionStart, end: active.selectionEnd };
    }
    return { values: values, focus: focus };
  }

  function restore(region, saved) {
    Object.keys(saved.values).forEach(function (id) {
      var field = document.getElementById(id);
      if (!field || !region.contains(field)) { return; }
      if (field.tagName === "DETAILS") { field.open = saved.values[id]; }
      else if (field.type === "checkbox" || field.type === "radio") { field.checked = saved.values[id]; }
      else { field.value = saved.values[id]; }
    });
    if (saved.focus) {
      var el = document.getElementById(saved.focus.id);
      if (el) {
        el.focus({ preventScroll: true });
        try { if (saved.focus.start !== null) { el.setSelectionRange(saved.focus.start, saved.focus.end); } } catch (e) { /* not a text field */ }
      }
    }
  }

  // Alerts: insert new items, drop acknowledged ones, leave the rest (and their forms) alone.
  function mergeKeyed(current, incoming) {
    var list = current.querySelector("[data-keyed-list]");
    var newList = incoming.querySelector("[data-keyed-list]");
    if (!list || !newList) { return []; }
    var wanted = {};
    var added = [];
    Array.prototype.forEach.call(newList.children, function (item) { wanted[item.getAttribute("data-key")] = item; });
    Array.prototype.slice.call(list.children).forEach(function (item) {
      if (!wanted[item.getAttribute("data-key")]) { item.remove(); }
    });
    var previous = null;
    Object.keys(wanted).forEach(function (key) {
      var existing = list.querySelector('[data-key="' + key + '"]');
      if (!existing) {
        existing = document.importNode(wanted[key], true);
        if (previous && previous.nextSibling) { list.insertBefore(existing, previous.nextSibling); }
        else if (previous) { list.appendChild(existing); }
        else { list.insertBefore(existing, list.firstChild); }
        var message = existing.querySelector(".alert-item__message");
        added.push(message ? message.textContent : existing.textContent);
      }
      previous = existing;
    });
    var title = current.querySelector("[data-alerts-title]");
    var newTitle = incoming.querySelector("[data-alerts-title]");
    if (title && newTitle) {
      title.textContent = newTitle.textContent;
      title.className = newTitle.className;
    }
    return added;
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var added = [];
    doc.querySelectorAll("[data-live-region]").forEach(function (incoming) {
      var current = document.getElementById(incoming.id);
      if (!current) { return; }
      if (current.hasAttribute("data-keyed")) {
        added = added.concat(mergeKeyed(current, incoming));
        return;
      }
      if (current.innerHTML === incoming.innerHTML) { return; }
      var saved = snapshot(current);
      current.innerHTML = incoming.innerHTML;
      restore(current, saved);
    });
    var marker = doc.querySelector("[data-token]");
    if (marker) { root.setAttribute("data-token", marker.getAttribute("data-token")); }
    if (added.length) { announce("New alert: " + added.join(" ")); }
  }

  function refreshRegions() {
    return fetch(liveUrl, { credentials: "same-origin", cache: "no-store", headers: { "X-Background-Poll": "1" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("live regions " + response.status); }
        return response.text();
      })
      .then(swap);
  }

  function showStale(state) {
    if (!stale || state.status === root.getAttribute("data-status")) { return; }
    var label = stale.querySelector("[data-stale-status]");
    if (label) { label.textContent = state.status_label; }
    setText("[data-status-label]", state.status_label);
    if (stale.hidden) {
      stale.hidden = false;
      announce("This session is now " + state.status_label + ". Reload the page to continue.");
    }
  }

  function poll() {
    timer = null;
    if (document.hidden || busy) { schedule(); return; }
    if (idleLimit && Date.now() - lastInput > idleLimit - 90000) { return; } // let logoff happen
    busy = true;
    fetch(stateUrl, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json", "X-Background-Poll": "1" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") === -1) { throw new Error("signed out"); }
        return response.json();
      })
      .then(function (state) {
        setText("[data-elapsed]", state.elapsed);
        setText("[data-elapsed-label]", state.elapsed_label);
        showStale(state);
        if (state.token !== root.getAttribute("data-token")) { return refreshRegions(); }
        return null;
      })
      .then(function () { busy = false; schedule(); })
      .catch(function () { busy = false; }); // signed out or offline: stop; the page says nothing stale
  }

  function schedule() {
    if (timer === null) { timer = setTimeout(poll, every); }
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      if (timer !== null) { clearTimeout(timer); timer = null; }
      lastInput = Date.now();
      poll();
    }
  });

  root.querySelectorAll("[data-reload]").forEach(function (button) {
    button.addEventListener("click", function () { window.location.reload(); });
  });

  // Pump-rate preview while a dose is typed: dose × weight ÷ concentration, to 0.1 mL/h. The
  // server computes the rate again and is the one that counts.
  root.querySelectorAll("[data-rate-preview]").forEach(function (form) {
    var weight = parseFloat(form.getAttribute("data-weight-kg"));
    var concentration = parseFloat(form.getAttribute("data-concentration"));
    var dose = form.querySelector('[name="dose_mg_per_kg_h"]');
    var output = form.querySelector("[data-rate-output]");
    if (!dose || !output || !(weight > 0) || !(concentration > 0)) { return; }
    function update() {
      var value = parseFloat(String(dose.value).replace(",", "."));
      if (!(value > 0)) { output.textContent = ""; return; }
      var rate = Math.round(value * weight / concentration * 10) / 10;
      output.textContent = value + " mg/kg/h × " + weight + " kg ÷ " + concentration + " mg/mL = " + rate.toFixed(1) + " mL/h";
    }
    dose.addEventListener("input", update);
    update();
  });

  // The page's flash messages stick to the top of the screen (the actions redirect to a
  // section further down); each gets a close button, and confirmations leave by themselves.
  document.querySelectorAll("main > .alert").forEach(function (message) {
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn btn--small btn--ghost chairside-dismiss";
    close.textContent = "Close";
    close.addEventListener("click", function () { message.hidden = true; });
    message.appendChild(close);
    if (message.classList.contains("alert--success")) {
      setTimeout(function () { message.hidden = true; }, 8000);
    }
  });

  // After a refused action the page comes back with the errors beside their fields: bring the
  // first one into view and put the cursor there.
  var invalid = root.querySelector(".field--invalid input, .field--invalid select, .field--invalid textarea");
  if (invalid) {
    var fold = invalid.closest("details");
    if (fold) { fold.open = true; }
    invalid.focus({ preventScroll: true });
    invalid.scrollIntoView({ block: "center" });
  }

  // One tap, one entry: a second tap while the first submission is on its way is ignored.
  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("data-submitting") === "true") { event.preventDefault(); return; }
    form.setAttribute("data-submitting", "true");
  });
  window.addEventListener("pageshow", function () {
    root.querySelectorAll("form[data-submitting]").forEach(function (form) { form.removeAttribute("data-submitting"); });
  });

  schedule();
})();
