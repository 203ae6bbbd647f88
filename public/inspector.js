// Progressive enhancement for the inspector, on hydrated pages and on the plain HTML pages the
// signed-URL strategy is served as: remember whether the drawer was open, and tick countdowns.
(function () {
  "use strict";
  function remember() {
    document.querySelectorAll("details[data-remember]").forEach(function (drawer) {
      if (drawer.dataset.remembered) return;
      drawer.dataset.remembered = "1";
      var key = drawer.dataset.remember;
      try {
        if (localStorage.getItem(key) === "1") drawer.open = true;
        drawer.addEventListener("toggle", function () {
          localStorage.setItem(key, drawer.open ? "1" : "0");
        });
      } catch (e) {
        // Storage blocked (a browser without cookies or site data): the drawer still works.
      }
    });
  }
  function format(seconds) {
    if (seconds <= 0) return "expired";
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    var ss = (s < 10 ? "0" : "") + s;
    if (h > 0) return h + ":" + (m < 10 ? "0" : "") + m + ":" + ss;
    return m + ":" + ss;
  }
  function tick() {
    var now = Math.floor(Date.now() / 1000);
    document.querySelectorAll("time[data-until]").forEach(function (clock) {
      var text = format(Number(clock.dataset.until) - now);
      // The text node's data only: the server writes a marker comment beside it that hydration
      // looks for (and may not have reached yet); setting textContent would remove it.
      var node = clock.firstChild;
      if (node && node.nodeType === Node.TEXT_NODE) {
        if (node.data !== text) node.data = text;
      } else if (!node) {
        clock.appendChild(document.createTextNode(text));
      }
    });
    remember();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", tick);
  } else {
    tick();
  }
  setInterval(tick, 1000);
})();
