// Behaviour every dashboard page shares, kept out of the markup so the Content-Security-Policy allows no inline script:
//   <select data-autosubmit>       submits its form when changed
//   <button data-confirm="text">   asks before its form is submitted
//   <form data-once>               disables its submit buttons once sent (no double sale or double account)
//   <button data-fill="#id" data-value="v">  puts v into the field #id (quick amounts)
"use strict";
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.dataset.autosubmit !== undefined && target.form) {
    target.form.submit();
  }
});
document.addEventListener("click", (event) => {
  const filler = event.target instanceof Element ? event.target.closest("[data-fill]") : null;
  const field = filler ? document.querySelector(filler.dataset.fill) : null;
  if (field instanceof HTMLInputElement) {
    field.value = filler.dataset.value;
    field.focus();
  }
  const button = event.target instanceof Element ? event.target.closest("[data-confirm]") : null;
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.once !== undefined) {
    form.querySelectorAll("button[type=submit], button:not([type])").forEach((b) => { b.disabled = true; });
  }
});
