// Budget grid (templates/budgets/budget_grid.html): live row, column and variance totals as
// finance types, changed cells highlighted, and a warning before leaving with unsaved changes.
// A static file, not an inline script: the Content Security Policy allows scripts from this site only.
(function () {
  const form = document.getElementById("budget-grid-form");
  if (!form) return;
  const fmt = new Intl.NumberFormat("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  const cents = (text) => { const n = parseFloat(text); return Number.isFinite(n) ? Math.round(n * 100) : 0; };
  const show = (el, c, signed) => {
    if (!el) return;
    el.textContent = fmt.format(c / 100);
    if (signed) el.classList.toggle("text-danger", c < 0);
  };
  let dirty = false;
  function recompute() {
    const columns = {};
    let grand = 0, actualTotal = 0;
    form.querySelectorAll("tr[data-month-row]").forEach((row) => {
      let total = 0;
      row.querySelectorAll("td[data-category]").forEach((td) => {
        const input = td.querySelector("input");
        const c = cents(input ? input.value : "");
        total += c;
        columns[td.dataset.category] = (columns[td.dataset.category] || 0) + c;
        if (input && !input.disabled) input.classList.toggle("changed", cents(input.value) !== cents(input.dataset.stored) || (input.value === "") !== (input.dataset.stored === ""));
      });
      const actual = cents(row.querySelector("[data-actual]").dataset.actual);
      actualTotal += actual;
      grand += total;
      show(row.querySelector("[data-month-total]"), total);
      show(row.querySelector("[data-variance]"), total - actual, true);
    });
    Object.keys(columns).forEach((col) => show(form.querySelector(`[data-category-total="${col}"]`), columns[col]));
    show(form.querySelector("[data-grand-total]"), grand);
    show(form.querySelector("[data-variance-total]"), grand - actualTotal, true);
  }
  form.addEventListener("input", (event) => {
    if (event.target.classList.contains("grid-cell")) { dirty = true; recompute(); }
  });
  form.addEventListener("submit", () => { dirty = false; });
  recompute();
  window.addEventListener("beforeunload", (event) => { if (dirty) { event.preventDefault(); event.returnValue = ""; } });
})();
