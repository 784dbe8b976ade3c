// Small page behaviours that would otherwise need inline script or style, which the
// Content Security Policy forbids (settings SECURE_CSP: scripts and styles from this site only).
//
// - data-width="37.5" on a bar sets its width to 37.5 % (clamped to 0–100). Setting
//   element.style from a script file is allowed; a style="…" attribute is not.
// - data-confirm="Delete this?" on a form asks before submitting it.
// - data-check-all="initiative" on a checkbox ticks or unticks every checkbox named "initiative".
// - data-history-back on a link goes back a page (its href is the fallback), instead of a
//   javascript: URL, which the policy blocks too.
//
// Runs on page load and on every piece of content htmx swaps in.
(function () {
  "use strict";

  function applyWidths(root) {
    const bars = root.querySelectorAll ? root.querySelectorAll("[data-width]") : [];
    const all = root.matches && root.matches("[data-width]") ? [root, ...bars] : bars;
    all.forEach((bar) => {
      const value = parseFloat(bar.dataset.width);
      const width = Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : 0;
      bar.style.width = `${width}%`;
    });
  }

  document.addEventListener("DOMContentLoaded", () => applyWidths(document));
  document.addEventListener("htmx:load", (event) => applyWidths(event.target));

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("change", (event) => {
    const box = event.target;
    const name = box instanceof HTMLInputElement ? box.dataset.checkAll : undefined;
    if (name) {
      document.querySelectorAll(`input[type="checkbox"][name="${CSS.escape(name)}"]`).forEach((other) => {
        if (other.offsetParent !== null) other.checked = box.checked;  // the visible ones: table or cards
      });
    }
  });

  document.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest("a[data-history-back]") : null;
    if (link && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });
})();
