// Trove's page script: progressive enhancement only; every page works
// without it. Served as a file (the CSP allows no inline script).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Buttons marked data-confirm ask before submitting their form.
  document.querySelectorAll("button[data-confirm]").forEach(function (b) {
    b.addEventListener("click", function (e) {
      if (!window.confirm(b.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });
});
