// A creditor signs up, an admin approves it, and the creditor registers one claim by the form
// and two by CSV, then finds them on the list and sees the planned steps on the claim page.
import { run, check, axe, screenshot, mailLink, login, logout } from "./lib.mjs";

await run(async (browser, base, { admin, mail_dir }) => {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.click("text=Bli kund");
  await page.waitForURL(`${base}/bli-kund`);
  await axe(page, "sign-up page");
  const password = "ett långt lösenord för nina";
  await page.selectOption("#f-company_form", "aktiebolag");
  await page.fill("#f-org_nr", "556036-0793");
  await page.fill("#f-company_name", "Nya Snickarna AB");
  await page.fill("#f-street", "Verkstadsgatan 4");
  await page.fill("#f-postal_code", "411 01");
  await page.fill("#f-city", "Göteborg");
  await page.selectOption("#f-industry", "taxi");
  await page.fill("#f-contact_name", "Nina Nilsson");
  await page.fill("#f-email", "nina@snickarna.se");
  await page.fill("#f-password", password);
  await page.fill("#f-password_repeat", password);
  await page.fill("#f-bankgiro", "5050-1055");
  await page.check("#f-accept_terms");
  await page.click("#signup-form button[type=submit]");
  // A refused industry is explained on its field, and the rest of the input is kept.
  check((await page.textContent("#f-industry-error")).includes("Taxi"), "taxi refused");
  check((await page.inputValue("#f-company_name")) === "Nya Snickarna AB", "input kept");
  await axe(page, "sign-up page with errors");
  await page.selectOption("#f-industry", "bygg");
  await page.fill("#f-password", password);
  await page.fill("#f-password_repeat", password);
  await page.click("#signup-form button[type=submit]");
  // The account is used only once the address is confirmed with the link sent to it.
  await page.waitForSelector("#signup-sent");
  await axe(page, "sign-up sent page");
  const link = await mailLink(mail_dir, "nina@snickarna.se", "/bli-kund/bekrafta?token=");
  await page.goto(link.replace("http://127.0.0.1:3000", base));
  await axe(page, "confirm page");
  await page.click("#confirm");
  await page.waitForURL(`${base}/borgenar`);
  check((await page.textContent("#creditor-status")).includes("Väntar på kundbedömning"), "pending");
  await logout(page, base);

  await login(page, base, admin.email, admin.password, "/admin");
  await page.click("nav >> text=Borgenärer");
  await page.click("text=Nya Snickarna AB");
  await axe(page, "creditor review page");
  await page.click("#approve");
  await page.waitForSelector(".flash-success");
  check((await page.textContent("#creditor-status")).includes("Godkänd"), "approved");
  await logout(page, base);

  await login(page, base, "nina@snickarna.se", password, "/borgenar");
  check((await page.textContent("#creditor-status")).includes("Godkänd"), "creditor sees approval");
  await page.click("text=Registrera en faktura");
  await axe(page, "claim form");
  await page.fill("#f-invoice_number", "F-2001");
  await page.fill("#f-capital", "4 800,00");
  await page.fill("#f-invoice_date", "2026-02-01");
  await page.fill("#f-due_date", "2026-02-28");
  await page.fill("[id='f-debtor.id_number']", "19811218-9876");
  await page.fill("[id='f-debtor.name']", "Sven Svensson");
  await page.fill("[id='f-debtor.address.street']", "Storgatan 1");
  await page.fill("[id='f-debtor.address.postal_code']", "111 22");
  await page.fill("[id='f-debtor.address.city']", "Stockholm");
  await page.click("#claim-form button[type=submit]");
  await page.waitForSelector("#planned");
  const planned = await page.textContent("#planned");
  check(planned.includes("Betalningspåminnelse skickas 2026-03-03 om betalning inte inkommit"), `planned: ${planned}`);
  check(planned.includes("Inkassokrav skickas"), "collection planned");
  check((await page.textContent("#claim-balance")).includes("kr"), "balance shown");
  await axe(page, "claim page");
  await screenshot(page, "claim");

  await page.goto(`${base}/borgenar/krav/import`);
  await axe(page, "import page");
  const csv = "fakturanummer;belopp;fakturadatum;förfallodag;galdenar_typ;person_orgnr;namn;egenskap;gatuadress;postnummer;postort\r\n" +
    "C-1;1 200,00;2026-01-15;2026-02-14;person;19811218-9876;Åsa Öberg;konsument;Kyrkgatan 3;722 11;Västerås\r\n" +
    "C-2;9 000,00;2026-01-20;2026-02-19;företag;556036-0793;Exempelbolaget AB;näringsidkare;Box 12;411 01;Göteborg\r\n";
  await page.setInputFiles("#f-file", { name: "fakturor.csv", mimeType: "text/csv", buffer: Buffer.from(csv, "latin1") });
  await page.click("text=Granska filen");
  await page.waitForSelector("#import-preview");
  check((await page.textContent("#import-preview")).includes("2 fordringar utan fel"), "preview");
  await axe(page, "import preview");
  await screenshot(page, "import-preview");
  await page.click("#import-confirm");
  await page.waitForURL(`${base}/borgenar/krav`);
  check((await page.textContent("#claim-count")).includes("3 fordringar"), "three claims listed");
  const table = await page.textContent("#claims");
  check(table.includes("Åsa Öberg") && table.includes("F-2001"), "list shows form and CSV claims");
  await axe(page, "claim list");
  await screenshot(page, "claims");
  await page.click("text=C-2");
  const steps = await page.textContent("#planned");
  check(steps.includes("Betalningspåminnelse skickas") && steps.includes("Klar för ansökan hos Kronofogden"), `C-2 plan: ${steps}`);
});
