// Shared helpers for browser flows: Debian's Chromium, headless, with the flags this machine
// needs (no background networking: the network is closed), and an axe-core check.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export async function launch() {
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

export function check(cond, message) {
  if (!cond) throw new Error(message);
}

/// Runs axe-core on the page; fails on any serious or critical violation.
export async function axe(page, label) {
  const source = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  // Evaluated over the DevTools protocol, so the page keeps its strict CSP.
  await page.evaluate(source);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `${label}: accessibility violations: ${bad.map((v) => `${v.id} (${v.nodes.length})`).join(", ")}`);
}

/// The first link in the newest mail to `to` whose text contains `marker`, from the file mailer's
/// directory; waits up to 10 s for the mail sender.
export async function mailLink(mailDir, to, marker) {
  for (let i = 0; i < 100; i++) {
    let files = [];
    try { files = readdirSync(mailDir).filter((f) => f.endsWith(".json")).sort().reverse(); } catch (_) {}
    for (const f of files) {
      const m = JSON.parse(readFileSync(`${mailDir}/${f}`, "utf8"));
      if (m.to === to && m.text.includes(marker)) {
        const line = m.text.split("\n").find((l) => l.includes(marker));
        return line.trim();
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to} with ${marker}`);
}

/// Fails when anything on the page is wider than the screen, or a table is cut off by its
/// scrolling wrapper (what a phone user would have to scroll sideways to read).
export async function fitsScreen(page, label) {
  const problems = await page.evaluate(() => {
    const out = [];
    if (document.documentElement.scrollWidth > window.innerWidth + 1) {
      out.push(`page is ${document.documentElement.scrollWidth}px wide on a ${window.innerWidth}px screen`);
    }
    for (const wrap of document.querySelectorAll(".table-wrap")) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        const t = wrap.querySelector("table");
        out.push(`table ${t && t.id ? "#" + t.id : ""} is cut off (${wrap.scrollWidth}px in ${wrap.clientWidth}px)`);
      }
    }
    return out;
  });
  check(problems.length === 0, `${label}: ${problems.join("; ")}`);
}

export async function screenshot(page, name) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
}

export async function run(flow) {
  const [base, argsJson] = process.argv.slice(2);
  const args = JSON.parse(argsJson || "{}");
  const browser = await launch();
  try {
    await flow(browser, base, args);
    console.log("browser flow ok");
  } catch (e) {
    console.error(e.stack || String(e));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

/// Logs in through the login form and waits for `home`.
export async function login(page, base, email, password, home) {
  await page.goto(`${base}/logga-in`);
  await page.fill("#f-email", email);
  await page.fill("#f-password", password);
  await page.click("main button[type=submit]");
  await page.waitForURL(`${base}${home}`);
}

export async function logout(page, base) {
  await page.click("text=Logga ut");
  await page.waitForURL(`${base}/logga-in`);
}
