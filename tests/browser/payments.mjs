// An admin imports a bank file, matches the payment that had a wrong reference by hand, runs a
// settlement and approves the payout batch; every page passes axe-core.
import { run, check, axe, screenshot } from "./lib.mjs";

await run(async (browser, base, { admin, file, debtor, case_number }) => {
  const page = await browser.newPage();
  await page.goto(`${base}/logga-in`);
  await page.fill("#f-email", admin.email);
  await page.fill("#f-password", admin.password);
  await page.click("main button[type=submit]");
  await page.waitForURL(`${base}/admin`);

  await page.click("nav >> text=Betalningar");
  await page.waitForURL(`${base}/admin/betalningar`);
  await axe(page, "payments page");
  // Nothing chosen: the error is on the file field.
  await page.click("#import-bank-file");
  check((await page.textContent("#f-file-error")).includes("Välj en bankfil"), "file required");
  await page.setInputFiles("#f-file", file);
  await page.click("#import-bank-file");
  await page.waitForSelector(".flash-success");
  const flash = await page.textContent(".flash-success");
  check(flash.includes("1 kopplade med OCR") && flash.includes("1 till kön för omatchade"), `import result: ${flash}`);
  check((await page.textContent("#bank-files")).includes("camt.054"), "file listed");
  await screenshot(page, "payments");

  await page.click("#unmatched-link");
  await page.waitForURL(/omatchade/);
  await axe(page, "unmatched queue");
  await page.click("#unmatched a");
  await page.waitForURL(/\/admin\/betalningar\/[0-9a-f-]{36}$/);
  await page.fill("#f-q", debtor);
  await page.click("#claim-search");
  await page.waitForSelector("#candidates");
  await axe(page, "payment page with candidates");
  await page.click(`button[aria-label="Koppla till ärende ${case_number}"]`);
  await page.waitForSelector(".flash-success");
  check((await page.textContent("#payment-status")).includes(`ärende ${case_number}`), "matched by hand");

  await page.click("nav >> text=Avräkningar");
  await page.waitForURL(`${base}/admin/avrakningar`);
  await page.click("#run-settlements");
  await page.waitForSelector(".flash-success");
  check((await page.textContent(".flash-success")).includes("avräkning på"), "settled");
  await axe(page, "settlements page");
  await screenshot(page, "settlements");
  await page.click("#settlements a");
  await page.waitForSelector("#note-total");
  await axe(page, "settlement note");
  await page.click("text=← Avräkningar");
  await page.click("#create-batch");
  await page.waitForSelector("#batch-state");
  await page.click("#approve-batch");
  await page.waitForSelector(".flash-success");
  check((await page.textContent("#batch-state")).includes("Godkänd"), "batch approved");
  await axe(page, "payout batch page");
});
