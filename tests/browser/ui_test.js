/*
 * ui_test.js - drives Debian's chromium (headless, through playwright-core)
 * through picket-hub's web UI as a SOC analyst would: sign in with a
 * viewer token, read the overview (hosts, the alerts chart), the
 * indicators a real agent just reported, filter them by rule, open one's
 * JSON, a host page, the outbreaks, find the audit page refused and its
 * tab gone, export STIX, sign out; then sign in as admin and read the
 * audit log.  Any console error, page error, failed request or HTTP error
 * we did not provoke on purpose fails the run, and so does a token seen in
 * a URL.  Screenshots of the overview and the indicators page go to
 * $PICKET_UI_SHOTS.  Run by tests/integration/test_ui.py, which starts
 * the hub and the agents and sets:
 *
 *   PICKET_UI_URL       https://localhost:PORT/
 *   PICKET_UI_VIEWER    a viewer token;  PICKET_UI_ADMIN  an admin token
 *   PICKET_UI_HUB_CERT  the hub's certificate (PEM): its key is trusted
 *   PICKET_UI_RULE      a rule id the agents reported (filtered on)
 *   PICKET_UI_HOST      an agent id that reported (its page is opened)
 *   PICKET_UI_OUTBREAK  "1" when an outbreak must be shown
 *   PICKET_UI_SHOTS     directory for the PNG screenshots
 *
 * Exit 0 when every step passed; 1 with the failing step otherwise.
 */
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { env, launch, newPage, newRun, watch, submitToken, runMain } =
    require('./common');

const URL_ = env('PICKET_UI_URL');
const ORIGIN = new URL(URL_).origin;
const VIEWER = env('PICKET_UI_VIEWER');
const ADMIN = env('PICKET_UI_ADMIN');
const RULE = env('PICKET_UI_RULE');
const HOST = env('PICKET_UI_HOST');
const SHOTS = env('PICKET_UI_SHOTS');
const WANT_OUTBREAK = process.env.PICKET_UI_OUTBREAK === '1';

/*
 * Every console error, page error, failed request and HTTP error is
 * recorded (common.js watch()); the ones a step provokes on purpose are
 * allowed by (status, path) beforehand in run.allowed.  The export's
 * blob: download is handed to the browser's download manager; nothing
 * else may fail.
 */
const run = newRun();
const { step, problems, allowed } = run;
const login = submitToken;	/* no #nav wait: a wrong token is tried */

async function rowsOf(page, id) {
	const rows = page.locator(`#${id} tbody tr`);
	await rows.first().waitFor();
	return rows;
}

async function main() {
	fs.mkdirSync(SHOTS, { recursive: true });
	const browser = await launch();
	try {
		const page = await newPage(browser, { downloads: true });
		watch(page, run, { tokens: [VIEWER, ADMIN], origin: ORIGIN,
		    blob: true });

		step('open the UI: the login form and the security headers');
		const res = await page.goto(URL_);
		assert.equal(res.status(), 200);
		const h = res.headers();
		assert.match(h['content-security-policy'], /default-src 'self'/);
		assert.match(h['content-security-policy'], /script-src 'self'/);
		assert.equal(h['x-frame-options'], 'DENY');
		assert.equal(h['x-content-type-options'], 'nosniff');
		assert.equal(h['referrer-policy'], 'no-referrer');
		await page.locator('#login').waitFor({ state: 'visible' });
		assert.equal(await page.locator('#nav').isVisible(), false);

		step('a wrong token is refused with a message');
		allowed.push([401, '/api/v1/hosts']);
		await login(page, 'pkt_' + 'x'.repeat(43));
		await page.locator('#login-msg').filter(
		    { hasText: 'did not accept' }).waitFor();
		allowed.pop();

		step('sign in as viewer: the overview');
		await login(page, VIEWER);
		await page.locator('#page-overview').waitFor();
		const tiles = await page.locator('#host-tiles').innerText();
		const online = Number(/(\d+)\s+online/.exec(tiles)[1]);
		assert.ok(online >= 1, tiles);
		const bars = page.locator('#alerts-chart rect.bar');
		assert.equal(await bars.count(), 24);
		const heights = await bars.evaluateAll((rs) =>
		    rs.map((r) => Number(r.getAttribute('height'))));
		assert.ok(heights.some((x) => x > 0), 'the chart has no bar');
		const top = await page.locator('#page-overview').innerText();
		assert.ok(top.includes(RULE), 'top rules lack ' + RULE);
		await page.screenshot({ path: path.join(SHOTS, 'overview.png'),
		    fullPage: true });

		step('indicators: rows the agents reported');
		await page.click('#nav a[data-page=indicators]');
		await page.locator('#page-indicators').waitFor();
		let rows = await rowsOf(page, 'indicators');
		const all = await rows.count();
		assert.ok(all >= 3, `only ${all} rows`);
		const hostsSeen = await page.locator('#indicators tbody')
		    .innerText();
		assert.ok(hostsSeen.includes('ws-'), 'no host names');

		step(`filter by rule ${RULE}`);
		await page.fill('#f-rule', RULE);
		await page.click('#filters button[type=submit]');
		await page.waitForFunction((r) => location.hash.includes(
		    'rule=' + encodeURIComponent(r)), RULE);
		await page.locator('#page-indicators').waitFor();
		rows = await rowsOf(page, 'indicators');
		const codes = await page.locator('#indicators tbody td:nth-child(3) code')
		    .allInnerTexts();
		assert.ok(codes.length >= 1, 'nothing for ' + RULE);
		for (const c of codes)
			assert.equal(c, RULE);
		assert.equal(await page.inputValue('#f-rule'), RULE);
		await page.screenshot({ path: path.join(SHOTS, 'indicators.png'),
		    fullPage: true });

		step('open an indicator: its JSON, as text');
		await rows.first().locator('button.link').click();
		const pre = page.locator('#detail-json');
		await pre.waitFor({ state: 'visible' });
		const shown = JSON.parse(await pre.textContent());
		assert.equal(shown.rule.id, RULE);
		assert.ok(typeof shown.picket.seq === 'number');
		assert.equal(await page.locator('#detail-json *').count(), 0,
		    'the JSON view holds elements, not text');
		await page.keyboard.press('Escape');
		await pre.waitFor({ state: 'hidden' });

		step(`hosts, then ${HOST}'s page`);
		await page.click('#nav a[data-page=hosts]');
		await page.locator('#page-hosts').waitFor();
		await rowsOf(page, 'hosts');
		await page.locator('#hosts a', { hasText: HOST }).first().click();
		await page.waitForFunction((id) => location.hash ===
		    '#/hosts/' + encodeURIComponent(id), HOST);
		await page.locator('#health').waitFor();
		const health = await page.locator('#health').innerText();
		assert.match(health, /Agent version\s+\d+\.\d+\.\d+/);
		assert.match(health, /Last seen\s+\d{4}-\d\d-\d\d/);
		const tl = await rowsOf(page, 'timeline');
		assert.ok(await tl.count() >= 1);
		const tlText = await page.locator('#timeline tbody').innerText();
		assert.ok(!/No indicator|Nothing stored/.test(tlText), tlText);
		await page.screenshot({ path: path.join(SHOTS, 'host.png'),
		    fullPage: true });

		step('outbreaks');
		await page.click('#nav a[data-page=outbreaks]');
		await page.locator('#page-outbreaks').waitFor();
		await rowsOf(page, 'outbreaks');
		if (WANT_OUTBREAK) {
			const ob = page.locator('#outbreaks tbody tr').first();
			const n = Number(await ob.locator('td.num').first()
			    .innerText());
			assert.ok(n >= 2, `outbreak on ${n} hosts`);
			assert.equal(await ob.locator('svg.spark polyline')
			    .count(), 1);
		}
		await page.screenshot({ path: path.join(SHOTS, 'outbreaks.png'),
		    fullPage: true });

		step('audit as viewer: refused, and the tab goes away');
		assert.ok(await page.locator('#nav-audit').isVisible());
		allowed.push([403, '/api/v1/audit']);
		await page.click('#nav-audit');
		await page.locator('#forbidden').filter(
		    { hasText: 'Your role cannot see this' }).waitFor();
		assert.equal(await page.locator('#nav-audit').isVisible(), false);

		step('export STIX (a download made from a Blob)');
		const [dl] = await Promise.all([
			page.waitForEvent('download'),
			page.click('#export'),
		]);
		const file = path.join(SHOTS, 'export.stix.json');
		await dl.saveAs(file);
		const bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
		assert.equal(bundle.type, 'bundle');
		assert.ok(Array.isArray(bundle.objects));
		assert.match(dl.suggestedFilename(), /^picket-stix-.*\.json$/);

		step('log out');
		await page.click('#logout');
		await page.locator('#login').waitFor({ state: 'visible' });
		assert.equal(await page.evaluate(() =>
		    sessionStorage.getItem('picket.token')), null);
		assert.equal(await page.locator('#view *').count(), 0);

		step('sign in as admin: the audit log');
		await login(page, ADMIN);
		await page.locator('#page-audit').waitFor();
		assert.ok(await page.locator('#nav-audit').isVisible());
		const audit = await page.locator('#audit tbody').innerText();
		assert.match(audit, /GET \/api\/v1\/hosts/);
		assert.match(audit, /viewer[\s\S]*403/, 'the viewer\'s 403 ' +
		    'is not in the audit log');
		await page.screenshot({ path: path.join(SHOTS, 'audit.png'),
		    fullPage: true });

		step('done');
		assert.deepEqual(problems, []);
	} finally {
		await browser.close();
	}
	console.log(`ui_test: all steps passed in ${run.secs()} s; ` +
	    `screenshots in ${SHOTS}`);
}

runMain(run, main, { prefix: 'ui_test: ', log: console.error });
