// A debtor on a phone: logs in on Mina sidor through the BankID simulator's page by clicking,
// opens the case, downloads a letter as PDF and disputes the claim with an attachment. Every page
// passes axe-core.
import { readFileSync } from "node:fs";
import { run, check, axe, screenshot, fitsScreen } from "./lib.mjs";

await run(async (browser, base, { invoice }) => {
  const phone = {
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
    acceptDownloads: true,
  };
  const context = await browser.newContext(phone);
  const page = await context.newPage();
  await page.goto(`${base}/mina-sidor`);
  await page.waitForURL(/\/mina-sidor\/logga-in/);
  await axe(page, "Mina sidor login");
  await page.click("#bankid-start");
  await page.waitForURL(/\/mina-sidor\/bankid\/[0-9a-f-]{36}$/);
  await page.waitForSelector("#bankid-message");
  await axe(page, "BankID order page");
  await screenshot(page, "mina-sidor-bankid");

  // The "BankID app": the simulator's page in another tab.
  const app = await context.newPage();
  await app.goto(`${base}/bankid-sim`);
  await app.waitForSelector("#sim-orders");
  await axe(app, "BankID simulator");
  await app.check("#sim-orders li:first-child input[value='198112189876']");
  await app.click("#sim-orders li:first-child button:has-text('Legitimera')");
  await app.waitForSelector(".flash-success");
  await app.close();

  // The login page notices by itself (it polls) and lands on Mina sidor.
  await page.waitForURL(`${base}/mina-sidor`, { timeout: 15000 });
  check((await page.textContent("h1")).includes("Mina ärenden"), "landed on Mina sidor");
  await axe(page, "Mina ärenden");
  await fitsScreen(page, "Mina ärenden");
  await screenshot(page, "mina-sidor");
  await page.click(`#cases a >> nth=0`);
  await page.waitForURL(/\/mina-sidor\/arenden\/[0-9a-f-]{36}$/);
  check((await page.textContent("h1")).includes(invoice), `case ${invoice} opened`);
  check((await page.textContent("#pay-ocr")).trim().length > 0, "payment OCR shown");
  await axe(page, "case page");
  await fitsScreen(page, "case page");
  await screenshot(page, "mina-sidor-case");

  // The exact plan is shown before it is asked for, and fits the screen.
  const caseUrl = page.url();
  await page.goto(`${caseUrl}/amorteringsplan`);
  await page.selectOption("#f-months", "6");
  await page.click("#plan-preview");
  await page.waitForSelector("#plan-schedule");
  await axe(page, "plan preview");
  await fitsScreen(page, "plan preview");
  await page.goto(caseUrl);

  // Download a letter as PDF.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click("#letters a[download] >> nth=0"),
  ]);
  const file = await download.path();
  check(readFileSync(file).subarray(0, 5).toString() === "%PDF-", "the letter downloads as a PDF");

  // Dispute it, with a PDF attachment.
  await page.click("#dispute-link");
  await page.waitForURL(/\/bestrid$/);
  await axe(page, "dispute form");
  await page.click("#dispute-submit");
  await page.waitForSelector("#f-reason-error");
  await axe(page, "dispute form with errors");
  await page.check("#reason-faulty_delivery");
  await page.fill("#f-body", "Fönstren läcker och montören har inte kommit tillbaka.");
  await page.setInputFiles("#f-attachment", {
    name: "foto.pdf",
    mimeType: "application/pdf",
    buffer: Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
  });
  await page.click("#dispute-submit");
  await page.waitForSelector(".flash-success");
  check((await page.textContent(".flash-success")).includes("automatiska steg är stoppade"), "dispute received");
  check((await page.textContent("#dispute")).includes("foto.pdf"), "attachment listed");
  check((await page.textContent("#case-next")).includes("bestridit"), "next step blocked by the dispute");
  await axe(page, "case page after dispute");

  await page.goto(`${base}/mina-sidor/mina-uppgifter`);
  await axe(page, "my data");
  await fitsScreen(page, "my data");
  await context.close();
});
