/*
 * common.js - what every browser test of picket-hub's web UI needs: its
 * environment, Debian's chromium launched through playwright-core with
 * the hub's key pinned, a page with the tests' default timeout, the step
 * log, the record of problems (console errors, page errors, failed
 * requests, HTTP errors, tokens in URLs, requests off the hub) and the
 * sign-in form.  Required as require('./common') by ui_test.js,
 * ui_tasks_test.js, ui_incidents_test.js and ui_peering_test.js, which
 * tests/integration/test_ui.py runs with NODE_PATH set to the
 * node_modules directory tests/browser/setup.sh prints: that is where
 * playwright-core is found, from this file as from theirs.
 */
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const { chromium } = require('playwright-core');

function env(k) {
	const v = process.env[k];
	if (!v)
		throw new Error(`${k} is not set`);
	return v;
}

/*
 * Trusting the test CA: Chromium on Linux takes its roots from an NSS
 * database, not from a file, so instead of --ignore-certificate-errors
 * (anything goes) we pin the hub's own public key with
 * --ignore-certificate-errors-spki-list: only a certificate carrying that
 * key is accepted despite its unknown issuer.  Playwright gives Chromium
 * a user data dir, which that switch requires.
 */
function spkiPin(pemPath) {
	const cert = new crypto.X509Certificate(fs.readFileSync(pemPath));
	const der = cert.publicKey.export({ type: 'spki', format: 'der' });
	return crypto.createHash('sha256').update(der).digest('base64');
}

/* Headless chromium ($CHROMIUM, default /usr/bin/chromium) that accepts
 * the certificate of $PICKET_UI_HUB_CERT and talks to nothing else. */
function launch() {
	return chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-background-networking',
		    '--disable-component-update', '--disable-sync',
		    '--ignore-certificate-errors-spki-list=' +
		    spkiPin(env('PICKET_UI_HUB_CERT'))],
	});
}

/* A new context and its page.  desktop: a 1366x768 window (else
 * playwright's default); downloads: the page may download files. */
async function newPage(browser, { desktop = true, downloads = false } = {}) {
	const options = {};
	if (desktop)
		options.viewport = { width: 1366, height: 768 };
	if (downloads)
		options.acceptDownloads = true;
	const ctx = await browser.newContext(options);
	ctx.setDefaultTimeout(15000);
	return ctx.newPage();
}

/*
 * One run's state: the step being taken (named in the failure message),
 * the problems recorded so far, and the refusals a step provokes on
 * purpose, allowed beforehand by (status, path).  timed: prefix each
 * step's log line with the seconds since the start.
 */
function newRun({ timed = true } = {}) {
	const run = {
		t0: Date.now(),
		stepName: 'start',
		problems: [],
		allowed: [],
	};
	run.secs = () => ((Date.now() - run.t0) / 1000).toFixed(1);
	run.step = (name) => {
		run.stepName = name;
		console.log(timed ? `[${run.secs()}s] ${name}` : name);
	};
	run.isAllowed = (status, url) => {
		const u = new URL(url);
		return run.allowed.some(([s, p]) => s === status &&
		    u.pathname === p);
	};
	return run;
}

/*
 * Record every problem on page in run.problems.  Chromium's console line
 * for an allowed refusal ("Failed to load resource: ... status of 403")
 * is matched by its URL.  Options:
 *   tokens   secrets that must never appear in a URL
 *   origin   when set, a request elsewhere is a problem (data: is not)
 *   blob     blob: URLs are the page's own downloads, handed to the
 *            browser's download manager: neither off the hub nor failed
 *   dialogs  an alert/confirm/prompt is a problem (and is dismissed)
 *   check    (url) => a problem string or null, for requests to the hub
 */
function watch(page, run, { tokens = [], origin = null, blob = false,
    dialogs = false, check = null } = {}) {
	const problems = run.problems;
	page.on('console', (m) => {
		if (m.type() !== 'error')
			return;
		const loc = m.location() || {};
		const st = /status of (\d{3})/.exec(m.text());
		if (st && loc.url && run.isAllowed(Number(st[1]), loc.url))
			return;
		problems.push(`console error: ${m.text()} (${loc.url || '?'})`);
	});
	page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	if (dialogs) {
		page.on('dialog', (d) => {
			problems.push(`a dialog opened: ${d.message()}`);
			d.dismiss().catch(() => {});
		});
	}
	page.on('requestfailed', (r) => {
		if (blob && r.url().startsWith('blob:'))
			return;
		const f = r.failure();
		problems.push(`request failed: ${r.method()} ${r.url()} ` +
		    `${f ? f.errorText : ''}`);
	});
	page.on('request', (r) => {
		const u = r.url();
		if (tokens.some((t) => u.includes(t)))
			problems.push(`a token in a URL: ${u}`);
		if (origin === null) {
			/* no origin check asked for */
		} else if (!u.startsWith(origin) && !u.startsWith('data:') &&
		    !(blob && u.startsWith('blob:'))) {
			problems.push(`request to another origin: ${u}`);
			return;
		}
		const p = check ? check(u) : null;
		if (p)
			problems.push(p);
	});
	page.on('response', (r) => {
		if (r.status() >= 400 && !run.isAllowed(r.status(), r.url()))
			problems.push(`HTTP ${r.status()}: ${r.url()}`);
	});
}

/* Type a token into the sign-in form and submit it. */
async function submitToken(page, token) {
	await page.locator('#login').waitFor({ state: 'visible' });
	await page.fill('#token', token);
	await page.click('#login-form button[type=submit]');
}

/* Sign in and wait for the navigation a signed-in user sees. */
async function login(page, token) {
	await submitToken(page, token);
	await page.locator('#nav').waitFor({ state: 'visible' });
}

/* After a form that lands on a new record's page (#/kind/ID): wait for
 * that hash and return the ID (a string).  except: an ID the page showed
 * before, which does not count. */
async function newId(page, kind, except = null) {
	await page.waitForFunction(([k, x]) => new RegExp(`^#/${k}/\\d+$`)
	    .test(location.hash) && location.hash !== `#/${k}/${x}`,
	    [kind, except]);
	return /(\d+)$/.exec(await page.evaluate(() => location.hash))[1];
}

/*
 * Run main(); on a failure print the step it failed at and the problems
 * recorded, to log (console.log or console.error), and exit 1.
 */
function runMain(run, main, { prefix = '', log = console.log,
    also = '  also: ' } = {}) {
	main().catch((e) => {
		log(`${prefix}FAILED at "${run.stepName}": ${e.stack || e}`);
		for (const p of run.problems)
			log(also + p);
		process.exit(1);
	});
}

module.exports = {
	env, spkiPin, launch, newPage, newRun, watch, submitToken, login,
	newId, runMain,
};
