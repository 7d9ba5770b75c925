/*
 * ui_incidents_test.js - incidents and their report in the web UI
 * (docs/ui.md, docs/incidents.md), driven through Debian's chromium with
 * playwright-core against a hub holding real agents' indicators: a
 * responder opens an incident from an outbreak, finds it in the list,
 * creates a second one whose title is markup, adds a note that is markup
 * too, links a host, orders a task from the incident page, marks it
 * contained, reads the draft report, writes lessons, closes it and reads
 * the final report (figures against the JSON, one chart point per
 * bucket, the PDF download, the print style); a viewer reads the same
 * pages with no write control.  Markup from users must show as text and
 * never run: no <img> may appear, no request to its src, no dialog, no
 * CSP report.  Any console error, page error, failed request, HTTP error
 * or request off the hub fails the run.  Run by tests/integration/
 * test_ui.py, which sets:
 *
 *   PICKET_UI_URL, PICKET_UI_HUB_CERT   as for ui_test.js
 *   PICKET_UI_RESPONDER, PICKET_UI_VIEWER  tokens
 *   PICKET_UI_HOST     an agent id that reported (linked to the incident)
 *   PICKET_UI_SHOTS    directory for incident.png and report.png
 *
 * Exit 0 when every step passed; 1 with the failing step otherwise.
 */
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { env, launch, newPage, newRun, watch, login, newId,
    runMain } =
    require('./common');

const URL_ = env('PICKET_UI_URL');
const ORIGIN = new URL(URL_).origin;
const RESPONDER = env('PICKET_UI_RESPONDER');
const VIEWER = env('PICKET_UI_VIEWER');
const HOST = env('PICKET_UI_HOST');
const SHOTS = env('PICKET_UI_SHOTS');

/* What an attacker would put in a title or a note. */
const XSS_TITLE = '<img src=x onerror="window.__pwned=1"> title';
const XSS_NOTE = 'seen on ws-12 <img src=x onerror="window.__pwned=2">' +
    ' & <script>window.__pwned=3</script>';
const LESSONS = 'Block 445 at the campus edge.\nPatch MS08-067 first.';

/*
 * Problems are recorded as they happen (common.js watch()); a refusal a
 * step provokes on purpose is allowed beforehand by (status, path) in
 * run.allowed.  Besides the usual, a dialog or a request for the markup's
 * image (src=x) is a problem.
 */
const run = newRun();
const { step, problems, allowed } = run;

/* The API from inside the page, with the tab's token (for expectations
 * the test computes itself). */
async function apiJson(page, p) {
	return page.evaluate(async (u) => {
		const r = await fetch(u, { headers: { Authorization: 'Bearer ' +
		    sessionStorage.getItem('picket.token') } });
		if (!r.ok)
			throw new Error(`${u}: ${r.status}`);
		return r.json();
	}, p);
}

/* The page's formatter, written again: the figures must read so. */
function dur(s) {
	if (s === null || s === undefined)
		return 'not yet';
	const t = Math.round(Math.abs(s));
	const sign = s < 0 && t > 0 ? '−' : '';
	const two = (a, ua, b, ub) => `${a} ${ua}` + (b ? ` ${b} ${ub}` : '');
	if (t < 60)
		return `${sign}${t} s`;
	if (t < 3600)
		return sign + two(Math.floor(t / 60), 'min', t % 60, 's');
	if (t < 86400)
		return sign + two(Math.floor(t / 3600), 'h',
		    Math.floor((t % 3600) / 60), 'min');
	return sign + two(Math.floor(t / 86400), 'd',
	    Math.floor((t % 86400) / 3600), 'h');
}

async function incidentPage(page, id) {
	await page.waitForFunction((i) => location.hash === '#/incidents/' + i,
	    String(id));
	await page.locator('#page-incidents #inc-timeline').waitFor();
}

/* Wait until the incident page shows state s (after a PATCH re-render). */
async function stateIs(page, s) {
	await page.locator('#inc-state-text', { hasText: new RegExp(`^${s}$`) })
	    .waitFor();
}

async function timelineKinds(page) {
	return page.locator('#inc-timeline tbody tr').evaluateAll((rs) =>
	    rs.map((r) => r.getAttribute('data-kind')));
}

async function noMarkup(page) {
	assert.equal(await page.locator('#view img, #view script').count(), 0,
	    'user text became elements');
	assert.equal(await page.evaluate(() => window.__pwned), undefined,
	    'user text ran as script');
}

async function main() {
	fs.mkdirSync(SHOTS, { recursive: true });
	const browser = await launch();
	try {
		const page = await newPage(browser, { downloads: true });
		watch(page, run, { tokens: [RESPONDER, VIEWER], origin: ORIGIN,
		    blob: true, dialogs: true, check: (u) =>
		    (/\/x$/.test(new URL(u).pathname) ?
		    `the markup's image was requested: ${u}` : null) });

		step('responder: sign in, an outbreak of the real agents');
		await page.goto(URL_);
		await login(page, RESPONDER);
		await page.goto(URL_ + '#/outbreaks');
		await page.locator('#outbreaks tbody tr').first().waitFor();
		const obs = (await apiJson(page, '/api/v1/outbreaks')).outbreaks;
		assert.ok(obs.length >= 1, 'no outbreak');
		const ob = obs[0];
		const obValue = `${ob.kind}:${ob.key}`;

		step('open an incident from it');
		await page.locator(`button.open-incident[data-outbreak="${
		    obValue.replace(/["\\]/g, '\\$&')}"]`).click();
		const id = Number(await newId(page, 'incidents'));
		await incidentPage(page, id);
		assert.equal(await page.locator('h1 .inc-title').innerText(),
		    ob.label);
		await stateIs(page, 'open');
		const links = await page.locator('#inc-links').innerText();
		assert.ok(links.includes(obValue), links);
		const hostRows = await page.locator('#inc-hosts tbody tr[data-agent]')
		    .count();
		assert.ok(hostRows >= 2, `${hostRows} hosts in the incident`);
		assert.ok((await timelineKinds(page)).includes('opened'));

		step('it is in the list, open, with its link counted');
		await page.click('#nav a[data-page=incidents]');
		await page.locator('#incidents').waitFor();
		let row = page.locator(`#incidents tr[data-id="${id}"]`);
		assert.equal(await row.locator('.inc-title').innerText(), ob.label);
		assert.equal(await row.locator('.state').innerText(), 'open');
		assert.equal(await row.locator('td.num').last().innerText(), '1');

		step('a second incident whose title is markup: shown as text');
		await page.fill('#inc-new-title', XSS_TITLE);
		await page.fill('#inc-new-owner', 'bob');
		await page.click('#inc-new button[type=submit]');
		const id2 = Number(await newId(page, 'incidents', id));
		await incidentPage(page, id2);
		assert.equal(await page.locator('h1 .inc-title').innerText(),
		    XSS_TITLE);
		assert.equal(await page.locator('#inc-owner-text').innerText(),
		    'bob');
		await noMarkup(page);
		await page.click('#nav a[data-page=incidents]');
		await page.locator('#incidents').waitFor();
		row = page.locator(`#incidents tr[data-id="${id2}"]`);
		assert.equal(await row.locator('.inc-title').innerText(),
		    XSS_TITLE);
		assert.equal(await row.locator('td').nth(3).innerText(), 'bob');
		await noMarkup(page);

		step('the state filter');
		await page.selectOption('#inc-state', 'closed');
		await page.click('#inc-filter button[type=submit]');
		await page.waitForFunction(() => location.hash.includes(
		    'state=closed'));
		await page.locator('#incidents td.empty').waitFor();
		await page.selectOption('#inc-state', 'open');
		await page.click('#inc-filter button[type=submit]');
		await page.waitForFunction(() => location.hash.includes(
		    'state=open'));
		await page.locator(`#incidents tr[data-id="${id}"]`).waitFor();

		step('a note that is markup: on the timeline, as text');
		await page.goto(URL_ + '#/incidents/' + id);
		await incidentPage(page, id);
		await page.fill('#inc-note', XSS_NOTE);
		await page.click('#inc-note-form button[type=submit]');
		const note = page.locator('#inc-timeline tr[data-kind=note] td.text');
		await note.waitFor();
		assert.equal(await note.innerText(), XSS_NOTE);
		await noMarkup(page);

		step(`link host ${HOST}`);
		await page.selectOption('#inc-link-kind', 'host');
		await page.fill('#inc-link-value', HOST);
		await page.click('#inc-link-form button[type=submit]');
		await page.locator(`#inc-links a[href="#/hosts/${
		    encodeURIComponent(HOST)}"]`).waitFor();
		assert.ok((await timelineKinds(page)).includes('linked'));

		step('a refusal shows the hub\'s words');
		allowed.push([400, `/api/v1/incidents/${id}/links`]);
		await page.selectOption('#inc-link-kind', 'task');
		await page.fill('#inc-link-value', '999999');
		await page.click('#inc-link-form button[type=submit]');
		await page.locator('#inc-link-msg').filter({ hasText: /^400: / })
		    .waitFor();
		allowed.pop();

		step('order a snapshot for the incident\'s hosts');
		await page.selectOption('#inc-collect-type', 'snapshot');
		await page.click('#inc-collect button[type=submit]');
		const taskId = await newId(page, 'tasks');
		/*
		 * The hash names the task before its page has replaced the
		 * incident's; going back before then would leave the old
		 * incident page (without the task) in view, and incidentPage()
		 * would find it.  Wait for the task's page first.
		 */
		await page.locator('#task-hosts').waitFor();
		await page.goto(URL_ + '#/incidents/' + id);
		await incidentPage(page, id);
		assert.equal(await page.locator(`#inc-tasks a[href="#/tasks/${
		    taskId}"]`).count(), 1, 'the task is not linked');

		step('mark contained');
		await page.click('#inc-contain');
		await stateIs(page, 'contained');
		assert.ok((await timelineKinds(page)).includes('contained'));
		assert.equal(await page.locator('#inc-contain').count(), 0);

		step('the draft report while it is contained');
		await page.click('#inc-report');
		await page.locator('#report-figures').waitFor();
		await page.locator('#report-draft').waitFor();
		assert.equal(await page.locator('#fig-close .tile-n').innerText(),
		    'not yet');

		step('write lessons, then close');
		await page.goto(URL_ + '#/incidents/' + id);
		await incidentPage(page, id);
		await page.fill('#inc-lessons', LESSONS);
		await page.click('#inc-lessons-save');
		await page.waitForFunction(() => [...document.querySelectorAll(
		    '#inc-timeline tr')].some((r) => r.dataset.kind === 'lessons'));
		assert.equal(await page.inputValue('#inc-lessons'), LESSONS);
		await page.click('#inc-close');
		await stateIs(page, 'closed');
		assert.equal(await page.locator('#inc-note-form').count(), 0);
		assert.equal(await page.locator('#inc-link-form').count(), 0);
		assert.equal(await page.locator('#inc-reopen').count(), 1);
		assert.equal(await page.locator('#inc-lessons').count(), 1);
		await noMarkup(page);
		await page.screenshot({ path: path.join(SHOTS, 'incident.png'),
		    fullPage: true });

		step('the final report: figures, chart, tables');
		await page.click('#inc-report');
		await page.locator('#report-figures').waitFor();
		const rep = await apiJson(page, `/api/v1/incidents/${id}/report`);
		assert.equal(rep.final, true);
		assert.equal(await page.locator('#report-draft').count(), 0);
		const f = rep.figures;
		for (const [sel, v] of [['fig-detect', f.time_to_detect_s],
		    ['fig-task', f.time_to_first_task_s],
		    ['fig-contain', f.time_to_contain_s],
		    ['fig-close', f.time_to_close_s]]) {
			assert.notEqual(v, null, `${sel} is null`);
			assert.equal(await page.locator(`#${sel} .tile-n`)
			    .innerText(), dur(v), sel);
		}
		assert.equal(await page.locator('#fig-hosts .tile-n').innerText(),
		    String(f.hosts_affected));
		assert.ok(f.hosts_affected >= 2, f);
		const buckets = rep.hosts_over_time.cumulative.length;
		assert.equal(buckets, 48);
		assert.equal(await page.locator('#hosts-chart circle.pt').count(),
		    buckets);
		const pts = (await page.locator('#hosts-chart polyline')
		    .getAttribute('points')).trim().split(/\s+/);
		assert.equal(pts.length, buckets);
		const ys = pts.map((p) => Number(p.split(',')[1]));
		for (let i = 1; i < ys.length; i++)	/* cumulative: never down */
			assert.ok(ys[i] <= ys[i - 1] + 1e-9, `point ${i} goes down`);
		assert.ok(await page.locator('#report-detections tbody tr')
		    .count() >= 1);
		assert.equal(await page.locator('#report-lessons').innerText(),
		    LESSONS);
		const tl = await page.locator('#report-timeline').innerText();
		assert.ok(tl.includes(XSS_NOTE), 'the note is not in the report');
		assert.equal(await page.locator(`#report-tasks a[href="#/tasks/${
		    taskId}"]`).count(), 1);
		await noMarkup(page);
		await page.screenshot({ path: path.join(SHOTS, 'report.png'),
		    fullPage: true });

		step('download the PDF (fetched with the token)');
		const [dl] = await Promise.all([
			page.waitForEvent('download'),
			page.click('#report-pdf'),
		]);
		const pdf = path.join(SHOTS, 'report.pdf');
		await dl.saveAs(pdf);
		const head = fs.readFileSync(pdf).subarray(0, 5).toString('latin1');
		assert.equal(head, '%PDF-');
		assert.match(dl.suggestedFilename(), /\.pdf$/);

		step('print: no navigation, no buttons');
		await page.emulateMedia({ media: 'print' });
		assert.equal(await page.locator('header.top').isVisible(), false);
		assert.equal(await page.locator('#report-pdf').isVisible(), false);
		assert.ok(await page.locator('#hosts-chart').isVisible());
		await page.emulateMedia({ media: 'screen' });

		step('viewer: reads everything, writes nothing');
		await page.click('#logout');
		await login(page, VIEWER);
		await page.goto(URL_ + '#/incidents/' + id);
		await incidentPage(page, id);
		for (const sel of ['#inc-contain', '#inc-close', '#inc-reopen',
		    '#inc-owner-form', '#inc-note-form', '#inc-link-form',
		    '#inc-collect', '#inc-lessons'])
			assert.equal(await page.locator(sel).count(), 0, sel);
		assert.equal(await page.locator('#inc-lessons-text').innerText(),
		    LESSONS);
		await page.goto(URL_ + '#/incidents');
		await page.locator('#incidents').waitFor();
		assert.equal(await page.locator('#inc-new').count(), 0);
		await page.goto(URL_ + '#/outbreaks');
		await page.locator('#outbreaks tbody tr').first().waitFor();
		assert.equal(await page.locator('button.open-incident').count(), 0);
		await page.goto(URL_ + `#/incidents/${id}/report`);
		await page.locator('#hosts-chart').waitFor();
		await noMarkup(page);

		step('done');
		assert.deepEqual(problems, []);
	} finally {
		await browser.close();
	}
	console.log(`ui_incidents_test: all steps passed in ${run.secs()} s`);
}

runMain(run, main, { prefix: 'ui_incidents_test: ' });
