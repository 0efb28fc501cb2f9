// A partner registers by signing the partner agreement with BankID (clicking through the
// simulator), is approved, creates a customer and registers a claim for it (stage "register");
// after a payment and the quarter's end it downloads its commission statement as PDF (stage
// "statement"). axe runs on every page.
import { readFileSync } from "node:fs";
import { run, check, axe, screenshot, mailLink, login, logout } from "./lib.mjs";

const EMAIL = "karin@siffror.test";
const PASSWORD = "ett långt lösenord för karin";

async function register(browser, base, { admin, mail_dir }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.click("text=Bli partner");
  await page.waitForURL(`${base}/partner/registrera`);
  await axe(page, "partner registration");
  await page.fill("#f-org_nr", "556036-0793");
  await page.fill("#f-company_name", "Siffror & Co Redovisning AB");
  await page.selectOption("#f-business", "advokatbyra");
  await page.fill("#f-contact_name", "Karin Berg");
  await page.fill("#f-email", EMAIL);
  await page.fill("#f-password", PASSWORD);
  await page.fill("#f-password_repeat", PASSWORD);
  await page.fill("#f-bankgiro", "991-2346");
  await page.fill("#f-payout_reference", "Provision Fordra");
  await page.check("#f-confirm");
  await page.click("#partner-register-sign");
  // A law firm is refused on its field, with the reason.
  check((await page.textContent("#f-business-error")).includes("Advokatbyråer kan inte bli partner"), "law firm refused");
  await axe(page, "partner registration with errors");
  await page.selectOption("#f-business", "redovisning");
  await page.fill("#f-password", PASSWORD);
  await page.fill("#f-password_repeat", PASSWORD);
  await page.click("#partner-register-sign");
  await page.waitForURL(/\/partner\/registrera\/bankid\/[0-9a-f-]{36}$/);
  await page.waitForSelector("#bankid-message");
  await axe(page, "BankID signing page");

  // The "BankID app": the signatory reads the text (the agreement's version) and signs.
  const app = await context.newPage();
  await app.goto(`${base}/bankid-sim`);
  await app.waitForSelector("#sim-orders");
  check((await app.textContent("#sim-orders li:first-child")).includes("partneravtal version"), "the version is shown in the app");
  await app.click("#sim-orders li:first-child button:has-text('Skriv under')");
  await app.waitForSelector(".flash-success");
  await app.close();

  await page.waitForURL(`${base}/logga-in`, { timeout: 15000 });
  check((await page.textContent("main")).includes("Partneravtalet är underskrivet"), "signed");
  const link = await mailLink(mail_dir, EMAIL, "/bli-kund/bekrafta?token=");
  await page.goto(link.replace("http://127.0.0.1:3000", base));
  await axe(page, "confirm page");
  await page.click("#confirm");
  await page.waitForURL(`${base}/partner`);
  check((await page.textContent("#pending-note")).includes("går igenom er ansökan"), "pending until approved");
  await page.goto(`${base}/partner/avtal`);
  check((await page.textContent("#agreement-signed")).includes("med BankID"), "agreement shows the signature");
  await axe(page, "agreement page");
  await logout(page, base);

  // An admin approves the partner.
  await login(page, base, admin.email, admin.password, "/admin");
  await page.goto(`${base}/admin/partner`);
  await page.click("text=Godkänn Siffror & Co Redovisning AB");
  await page.waitForSelector(".flash-success");
  await logout(page, base);

  // The partner creates a customer and registers a claim for it.
  await login(page, base, EMAIL, PASSWORD, "/partner");
  await page.goto(`${base}/partner/kunder`);
  await page.click("#new-customer");
  await page.waitForURL(`${base}/partner/kunder/ny`);
  await axe(page, "new customer form");
  await page.fill("#f-org_nr", "556123-4567");
  await page.fill("#f-name", "Kund Bygg AB");
  await page.fill("#f-contact_name", "Kim Kund");
  await page.fill("#f-email", "kim@kundbygg.test");
  await page.click("#customer-create");
  await page.waitForURL(/\/partner\/kunder\/[0-9a-f-]{36}$/);
  await axe(page, "customer page");
  await page.click("#customer-new-claim");
  await axe(page, "claim form for a customer");
  await page.fill("#f-invoice_number", "K-100");
  await page.fill("#f-capital", "8 000,00");
  await page.fill("#f-invoice_date", "2026-01-10");
  await page.fill("#f-due_date", "2026-02-09");
  await page.check("input[name=reminder_fee_agreed]");
  await page.fill("[id='f-debtor.id_number']", "19811218-9876");
  await page.fill("[id='f-debtor.name']", "Sven Svensson");
  await page.fill("[id='f-debtor.address.street']", "Storgatan 1");
  await page.fill("[id='f-debtor.address.postal_code']", "111 22");
  await page.fill("[id='f-debtor.address.city']", "Stockholm");
  await page.click("#claim-form button[type=submit]");
  await page.waitForURL(/\/partner\/kunder\/[0-9a-f-]{36}$/);
  check((await page.textContent("#customer-claims")).includes("K-100"), "the claim is on the customer page");
  await axe(page, "customer page with a claim");
  await screenshot(page, "partner-customer");
  await page.goto(`${base}/partner/hjalp`);
  await axe(page, "help page");
  await context.close();
}

async function statement(browser, base) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await login(page, base, EMAIL, PASSWORD, "/partner");
  await page.click("nav >> text=Provision");
  await page.waitForURL(`${base}/partner/provision`);
  await axe(page, "commission dashboard");
  await screenshot(page, "partner-provision");
  await page.click("text=2026Q1");
  await page.waitForURL(`${base}/partner/provision/2026Q1`);
  check((await page.textContent("#statement-total")).includes("6,00"), "6 kr for the paid reminder fee");
  await axe(page, "statement page");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#statement-pdf")]);
  const pdf = readFileSync(await download.path());
  check(pdf.subarray(0, 4).toString() === "%PDF", "the statement downloads as PDF");
  await context.close();
}

await run(async (browser, base, args) => {
  if (args.stage === "register") await register(browser, base, args);
  else await statement(browser, base);
});
