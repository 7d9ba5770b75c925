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
const { env, launch, newPage, newRun, watch, login, newId,
    runMain } =
    require('./common');

const URL_ = env('PICKET_UI_URL');
const RESPONDER = env('PICKET_UI_RESPONDER');
const VIEWER = env('PICKET_UI_VIEWER');
const HOST = env('PICKET_UI_HOST');

const run = newRun({ timed: false });
const { step, problems } = run;	/* nothing is allowed to fail here */

async function main() {
	const browser = await launch();
	try {
		const page = await newPage(browser, { desktop: false });
		watch(page, run, { tokens: [RESPONDER, VIEWER] });

		step('responder: sign in, open the host page');
		await page.goto(URL_);
		await login(page, RESPONDER);
		await page.goto(URL_ + '#/hosts/' + encodeURIComponent(HOST));
		await page.locator('#page-hosts #collect').waitFor();

		step('order a snapshot with the collect form');
		await page.selectOption('#collect-type', 'snapshot');
		await page.click('#collect button[type=submit]');
		const id = await newId(page, 'tasks');
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

runMain(run, main, { also: '' });
