// An admin logs in with a TOTP code, sees the dashboard's charts, creates a support user, finds a
// case by personnummer, answers a ticket and lowers a fee from a future date; every page passes
// axe-core.
import { createHmac } from "node:crypto";
import { run, check, axe, screenshot } from "./lib.mjs";

/// The RFC 6238 code (SHA-1, 30-second steps, 6 digits) for `secretHex` now.
function totp(secretHex) {
  const step = Math.floor(Date.now() / 1000 / 30);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const digest = createHmac("sha1", Buffer.from(secretHex, "hex")).update(counter).digest();
  const offset = digest[19] & 0x0f;
  const bin = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 1000000).padStart(6, "0");
}

await run(async (browser, base, { admin, secret, pnr, from }) => {
  const page = await browser.newPage();
  await page.goto(`${base}/logga-in`);
  await page.fill("#f-email", admin.email);
  await page.fill("#f-password", admin.password);
  await page.click("main button[type=submit]");
  await page.waitForURL(`${base}/logga-in/tvastegs`);
  await axe(page, "TOTP step");
  await page.fill("input[name=code]", totp(secret));
  await page.click("main button[type=submit]");
  await page.waitForURL(`${base}/admin`);

  // The dashboard: three charts drawn on the server, each with a table for screen readers.
  check((await page.locator("svg.chart").count()) === 3, "three charts");
  check((await page.textContent("#chart-states table")).includes("Påminnelse") || (await page.textContent("#chart-states table")).includes("Registrerad"), "states table");
  check((await page.textContent("#engine-health")).includes("Kö"), "engine health");
  await axe(page, "dashboard");
  await screenshot(page, "admin-dashboard");

  // A support user.
  await page.click("nav >> text=Personal");
  await page.waitForURL(`${base}/admin/personal`);
  await axe(page, "staff page");
  await page.click("#staff-form button[type=submit]");
  check((await page.textContent("#f-name-error")).includes("Ange namnet"), "name required");
  await page.fill("#f-name", "Siv Support");
  await page.fill("#f-email", "siv@fordra.test");
  await page.selectOption("#f-role", "support");
  await page.click("#staff-form button[type=submit]");
  await page.waitForSelector(".flash-success");
  check((await page.textContent("#staff")).includes("siv@fordra.test"), "listed");

  // A case by personnummer.
  await page.click("nav >> text=Krav");
  await page.waitForURL(`${base}/admin/krav`);
  await page.fill("#f-q", pnr);
  await page.click("main form button[type=submit]");
  await page.waitForURL(/\/admin\/krav\?q=/);
  await axe(page, "claim search");
  await page.click("main table a");
  await page.waitForURL(/\/admin\/krav\/[0-9a-f-]{36}$/);
  await axe(page, "claim page");

  // The demo's question from the creditor: answered with the minutes it took.
  await page.click("nav >> text=Ärenden");
  await page.waitForURL(`${base}/admin/arenden`);
  await axe(page, "ticket inbox");
  await page.click("#tickets a");
  await page.waitForURL(/\/admin\/arenden\/[0-9a-f-]{36}$/);
  await axe(page, "ticket page");
  await page.check("input[name=kind][value=answer]");
  await page.fill("#f-body", "Vi ser en betalning på 500 kr den 1 december. Vi återkommer.");
  await page.fill("#f-minutes", "4");
  await page.click("#ticket-send");
  await page.waitForSelector(".flash-success");
  check((await page.textContent("#ticket-messages")).includes("Vi ser en betalning"), "answer shown");
  check((await page.textContent("#ticket-status")).includes("Väntar på svar"), "waiting for the sender");

  // A lower reminder fee from a future date: shown as coming.
  await page.click("nav >> text=Regler");
  await page.waitForURL(`${base}/admin/regler`);
  await axe(page, "rules page");
  await page.fill("#f-valid_from", from);
  await page.fill("#f-reminder_fee", "55,00");
  await page.click("#rules-save");
  await page.waitForSelector(".flash-success");
  check((await page.textContent("#rule-versions")).includes("Kommande"), "coming version listed");

  for (const path of ["/admin/texter", "/admin/texter/letter_reminder", "/admin/logg", "/admin/kronofogden"]) {
    await page.goto(`${base}${path}`);
    await axe(page, `${path} page`);
  }
  await page.goto(`${base}/admin`);
  check((await page.locator("svg.chart").count()) === 3, "charts again");
});
