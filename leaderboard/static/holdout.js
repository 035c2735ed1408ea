// holdout: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Countdowns: <p class="countdown" data-deadline="RFC 3339"> gets a live d h m s.
  function tick(el) {
    var target = Date.parse(el.getAttribute("data-deadline"));
    var out = el.querySelector(".countdown-value");
    if (isNaN(target) || !out) return;
    var left = Math.max(0, Math.floor((target - Date.now()) / 1000));
    var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
    var u = (el.getAttribute("data-units") || "d,h,m,s").split(",");
    out.textContent = (d ? d + u[0] + " " : "") + h + u[1] + " " + m + u[2] + " " + s + u[3];
  }
  function start() {
    var els = document.querySelectorAll(".countdown[data-deadline]");
    els.forEach(function (el) { tick(el); setInterval(function () { tick(el); }, 1000); });
    // Forms that cannot be undone ask first.
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
