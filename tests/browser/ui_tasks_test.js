/*
 * ui_tasks_test.js - targeted collection in the web UI (docs/ui.md,
 * docs/tasks.md), driven through Debian's chromium with playwright-core:
 * a responder signs in, opens a host's page, orders a snapshot with the
 * "collect" form, lands on the task's page and sees the host's state
 * change (the fake agent of tests/integration/test_ui.py answers START
 * with "running") without reloading; the tasks list shows the task; a
 * viewer sees the task pages but no form and no cancel button.  Any
 * console error, page error, failed request or HTTP error fails the run.
 * Environment (set by test_ui.py):
 *
 *   PICKET_UI_URL, PICKET_UI_HUB_CERT   as for ui_test.js
 *   PICKET_UI_RESPONDER, PICKET_UI_VIEWER  tokens
 *   PICKET_UI_HOST     the connected (fake) agent's id
 *
 * Exit 0 when every step passed; 1 with the failing step otherwise.
 */
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { chromium } = require('playwright-core');

const env = (k) => {
	const v = process.env[k];
	if (!v)
		throw new Error(`${k} is not set`);
	return v;
};
const URL_ = env('PICKET_UI_URL');
const RESPONDER = env('PICKET_UI_RESPONDER');
const VIEWER = env('PICKET_UI_VIEWER');
const HOST = env('PICKET_UI_HOST');

function spkiPin(pemPath) {
	const cert = new crypto.X509Certificate(fs.readFileSync(pemPath));
	const der = cert.publicKey.export({ type: 'spki', format: 'der' });
	return crypto.createHash('sha256').update(der).digest('base64');
}

let stepName = 'start';
const problems = [];
function step(name) {
	stepName = name;
	console.log(name);
}

function watch(page) {
	page.on('console', (m) => {
		if (m.type() === 'error')
			problems.push(`console error: ${m.text()}`);
	});
	page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	page.on('requestfailed', (r) => problems.push(`request failed: ` +
	    `${r.method()} ${r.url()}`));
	page.on('request', (r) => {
		if (r.url().includes(RESPONDER) || r.url().includes(VIEWER))
			problems.push(`a token in a URL: ${r.url()}`);
	});
	page.on('response', (r) => {
		if (r.status() >= 400)
			problems.push(`HTTP ${r.status()}: ${r.url()}`);
	});
}

async function login(page, tok) {
	await page.locator('#login').waitFor({ state: 'visible' });
	await page.fill('#token', tok);
	await page.click('#login-form button[type=submit]');
	await page.locator('#nav').waitFor({ state: 'visible' });
}

async function main() {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-background-networking',
		    '--disable-component-update', '--disable-sync',
		    '--ignore-certificate-errors-spki-list=' +
		    spkiPin(env('PICKET_UI_HUB_CERT'))],
	});
	try {
		const ctx = await browser.newContext();
		ctx.setDefaultTimeout(15000);
		const page = await ctx.newPage();
		watch(page);

		step('responder: sign in, open the host page');
		await page.goto(URL_);
		await login(page, RESPONDER);
		await page.goto(URL_ + '#/hosts/' + encodeURIComponent(HOST));
		await page.locator('#page-hosts #collect').waitFor();

		step('order a snapshot with the collect form');
		await page.selectOption('#collect-type', 'snapshot');
		await page.click('#collect button[type=submit]');
		await page.waitForFunction(() =>
		    /^#\/tasks\/\d+$/.test(location.hash));
		const id = /(\d+)$/.exec(await page.evaluate(() =>
		    location.hash))[1];
		await page.locator('#task-hosts').waitFor();
		const spec = await page.locator('#task-spec').innerText();
		assert.ok(spec.includes('"type":"snapshot"'), spec);

		step('the host\'s state goes to running by itself');
		await page.locator(`#task-hosts tr[data-agent="${HOST}"] ` +
		    '.state-running').waitFor({ timeout: 10000 });
		await page.locator('#cancel').waitFor();

		step('the tasks list shows it');
		await page.click('#nav a[data-page=tasks]');
		await page.locator('#tasks').waitFor();
		const list = await page.locator('#tasks tbody').innerText();
		assert.ok(list.includes('snapshot'), list);
		assert.ok(await page.locator(`#tasks a[href="#/tasks/${id}"]`)
		    .count() === 1);

		step('viewer: task pages, but no form and no cancel');
		await page.click('#logout');
		await login(page, VIEWER);
		await page.goto(URL_ + '#/tasks/' + id);
		await page.locator('#task-hosts').waitFor();
		assert.equal(await page.locator('#cancel').count(), 0);
		await page.goto(URL_ + '#/hosts/' + encodeURIComponent(HOST));
		await page.locator('#page-hosts #timeline').waitFor();
		assert.equal(await page.locator('#collect').count(), 0);
		await page.goto(URL_ + '#/outbreaks');
		await page.locator('#outbreaks').waitFor();
		assert.equal(await page.locator('form.collect').count(), 0);
		assert.deepEqual(problems, []);
		console.log('ok');
	} finally {
		await browser.close();
	}
}

main().catch((e) => {
	console.log(`FAILED at "${stepName}": ${e.stack || e}`);
	if (problems.length)
		console.log(problems.join('\n'));
	process.exit(1);
});
