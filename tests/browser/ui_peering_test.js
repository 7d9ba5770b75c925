/*
 * ui_peering_test.js - the peering pages of the web UI (docs/ui.md,
 * docs/peering.md), driven through Debian's chromium with playwright-core
 * against a hub that holds indicators another real hub pushed to it
 * (tests/integration/test_ui.py seeds them).  A responder finds every
 * shared value with its origin, kind and marking on #/shared, filters by
 * kind and by text, approves one and rejects another with the row's
 * buttons (the row then says approved / rejected and by whom); text the
 * other member chose (its name, rule ids, values) that is markup shows as
 * text: no element, no request, no dialog.  A viewer sees the same list
 * with no decision buttons, no Peers tab, and a refusal on #/peers.  An
 * admin sees the Peers tab and the peer with its policy and progress.
 * Bundles (docs/peering.md, "From shared indicators to detection"): the
 * approval makes bundle v1, which the approved row's Reached column and
 * the Bundles section show; only an admin has Roll back, which withdraws
 * v1; the Hosts page has a Bundle column.
 * Any console error, page error, failed request or HTTP error not
 * provoked on purpose fails the run.  Environment (set by test_ui.py):
 *
 *   PICKET_UI_URL, PICKET_UI_HUB_CERT   as for ui_test.js
 *   PICKET_UI_RESPONDER, PICKET_UI_VIEWER, PICKET_UI_ADMIN  tokens
 *   PICKET_UI_PEER     the sending peer's name at this hub
 *   PICKET_UI_ORIGIN   its identity's name, as the rows must show it
 *   PICKET_UI_VALUES   JSON list of the values the hub must list
 *   PICKET_UI_MARKUP   JSON list of markup strings the page must show
 *                      as text
 *   PICKET_UI_SHOTS    where shared.png and peers.png go
 *
 * Exit 0 when every step passed; 1 with the failing step otherwise.
 */
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { env, launch, newPage, newRun, watch, login, runMain } =
    require('./common');

const URL_ = env('PICKET_UI_URL');
const ORIGIN = new URL(URL_).origin;
const RESPONDER = env('PICKET_UI_RESPONDER');
const VIEWER = env('PICKET_UI_VIEWER');
const ADMIN = env('PICKET_UI_ADMIN');
const PEER = env('PICKET_UI_PEER');
const FROM = env('PICKET_UI_ORIGIN');
const VALUES = JSON.parse(env('PICKET_UI_VALUES'));
const MARKUP = JSON.parse(env('PICKET_UI_MARKUP'));
const SHOTS = process.env.PICKET_UI_SHOTS || '';

/* Refusals a step provokes on purpose go in run.allowed: (status, path). */
const run = newRun();
const { step, problems, allowed } = run;

async function logout(page) {
	await page.click('#logout');
	await page.locator('#login').waitFor({ state: 'visible' });
}

/* The shared table's rows as {id, value, kind, tlp, origin, state}. */
async function sharedRows(page) {
	await page.locator('#shared').waitFor();
	return page.$$eval('#shared tbody tr[data-id]', (trs) => trs.map((tr) => {
		const c = tr.querySelectorAll('td');
		return {
			id: tr.dataset.id,
			value: tr.querySelector('.shared-value').textContent,
			kind: c[2].textContent,
			tlp: c[3].textContent,
			origin: tr.querySelector('.shared-origin').textContent,
			peer: tr.querySelector('.shared-peer').textContent,
			state: c[8].querySelector('.state').textContent,
			text: tr.textContent,
			buttons: tr.querySelectorAll('button.decide').length,
		};
	}));
}

/* No element anywhere in the view that markup could have made. */
async function noMarkup(page) {
	const n = await page.$$eval('#view img, #view script, #view iframe, ' +
	    '#view svg image, #view [onerror], #view [onload]',
	    (els) => els.length);
	assert.equal(n, 0, 'markup from a peer became elements');
}

async function shot(page, name) {
	if (SHOTS)
		await page.screenshot({ path: path.join(SHOTS, name),
		    fullPage: true });
}

/* Navigate by hash and wait for the new page's box (the old one may be
 * the same page with other parameters). */
async function go(page, hash, sel) {
	await page.evaluate((h) => { location.hash = h; }, hash);
	await page.waitForFunction((h) => location.hash === h, hash);
	await page.locator(sel).waitFor();
	await page.waitForFunction(() =>
	    !document.getElementById('view').hasAttribute('aria-busy'));
}

async function main() {
	const browser = await launch();
	try {
		const page = await newPage(browser);
		/* Markup a peer chose must make no request: only the UI's
		 * files, the API and the page itself may be fetched. */
		watch(page, run, { tokens: [RESPONDER, VIEWER, ADMIN],
		    origin: ORIGIN, dialogs: true, check: (u) =>
		    (/^\/(ui\/|api\/v1\/|$)/.test(new URL(u).pathname) ? null :
		    `a request the markup made: ${u}`) });

		step('responder: sign in, open Shared');
		await page.goto(URL_);
		await login(page, RESPONDER);
		assert.ok(await page.locator('#nav a[data-page=shared]')
		    .isVisible());
		await page.click('#nav a[data-page=shared]');
		let rows = await sharedRows(page);

		step('every shared value is listed with its origin');
		assert.deepEqual(rows.map((r) => r.value).sort(),
		    [...VALUES].sort());
		for (const r of rows) {
			assert.equal(r.origin, FROM);
			assert.equal(r.peer, PEER);
			assert.equal(r.state, 'pending');
			assert.match(r.tlp, /^TLP:(CLEAR|GREEN|AMBER)$/);
			assert.ok(['ipv4', 'ipv6', 'domain', 'url', 'sha256',
			    'fingerprint'].includes(r.kind), r.kind);
			assert.equal(r.buttons, 2, 'approve and reject');
		}

		step('markup from the other member shows as text');
		const text = await page.locator('#shared').innerText();
		for (const m of MARKUP)
			assert.ok(text.includes(m), `not shown literally: ${m}`);
		await noMarkup(page);
		await shot(page, 'shared.png');

		step('filter by kind, then by text');
		await page.selectOption('#sh-kind', 'domain');
		await page.click('#sh-filter button[type=submit]');
		await page.waitForFunction(() =>
		    location.hash.includes('kind=domain'));
		await page.waitForFunction(() =>
		    !document.getElementById('view').hasAttribute('aria-busy'));
		const doms = await sharedRows(page);
		assert.ok(doms.length > 0 && doms.length < rows.length);
		assert.ok(doms.every((r) => r.kind === 'domain'), doms);
		const pick = doms[0].value;
		await page.selectOption('#sh-kind', '');
		await page.fill('#sh-q', pick.toUpperCase());
		await page.click('#sh-filter button[type=submit]');
		await page.waitForFunction(() => location.hash.includes('q='));
		await page.waitForFunction(() =>
		    !document.getElementById('view').hasAttribute('aria-busy'));
		const one = await sharedRows(page);
		assert.deepEqual(one.map((r) => r.value), [pick]);

		step('approve one, reject another');
		await go(page, '#/shared', '#shared');
		rows = await sharedRows(page);
		const [ra, rr] = rows;
		await page.click(`#shared tr[data-id="${ra.id}"] button.approve`);
		await page.locator(`#shared tr[data-id="${ra.id}"] ` +
		    '.shared-approved').waitFor();
		await page.click(`#shared tr[data-id="${rr.id}"] button.reject`);
		await page.locator(`#shared tr[data-id="${rr.id}"] ` +
		    '.shared-rejected').waitFor();
		rows = await sharedRows(page);
		const byId = new Map(rows.map((r) => [r.id, r]));
		assert.equal(byId.get(ra.id).state, 'approved');
		assert.match(byId.get(ra.id).text, /by ui-peer-responder/);
		assert.equal(byId.get(ra.id).buttons, 1, 'only Reject left');
		assert.equal(byId.get(rr.id).state, 'rejected');
		assert.equal(await page.locator('#nav-peers').isVisible(), false);
		await go(page, '#/shared?state=approved', '#shared');
		assert.deepEqual((await sharedRows(page)).map((r) => r.id),
		    [ra.id]);

		step('the approval made bundle v1: Reached and Bundles say so');
		await go(page, '#/shared', '#bundles');
		assert.match(await page.locator(`#shared tr[data-id="${ra.id}"] ` +
		    '.shared-reach').innerText(), /since bundle v1/);
		assert.match(await page.locator(`#shared tr[data-id="${rr.id}"] ` +
		    '.shared-reach').innerText(), /in no bundle/);
		assert.match(await page.locator(`#shared tr[data-id="${ra.id}"] ` +
		    '.shared-matches').innerText(), /no match/);
		assert.match(await page.locator('#bundles tr[data-version="1"]')
		    .innerText(), /current/);
		assert.equal(await page.locator('#bundle-rollback').count(), 0,
		    'Roll back is an admin\'s');
		await logout(page);

		step('viewer: the list, no buttons, no Peers');
		await login(page, VIEWER);
		await go(page, '#/shared', '#shared');
		rows = await sharedRows(page);
		assert.equal(rows.length, VALUES.length);
		assert.equal(await page.locator('#shared button').count(), 0);
		assert.equal(await page.locator('#shared th', { hasText:
		    'Decision' }).count(), 0);
		await noMarkup(page);
		assert.equal(await page.locator('#nav-peers').isVisible(), false);
		allowed.push([403, '/api/v1/peers']);
		await page.evaluate(() => { location.hash = '#/peers'; });
		await page.locator('#page-peers #forbidden').waitFor();
		await logout(page);

		step('admin: the Peers page');
		await login(page, ADMIN);
		await page.locator('#nav-peers').waitFor({ state: 'visible' });
		await page.click('#nav-peers');
		await page.locator('#peers').waitFor();
		const tr = page.locator(`#peers tr[data-peer="${PEER}"]`);
		await tr.waitFor();
		const recv = await tr.locator('.peer-received').innerText();
		const m = /Bundles\s+(\d+)/.exec(recv);
		assert.ok(m && Number(m[1]) >= 1, recv);
		assert.match(recv, new RegExp(`Indicators\\s+${VALUES.length}`));
		assert.match(await tr.locator('.peer-accept').innerText(),
		    /up to TLP:AMBER, waits for an analyst/);
		assert.match(await tr.locator('.peer-error').innerText(),
		    /none/);
		await noMarkup(page);
		await shot(page, 'peers.png');

		step('admin: roll back bundle v1; Hosts has a Bundle column');
		await go(page, '#/shared', '#bundles');
		await page.click('#bundle-rollback');
		await page.waitForFunction(() => {
			const tr = document.querySelector(
			    '#bundles tr[data-version="1"]');
			return tr && /withdrawn/.test(tr.textContent);
		});
		assert.match(await page.locator('#bundles tr[data-version="1"]')
		    .innerText(), /by ui-peer-admin/);
		assert.equal(await page.locator('#bundle-rollback').count(), 0,
		    'nothing left to roll back');
		await shot(page, 'bundles.png');
		await go(page, '#/hosts', '#hosts');
		assert.equal(await page.locator('#hosts th', { hasText:
		    'Bundle' }).count(), 1);
		assert.deepEqual(problems, []);
		console.log('ok');
	} finally {
		await browser.close();
	}
}

runMain(run, main, { also: '' });
