// Tenant phone and kiosk pages, kept out of the markup so the Content-Security-Policy allows no inline script:
//   <button data-amount="12.34">        fills #amount
//   <button data-print>                 prints the page
//   <body data-idle="60">               (kiosk) leaves after that many idle seconds
//   <p id="countdown" data-seconds="n"> (kiosk) counts the QR's life down, then hides #qr
//   <rect data-bar="text">             (chart) a tap shows the text in its figure's .bar-caption
//   <... id="order" data-poll="/url">   polls the order until credited or closed; data-paid-url goes there when
//                                       credited (data-reload-paid: reloads), else #state shows data-paid / data-closed
"use strict";
document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const amount = target && target.closest("[data-amount]");
  if (amount) { document.getElementById("amount").value = amount.dataset.amount; }
  if (target && target.closest("[data-print]")) { window.print(); }
});

(function idleLogout() {
  const idle = Number(document.body.dataset.idle || 0) * 1000;
  if (!idle) { return; }
  let timer;
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { location.href = "/kiosk/logout"; }, idle);
  };
  ["touchstart", "mousedown", "keydown"].forEach((e) => document.addEventListener(e, reset));
  reset();
})();

(function pollOrder() {
  const order = document.getElementById("order");
  if (!order || !order.dataset.poll) { return; }
  const state = document.getElementById("state");
  const poll = () => {
    fetch(order.dataset.poll).then((r) => r.json()).then((o) => {
      if (o.credited) {
        if (order.dataset.paidUrl) {
          location.href = order.dataset.paidUrl;
        } else if (order.dataset.reloadPaid !== undefined) {
          location.reload();  // the page, drawn again, shows the new balance and the receipt
        } else {
          state.textContent = order.dataset.paid;
        }
      } else if (o.state === "CLOSED") {
        state.textContent = order.dataset.closed;
      } else {
        setTimeout(poll, 1000);
      }
    }).catch(() => setTimeout(poll, 2000));
  };
  setTimeout(poll, Number(order.dataset.delay || 1000));
})();

// A tap on a chart's bar shows its day (or month), kWh and note in the chart's caption.
document.addEventListener("click", (event) => {
  const bar = event.target instanceof Element ? event.target.closest("[data-bar]") : null;
  const caption = bar && bar.closest("figure") && bar.closest("figure").querySelector(".bar-caption");
  if (caption) { caption.textContent = bar.dataset.bar; }
});

// The kiosk's QR page counts down to the order's expiry (seconds from the server's clock), then says so.
(function countdown() {
  const box = document.getElementById("countdown");
  if (!box) { return; }
  let left = Number(box.dataset.seconds || 0);
  const shown = box.querySelector(".left");
  const tick = () => {
    if (left <= 0) { box.textContent = box.dataset.expired; document.getElementById("qr").hidden = true; return; }
    left -= 1;
    shown.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
})();
