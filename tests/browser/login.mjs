// Each demo account logs in through the login form and logs out again.
import { run, check, axe, screenshot } from "./lib.mjs";

await run(async (browser, base, { accounts }) => {
  const page = await browser.newPage();
  for (const a of accounts) {
    await page.goto(`${base}/logga-in`);
    await axe(page, "login page");
    await page.fill("#f-email", a.email);
    await page.fill("#f-password", a.password);
    await page.click("button[type=submit]");
    await page.waitForURL(`${base}${a.home}`);
    check((await page.textContent("header")).includes(a.name), `${a.email}: name in header`);
    await axe(page, `${a.home} page`);
    await screenshot(page, a.home.replaceAll("/", "") || "home");
    // The partner pages: the partner's customers, and staff's list of partners.
    const more = { "/borgenar": ["/borgenar/api-nycklar", "/borgenar/webhooks", "/borgenar/kontakt"], "/partner": ["/partner/kunder", "/partner/inkassoskolan", "/partner/provision", "/partner/avtal", "/partner/api-nycklar", "/partner/webhooks", "/partner/hjalp"], "/admin": ["/admin/partner", "/admin/texter/partner", "/admin/arenden", "/admin/personal", "/admin/logg"] }[a.home] || [];
    for (const path of more) {
      await page.goto(`${base}${path}`);
      check((await page.textContent("h1")).length > 0, `${path}: a heading`);
      await axe(page, `${path} page`);
    }
    await page.click("text=Logga ut");
    await page.waitForURL(`${base}/logga-in`);
    check((await page.textContent("main")).includes("Du är nu utloggad."), "logged out message");
    await page.goto(`${base}${a.home}`);
    check(page.url().startsWith(`${base}/logga-in?next=`), `${a.home} needs login again`);
  }
  // Wrong password: a Swedish message, the e-mail kept.
  await page.goto(`${base}/logga-in`);
  await page.fill("#f-email", accounts[0].email);
  await page.fill("#f-password", "fel lösenord här");
  await page.click("button[type=submit]");
  check((await page.textContent("#login-error")).includes("Fel e-postadress eller lösenord."), "error shown");
  check((await page.inputValue("#f-email")) === accounts[0].email, "e-mail kept");
  // The partner registration form, before BankID.
  await page.goto(`${base}/partner/registrera`);
  check((await page.textContent("h1")).includes("Bli partner"), "partner registration heading");
  await axe(page, "partner registration page");
  await page.goto(`${base}/api/dokumentation`);
  check((await page.textContent("h1")).includes("API"), "API documentation heading");
  await axe(page, "API documentation");
});
