// Drives the browser-SDK page in headless Chromium with playwright-core and fails loudly on any
// problem: a page error, a refused or failed request to Vitals (CORS included), an SDK that
// reports a failed delivery. Usage: node drive.js CHROMIUM PAGE_URL SCREENSHOT
const { chromium } = require("playwright-core");

async function main() {
  const [executablePath, url, screenshot] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (process.env.DRIVE_DEBUG) console.log(`console.${m.type()}: ${m.text()}`);
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("requestfailed", (r) => {
      // Anything outside loopback (a CDN, telemetry) is not ours to reach: report it too.
      problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure() && r.failure().errorText}`);
    });
    const seen = [];
    page.on("response", async (r) => {
      seen.push(`${r.request().method()} ${r.url()} ${r.status()}`);
      if (r.status() >= 400) {
        const headers = JSON.stringify(r.request().headers());
        problems.push(`${r.url()}: HTTP ${r.status()} ${await r.text().catch(() => "")} (request headers ${headers})`);
      }
    });
    await page.goto(url);
    await page.waitForFunction(() => window.done === true, null, { timeout: 60_000 });
    const { sent, pageProblems } = await page.evaluate(() => ({ sent: window.sent, pageProblems: window.problems }));
    problems.push(...pageProblems);
    await page.screenshot({ path: screenshot });
    console.log("requests:\n  " + seen.join("\n  "));
    console.log("sent: " + sent.join(", "));
    if (sent.length !== 6) problems.push(`expected 6 calls sent, got ${sent.length}`);
  } finally {
    await browser.close();
  }
  if (problems.length) {
    console.error("PROBLEMS:\n  " + problems.join("\n  "));
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
