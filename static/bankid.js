// BankID login: polls the order every second for the fresh QR code and the message, and goes on
// when the order is complete. Without JavaScript the page refreshes itself instead.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("bankid");
  if (!root || root.dataset.status !== "pending") return;
  const message = document.getElementById("bankid-message");
  const qr = document.getElementById("bankid-qr");
  const figure = document.getElementById("bankid-qr-figure");
  const pending = document.getElementById("bankid-pending");
  const retry = document.getElementById("bankid-retry");
  let stopped = false;
  async function poll() {
    if (stopped) return;
    try {
      const resp = await fetch(root.dataset.statusUrl, { headers: { accept: "application/json" } });
      if (!resp.ok) throw new Error(String(resp.status));
      const s = await resp.json();
      if (message.textContent !== s.message) message.textContent = s.message;
      if (s.qrSvg) { qr.innerHTML = s.qrSvg; figure.hidden = false; } else { figure.hidden = true; }
      if (s.next) { stopped = true; window.location.assign(s.next); return; }
      if (s.status !== "pending") { stopped = true; pending.hidden = true; retry.hidden = false; return; }
    } catch (e) {
      // A lost poll is retried on the next tick.
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
});
