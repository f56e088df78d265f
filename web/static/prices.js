// The prices page: show the fields of the chosen kind of tariff, and paint the 24-hour TOU strip.
//   select.tariff-kind      shows fieldset.kind-<value> of its form, hides the others (their fields are not sent)
//   button[data-brush]      picks the rate the strip's cells take when clicked or dragged over
//   .hour-strip .cell       a click gives the hour the brush's rate (no brush: the next rate in turn)
"use strict";
(() => {
  const RATES = ["sharp", "peak", "flat", "valley"];
  const labels = {};
  document.querySelectorAll("button[data-brush]").forEach((b) => { labels[b.dataset.brush] = b.textContent; });

  function showKind(select) {
    select.form.querySelectorAll("fieldset[class^=kind-]").forEach((fieldset) => {
      const shown = fieldset.classList.contains(`kind-${select.value}`);
      fieldset.hidden = !shown;
      fieldset.disabled = !shown;
    });
  }
  document.querySelectorAll("select.tariff-kind").forEach((select) => {
    showKind(select);
    select.addEventListener("change", () => showKind(select));
  });

  let brush = null;
  let painting = false;
  function paint(cell, rate) {
    const input = cell.parentElement.querySelector("input");
    const next = rate || RATES[(RATES.indexOf(input.value) + 1) % RATES.length];
    input.value = next;
    cell.className = `cell rate-${next}`;
    cell.textContent = labels[next] || next;
  }
  document.querySelectorAll("button[data-brush]").forEach((button) => {
    button.addEventListener("click", () => {
      const form = button.form;
      form.querySelectorAll("button[data-brush]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      brush = button.dataset.brush;
    });
  });
  document.querySelectorAll(".hour-strip .cell").forEach((cell) => {
    cell.addEventListener("click", () => paint(cell, brush));
    cell.addEventListener("pointerdown", () => { painting = brush !== null; });
    cell.addEventListener("pointerenter", () => { if (painting) { paint(cell, brush); } });
  });
  document.addEventListener("pointerup", () => { painting = false; });
})();
