// The dashboard as a CSM's workspace, driven in Chromium (playwright-core, the system browser):
// a CSM signs in from her token link, opens the alerts inbox, opens one of her at-risk accounts,
// snoozes its alert for 7 days, resolves another alert with a reason; the audit page (as admin)
// shows both with her name; a second CSM sees neither the account nor its alerts anywhere.
// Screenshots of every page (1400×1000) go to $ARTIFACTS. Run by scripts/steps/dashboard-browser.sh,
// which passes everything through the environment.
import { pathToFileURL } from "node:url";

// playwright-core lives in .tools/ (installed by the step), not beside this file.
const { chromium } = await import(pathToFileURL(process.env.PLAYWRIGHT_CORE ?? "playwright-core").href);

const env = (name) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set`);
    return v;
};
const BASE = env("BASE");
const ARTIFACTS = env("ARTIFACTS");
const CSM = env("CSM");
const ACCOUNT = env("ACCOUNT");
const ACCOUNT_NAME = env("ACCOUNT_NAME");
const SNOOZE_ALERT = env("SNOOZE_ALERT");
const RESOLVE_ALERT = env("RESOLVE_ALERT");

const problems = [];
const check = (ok, what) => {
    console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
    if (!ok) problems.push(what);
};

const browser = await chromium.launch({
    executablePath: env("CHROMIUM"),
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
});
const viewport = { width: 1400, height: 1000 };

async function session(token, path) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const reply = await page.goto(`${BASE}${path}${path.includes("?") ? "&" : "?"}token=${token}`);
    check(reply.ok() && !page.url().includes("token="), `sign-in link leads to ${path} without the token in the address`);
    return page;
}
const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}/${name}.png` });
const formOf = (page, alertId, action) =>
    page.locator(`form[action="/dashboard/alerts/${encodeURIComponent(alertId)}"]:has(input[name="action"][value="${action}"])`).first();

try {
    // The CSM: inbox, account, snooze, resolve.
    const csm = await session(env("CSM_TOKEN"), "/dashboard");
    await shot(csm, "csm-portfolio");
    await csm.click('header a[href="/dashboard/alerts"]');
    await shot(csm, "csm-alerts");
    check((await csm.locator(`a[href="/dashboard/accounts/${encodeURIComponent(ACCOUNT)}"]`).first().innerText()) === ACCOUNT_NAME,
        `inbox names the account (${ACCOUNT_NAME}), not its id`);
    // Her at-risk accounts, through the accounts page's filter form (the view's URL is the filter).
    await csm.click('header a[href="/dashboard/accounts"]');
    await csm.locator('#accounts-filters select[name="band"]').selectOption("at_risk");
    await Promise.all([csm.waitForURL(/band=at_risk/), csm.locator("#accounts-apply").click()]);
    await shot(csm, "csm-accounts-at-risk");
    const atRisk = await csm.locator("tr.account-row").evaluateAll((rows) => rows.map((r) => r.dataset.accountId));
    check(atRisk.includes(ACCOUNT), `her at-risk accounts (${atRisk.length}) include ${ACCOUNT}`);
    await csm.locator(`tr.account-row[data-account-id="${ACCOUNT}"] a[href="/dashboard/accounts/${encodeURIComponent(ACCOUNT)}"]`).first().click();
    await csm.waitForSelector("#open-alerts");
    await shot(csm, "csm-account");
    check((await csm.locator("#score-change").innerText()).includes("Week over week"), "account page shows the week's change");

    const snooze = formOf(csm, SNOOZE_ALERT, "snooze");
    await snooze.locator('select[name="days"]').selectOption("7");
    await snooze.locator('input[name="reason"]').fill("customer on holiday until next week");
    await Promise.all([csm.waitForURL(/notice=/), snooze.locator("button").click()]);
    const notice = await csm.locator("#notice").innerText();
    check(/Alert snoozed until \d{4}-\d{2}-\d{2}/.test(notice), `snooze notice: ${notice}`);
    check((await csm.locator("#open-alerts").innerText()).includes("customer on holiday until next week"),
        "the account page shows the snooze and its reason");
    await shot(csm, "csm-account-snoozed");

    await csm.goto(`${BASE}/dashboard/alerts`);
    const resolve = formOf(csm, RESOLVE_ALERT, "resolve");
    await resolve.locator('input[name="reason"]').fill("renewal call booked, usage recovering");
    await Promise.all([csm.waitForURL(/notice=/), resolve.locator("button").click()]);
    check((await csm.locator("#notice").innerText()).includes("Alert resolved."), "resolve notice");
    check(await formOf(csm, RESOLVE_ALERT, "resolve").count() === 0, "the resolved alert left the open inbox");
    await shot(csm, "csm-alerts-after");
    await csm.goto(`${BASE}/dashboard/alerts?status=resolved`);
    await shot(csm, "csm-alerts-resolved");

    // The admin: audit (both changes, by her) and settings.
    const admin = await session(env("ADMIN_TOKEN"), `/dashboard/audit?user=${encodeURIComponent(CSM)}`);
    const audit = await admin.locator("#audit").innerText();
    await shot(admin, "admin-audit");
    for (const action of ["alert.snoozed", "alert.resolved"]) {
        const row = audit.split("\n").find((line) => line.includes(action) && line.includes(CSM));
        check(Boolean(row), `audit shows ${action} by ${CSM}`);
    }
    check(audit.includes("renewal call booked"), "audit shows the resolution reason");
    await admin.goto(`${BASE}/dashboard/alerts`);
    await shot(admin, "admin-alerts");
    await admin.goto(`${BASE}/dashboard/settings`);
    await shot(admin, "admin-settings");
    await admin.locator('textarea[name="body"]').fill("[retention]\ndays = 3\n");
    await Promise.all([admin.waitForLoadState(), admin.locator('button[value="validate"]').click()]);
    await admin.waitForSelector("#draft-result");
    check((await admin.locator("#draft-problems").innerText()).includes("retention.days"), "settings: a bad draft names its key");
    await shot(admin, "admin-settings-validated");

    // The second CSM: neither the account nor its alerts, anywhere.
    const other = await session(env("CSM2_TOKEN"), "/dashboard");
    await shot(other, "csm2-portfolio");
    const portfolio = await other.content();
    check(!portfolio.includes(`/dashboard/accounts/${encodeURIComponent(ACCOUNT)}"`), "second CSM: the account is not on her portfolio");
    await other.goto(`${BASE}/dashboard/alerts?status=open`);
    await shot(other, "csm2-alerts");
    const inbox = await other.content();
    check(!inbox.includes(ACCOUNT_NAME) && !inbox.includes(SNOOZE_ALERT) && !inbox.includes(RESOLVE_ALERT),
        "second CSM: none of those alerts in her inbox");
    await other.goto(`${BASE}/dashboard/accounts?band=at_risk`);
    await shot(other, "csm2-accounts-at-risk");
    const theirs = await other.locator("tr.account-row").evaluateAll((rows) => rows.map((r) => r.dataset.accountId));
    check(!theirs.includes(ACCOUNT) && !atRisk.some((a) => theirs.includes(a)),
        "second CSM: none of the first CSM's at-risk accounts on her accounts page");
    const reply = await other.goto(`${BASE}/dashboard/accounts/${encodeURIComponent(ACCOUNT)}`);
    check(reply.status() === 404, `second CSM: the account URL answers 404 (got ${reply.status()})`);
    await shot(other, "csm2-account-404");
} catch (e) {
    problems.push(String(e && e.stack || e));
    console.error(e);
} finally {
    await browser.close();
}
if (problems.length) {
    console.error(`workspace: ${problems.length} problem(s)`);
    process.exit(1);
}
console.log("workspace: OK");
