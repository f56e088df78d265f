// Behaviour every dashboard page shares, kept out of the markup so the Content-Security-Policy allows no inline script:
//   <select data-autosubmit>       submits its form when changed
//   <button data-confirm="text">   asks before its form is submitted
//   <form data-once>               disables its submit buttons once sent (no double sale or double account)
"use strict";
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.dataset.autosubmit !== undefined && target.form) {
    target.form.submit();
  }
});
document.addEventListener("click", (event) => {
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
