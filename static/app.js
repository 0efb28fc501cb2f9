// Fordra's small progressive enhancements. Every page works without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Confirm destructive actions marked with data-confirm.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  }
});
