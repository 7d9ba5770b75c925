/*
 * app.js - the SOC web UI of picket-hub (docs/ui.md).  A single page with
 * hash routes (#/overview, #/indicators, #/hosts, #/hosts/ID,
 * #/outbreaks, #/tasks, #/tasks/ID, #/incidents, #/incidents/ID,
 * #/incidents/ID/report, #/shared, #/peers, #/audit) over the hub's
 * JSON API (docs/api.md).  #/shared lists what peer hubs shared
 * (docs/peering.md) with approve / reject for responders; #/peers is the
 * admins' view of the peers and both directions' progress.
 * A responder (or admin) also gets "collect" forms on a host's page and
 * on each outbreak that order a targeted collection (docs/tasks.md), and
 * opens, changes and annotates incidents (docs/incidents.md); the role
 * comes from /api/v1/whoami.  The
 * analyst's bearer token lives in sessionStorage (this tab only) and goes
 * in the Authorization header, never in a URL.  Everything the API
 * returns is put on the page with textContent or as attribute values of
 * nodes built here, never as HTML, and the hub's Content-Security-Policy
 * forbids inline script anyway.  No framework, no build step, nothing
 * from outside the hub: plain ES2020 served from hub/ui.
 */
'use strict';

(() => {
	const TOKEN_KEY = 'picket.token';
	const NOAUDIT_KEY = 'picket.noaudit';
	const ROLE_KEY = 'picket.role';
	const TASK_REFRESH = 2000;	/* ms between a task page's reloads */
	const CHART_ROW_CAP = 5000;	/* rows the overview reads at most */
	const API_PAGE_MAX = 1000;	/* the API's largest limit */
	const TABLE_PAGE = 50;
	const HOUR = 3600e3;
	const DAY = 24 * HOUR;

	class ApiError extends Error {
		constructor(status, message) {
			super(message);
			this.status = status;
		}
	}

	const $ = (id) => document.getElementById(id);

	/* ---------------------------------------------------- DOM helpers */

	function setAttrs(e, attrs) {
		for (const [k, v] of Object.entries(attrs || {})) {
			if (v === null || v === undefined || v === false)
				continue;
			if (k === 'class')
				e.setAttribute('class', v);
			else if (k.startsWith('on'))
				e.addEventListener(k.slice(2), v);
			else
				e.setAttribute(k, v === true ? '' : String(v));
		}
	}

	function append(e, kids) {
		for (const kid of kids.flat()) {
			if (kid === null || kid === undefined || kid === false)
				continue;
			e.append(kid instanceof Node ? kid : String(kid));
		}
		return e;
	}

	/* An HTML element; strings become text nodes, never markup. */
	function el(tag, attrs, ...kids) {
		const e = document.createElement(tag);
		setAttrs(e, attrs);
		return append(e, kids);
	}

	const SVGNS = 'http://www.w3.org/2000/svg';

	function sv(tag, attrs, ...kids) {
		const e = document.createElementNS(SVGNS, tag);
		setAttrs(e, attrs);
		return append(e, kids);
	}

	function hashLink(path, params) {
		const qs = params ? new URLSearchParams(clean(params)).toString() : '';
		return '#' + path + (qs ? '?' + qs : '');
	}

	function hostHref(id) {
		return '#/hosts/' + encodeURIComponent(id);
	}

	function setStatus(text) {
		$('status').textContent = text || '';
	}

	/* ---------------------------------------------------- formatting */

	function get(o, path) {
		for (const k of path.split('.')) {
			if (o === null || typeof o !== 'object')
				return undefined;
			o = o[k];
		}
		return o;
	}

	function str(v) {
		return v === null || v === undefined || v === '' ? '—' : String(v);
	}

	/* "2026-01-02T10:11:12.131415Z" -> "2026-01-02 10:11:12 UTC" */
	function fmtTime(iso) {
		if (typeof iso !== 'string' || iso === '')
			return '—';
		return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
	}

	function ago(iso) {
		const t = Date.parse(iso);
		if (Number.isNaN(t))
			return '';
		const s = Math.max(0, Math.round((Date.now() - t) / 1000));
		if (s < 90)
			return `${s} s ago`;
		if (s < 5400)
			return `${Math.round(s / 60)} min ago`;
		if (s < 172800)
			return `${Math.round(s / 3600)} h ago`;
		return `${Math.round(s / 86400)} d ago`;
	}

	function timeCell(iso) {
		const a = ago(iso);
		return el('time', { datetime: iso, title: a || null },
		    fmtTime(iso));
	}

	function sevBadge(n) {
		if (typeof n !== 'number')
			return el('span', {}, '—');
		const c = n >= 73 ? 'high' : n >= 47 ? 'medium' : 'low';
		return el('span', { class: `sev sev-${c}`,
		    title: `severity ${n} (${c})` }, String(n));
	}

	function onlineBadge(connected) {
		return connected ?
		    el('span', { class: 'badge on' }, 'online') :
		    el('span', { class: 'badge off' }, 'offline');
	}

	function plural(n, one, many) {
		return `${fmtNum(n)} ${n === 1 ? one : many}`;
	}

	function fmtNum(n) {
		return typeof n === 'number' ? n.toLocaleString('en') : str(n);
	}

	/* ---------------------------------------------------- the API */

	function token() {
		return sessionStorage.getItem(TOKEN_KEY);
	}

	function clean(params) {
		const out = {};
		for (const [k, v] of Object.entries(params || {}))
			if (v !== null && v !== undefined && v !== '')
				out[k] = String(v);
		return out;
	}

	/* A fetch with the token: the Response, or an ApiError thrown. */
	async function call(path, params) {
		const tok = token();
		if (!tok) {
			showLogin('');
			throw new ApiError(401, 'not signed in');
		}
		const qs = new URLSearchParams(clean(params)).toString();
		let res;
		try {
			res = await fetch(path + (qs ? '?' + qs : ''), {
				headers: { Authorization: 'Bearer ' + tok,
				    Accept: 'application/json' },
				cache: 'no-store',
				credentials: 'omit',
				referrerPolicy: 'no-referrer',
			});
		} catch (e) {
			throw new ApiError(0, 'The hub did not answer: ' +
			    e.message);
		}
		if (res.status === 401) {
			logout('The hub did not accept this token (unknown, ' +
			    'revoked or mistyped). Sign in again.');
			throw new ApiError(401, 'not signed in');
		}
		if (res.status === 403)
			throw new ApiError(403, 'Your role cannot see this.');
		if (!res.ok) {
			let msg = `${res.status} ${res.statusText}`;
			try {
				const b = await res.json();
				if (b && typeof b.error === 'string')
					msg = `${res.status}: ${b.error}`;
			} catch (e) { /* not JSON: keep the status line */ }
			throw new ApiError(res.status, msg);
		}
		return res;
	}

	async function api(path, params) {
		const res = await call(path, params);
		return res.json();
	}

	/* A JSON body sent with method (POST, PATCH): the parsed answer, or
	 * an ApiError thrown. */
	async function send(method, path, body) {
		const tok = token();
		if (!tok) {
			showLogin('');
			throw new ApiError(401, 'not signed in');
		}
		let res;
		try {
			res = await fetch(path, {
				method,
				headers: { Authorization: 'Bearer ' + tok,
				    Accept: 'application/json',
				    'Content-Type': 'application/json' },
				body: body === undefined ? '' : JSON.stringify(body),
				cache: 'no-store',
				credentials: 'omit',
				referrerPolicy: 'no-referrer',
			});
		} catch (e) {
			throw new ApiError(0, 'The hub did not answer: ' +
			    e.message);
		}
		let b = null;
		try {
			b = await res.json();
		} catch (e) { /* not JSON */ }
		if (res.status === 401) {
			logout('The hub did not accept this token. Sign in again.');
			throw new ApiError(401, 'not signed in');
		}
		if (!res.ok)
			throw new ApiError(res.status, b && b.error ?
			    `${res.status}: ${b.error}` :
			    `${res.status} ${res.statusText}`);
		return b;
	}

	const post = (path, body) => send('POST', path, body);
	const patch = (path, body) => send('PATCH', path, body);

	/* The caller's role, asked once per sign-in. */
	async function role() {
		let r = sessionStorage.getItem(ROLE_KEY);
		if (!r) {
			const w = await api('/api/v1/whoami');
			r = String(w.role || 'viewer');
			sessionStorage.setItem(ROLE_KEY, r);
		}
		return r;
	}

	async function mayOrder() {
		const r = await role();
		return r === 'responder' || r === 'admin';
	}

	/* Every page of /api/v1/indicators up to cap rows. */
	async function fetchRows(params, cap) {
		const rows = [];
		let cursor = null;
		for (;;) {
			const want = Math.min(API_PAGE_MAX, cap - rows.length);
			const page = await api('/api/v1/indicators',
			    { ...params, limit: want, cursor });
			rows.push(...page.indicators);
			cursor = page.next_cursor;
			if (!cursor)
				return { rows, cut: false };
			if (rows.length >= cap)
				return { rows, cut: true };
		}
	}

	/* ---------------------------------------------------- login */

	function showLogin(msg) {
		$('nav').hidden = true;
		$('actions').hidden = true;
		$('view').replaceChildren();
		$('login').hidden = false;
		$('login-msg').textContent = msg || '';
		$('token').value = '';
		$('token').focus();
	}

	function showApp() {
		$('login').hidden = true;
		$('nav').hidden = false;
		$('actions').hidden = false;
		$('nav-audit').hidden = sessionStorage.getItem(NOAUDIT_KEY) === '1';
		/* Peers is an admin page: its tab shows once whoami said so
		 * (a viewer asking /api/v1/peers would only earn a 403). */
		$('nav-peers').hidden = sessionStorage.getItem(ROLE_KEY) !== 'admin';
	}

	function logout(msg) {
		sessionStorage.removeItem(TOKEN_KEY);
		sessionStorage.removeItem(NOAUDIT_KEY);
		sessionStorage.removeItem(ROLE_KEY);
		renderSeq++;		/* a page still loading is dropped */
		setStatus('');
		showLogin(msg);
	}

	async function onLogin(ev) {
		ev.preventDefault();
		const t = $('token').value.trim();
		/* Header-safe and bounded; the hub decides the rest. */
		if (!/^[\x21-\x7e]{1,200}$/.test(t)) {
			$('login-msg').textContent =
			    'A token is one word of printable characters (pkt_…).';
			return;
		}
		sessionStorage.setItem(TOKEN_KEY, t);
		sessionStorage.removeItem(NOAUDIT_KEY);
		sessionStorage.removeItem(ROLE_KEY);
		try {
			await api('/api/v1/hosts');	/* is the token good? */
		} catch (e) {
			if (e.status !== 401 && e.status !== 403) {
				logout(e.message);
				return;
			}
			if (e.status === 401)
				return;		/* call() showed the message */
		}
		if (!location.hash || location.hash === '#' ||
		    location.hash === '#/')
			location.hash = '#/overview';
		render();
	}

	/* ---------------------------------------------------- export */

	async function onExport() {
		const btn = $('export');
		btn.disabled = true;
		setStatus('Exporting the STIX 2.1 bundle…');
		try {
			const res = await call('/api/v1/export/stix',
			    { since: '7d', tlp: 'green' });
			const blob = await res.blob();
			const url = URL.createObjectURL(blob);
			const day = new Date().toISOString().slice(0, 10);
			const a = el('a', { href: url,
			    download: `picket-stix-${day}.json`, hidden: true });
			document.body.append(a);
			a.click();
			a.remove();
			setTimeout(() => URL.revokeObjectURL(url), 60e3);
			setStatus(`Exported ${fmtNum(blob.size)} bytes ` +
			    `(indicators of the last 7 days, up to TLP:GREEN).`);
		} catch (e) {
			if (e.status !== 401)
				setStatus('Export failed: ' + e.message);
		} finally {
			btn.disabled = false;
		}
	}

	/* ---------------------------------------------------- detail */

	function showDetail(obj) {
		let dlg = $('detail');
		if (!dlg) {
			const close = el('button', { type: 'button',
			    class: 'close' }, 'Close');
			dlg = el('dialog', { id: 'detail',
			    'aria-labelledby': 'detail-title' },
			    el('div', { class: 'dialog-head' },
				el('h2', { id: 'detail-title' }, 'Indicator'),
				close),
			    el('pre', { id: 'detail-json', tabindex: '0' }));
			close.addEventListener('click', () => dlg.close());
			document.body.append(dlg);
		}
		$('detail-title').textContent = str(get(obj, 'rule.name')) +
		    ' — ' + str(get(obj, 'host.name'));
		$('detail-json').textContent = JSON.stringify(obj, null, 2);
		dlg.showModal();
	}

	/* ---------------------------------------------------- tables */

	function table(caption, heads, rows) {
		return el('div', { class: 'table-wrap' },
		    el('table', {},
			el('caption', {}, caption),
			el('thead', {}, el('tr', {},
			    heads.map((h) => el('th', { scope: 'col' }, h)))),
			el('tbody', {}, rows)));
	}

	function emptyRow(cols, text) {
		return el('tr', {}, el('td', { colspan: cols, class: 'empty' },
		    text));
	}

	function indicatorRow(d, withHost) {
		const open = el('button', { type: 'button', class: 'link',
		    title: 'Show the JSON' }, fmtTime(get(d, '@timestamp')));
		open.addEventListener('click', (ev) => {
			ev.stopPropagation();
			showDetail(d);
		});
		const agent = get(d, 'agent.id');
		const tr = el('tr', { class: 'clickable' },
		    el('td', {}, open),
		    withHost ? el('td', {}, agent ?
			el('a', { href: hostHref(agent) },
			    str(get(d, 'host.name'))) :
			str(get(d, 'host.name'))) : null,
		    el('td', {}, el('span', { class: 'rule-name' },
			str(get(d, 'rule.name'))), el('br'),
			el('code', {}, str(get(d, 'rule.id')))),
		    el('td', {}, sevBadge(get(d, 'event.severity'))),
		    el('td', {}, str(get(d, 'event.kind'))),
		    el('td', { class: 'num' }, fmtNum(get(d, 'picket.count'))),
		    el('td', { class: 'msg-cell' }, str(get(d, 'message'))));
		tr.addEventListener('click', (ev) => {
			if (ev.target.closest('a, button'))
				return;
			showDetail(d);
		});
		return tr;
	}

	const IND_HEADS = ['Time', 'Host', 'Rule', 'Severity', 'Kind',
	    'Count', 'Message'];

	function pager(path, params, nextCursor, hasPrev) {
		return el('nav', { class: 'pager', 'aria-label': 'Pages' },
		    hasPrev ? el('a', { href: hashLink(path,
			{ ...params, cursor: null }) }, '« First page') : null,
		    nextCursor ? el('a', { href: hashLink(path,
			{ ...params, cursor: nextCursor }), class: 'button',
			id: 'next-page' }, 'Next page »') :
			el('span', { class: 'muted' }, 'Last page'));
	}

	/* ---------------------------------------------------- overview */

	/* Bucket rows by @timestamp: per hour over 24 h or per day over 7 d,
	 * aligned to whole UTC hours or days. */
	function buckets(range) {
		const w = range === '7d' ? DAY : HOUR;
		const n = range === '7d' ? 7 : 24;
		const end = Math.ceil(Date.now() / w) * w;
		return { w, n, start: end - n * w, end };
	}

	function chart(rows, b, range) {
		const counts = new Array(b.n).fill(0);
		for (const d of rows) {
			const t = Date.parse(get(d, '@timestamp'));
			const i = Math.floor((t - b.start) / b.w);
			if (i >= 0 && i < b.n)
				counts[i]++;
		}
		const total = counts.reduce((a, c) => a + c, 0);
		const max = Math.max(1, ...counts);
		const W = 720, H = 200, L = 44, R = 8, T = 12, B = 28;
		const bw = (W - L - R) / b.n;
		const label = (i) => {
			const d = new Date(b.start + i * b.w);
			return range === '7d' ? d.toISOString().slice(5, 10) :
			    d.toISOString().slice(11, 16);
		};
		const peak = counts.indexOf(Math.max(...counts));
		const svg = sv('svg', { viewBox: `0 0 ${W} ${H}`,
		    class: 'chart', role: 'img', id: 'alerts-chart',
		    'aria-label': `${total} alerts ` +
			(range === '7d' ? 'per day over 7 days' :
			'per hour over 24 hours') +
			(total ? `; most at ${label(peak)} UTC ` +
			`(${counts[peak]})` : '') });
		/* y axis: 0, half, max */
		for (const f of [0, 0.5, 1]) {
			const y = T + (H - T - B) * (1 - f);
			svg.append(sv('line', { x1: L, x2: W - R, y1: y, y2: y,
			    class: 'grid' }));
			svg.append(sv('text', { x: L - 6, y: y + 4,
			    class: 'axis', 'text-anchor': 'end' },
			    String(Math.round(max * f))));
		}
		counts.forEach((c, i) => {
			const h = (H - T - B) * c / max;
			const x = L + i * bw;
			const until = label(i + 1);
			svg.append(sv('rect', { x: x + 1, y: T + (H - T - B) - h,
			    width: Math.max(1, bw - 2), height: h,
			    class: 'bar' },
			    sv('title', {}, `${label(i)}–${until} UTC: ${c}`)));
			const every = range === '7d' ? 1 : 3;
			if (i % every === 0)
				svg.append(sv('text', { x: x + bw / 2,
				    y: H - 10, class: 'axis',
				    'text-anchor': 'middle' }, label(i)));
		});
		return svg;
	}

	function topRules(rows) {
		const m = new Map();
		for (const d of rows) {
			const id = get(d, 'rule.id');
			if (typeof id !== 'string')
				continue;
			let r = m.get(id);
			if (!r) {
				r = { id, name: get(d, 'rule.name'), n: 0,
				    hosts: new Set(), sev: 0 };
				m.set(id, r);
			}
			r.n++;
			r.hosts.add(get(d, 'agent.id'));
			r.sev = Math.max(r.sev, get(d, 'event.severity') || 0);
		}
		return [...m.values()].sort((a, b) => b.n - a.n).slice(0, 10);
	}

	async function overview(box, q) {
		const range = q.get('range') === '7d' ? '7d' : '24h';
		const b = buckets(range);
		const since = new Date(b.start).toISOString();
		const [h, ob, got] = await Promise.all([
			api('/api/v1/hosts'),
			api('/api/v1/outbreaks', { since: range }),
			fetchRows({ kind: 'alert', since }, CHART_ROW_CAP),
		]);
		const hosts = h.hosts || [];
		const online = hosts.filter((x) => x.connected).length;
		box.append(el('h1', {}, 'Overview'));
		box.append(el('ul', { class: 'tiles', id: 'host-tiles' },
		    el('li', {}, el('span', { class: 'tile-n' }, fmtNum(online)),
			' online'),
		    el('li', {}, el('span', { class: 'tile-n' },
			fmtNum(hosts.length - online)), ' offline'),
		    el('li', {}, el('span', { class: 'tile-n' },
			fmtNum(hosts.length)), hosts.length === 1 ? ' host' :
			' hosts'),
		    el('li', {}, el('span', { class: 'tile-n' },
			fmtNum((ob.outbreaks || []).length)),
			(ob.outbreaks || []).length === 1 ? ' active outbreak' :
			' active outbreaks')));

		const other = range === '7d' ? '24h' : '7d';
		box.append(el('section', { 'aria-labelledby': 'chart-title' },
		    el('div', { class: 'section-head' },
			el('h2', { id: 'chart-title' }, range === '7d' ?
			    'Alerts per day, last 7 days (UTC)' :
			    'Alerts per hour, last 24 hours (UTC)'),
			el('a', { href: hashLink('/overview', { range: other }) },
			    other === '7d' ? 'Show 7 days' : 'Show 24 hours')),
		    chart(got.rows, b, range),
		    got.cut ? el('p', { class: 'note', id: 'chart-cut' },
			`Only the newest ${fmtNum(CHART_ROW_CAP)} alerts are ` +
			'counted; older bars are lower than they were.') :
			null));

		const top = topRules(got.rows);
		const grid = el('div', { class: 'two-col' });
		grid.append(el('section', {}, table('Top rules (alerts in ' +
		    'the chart)', ['Rule', 'Alerts', 'Hosts', 'Max severity'],
		    top.length ? top.map((r) => el('tr', {},
			el('td', {}, el('a', { href: hashLink('/indicators',
			    { rule: r.id }) }, str(r.name)), el('br'),
			    el('code', {}, r.id)),
			el('td', { class: 'num' }, fmtNum(r.n)),
			el('td', { class: 'num' }, fmtNum(r.hosts.size)),
			el('td', {}, sevBadge(r.sev)))) :
			emptyRow(4, 'No alerts in this window.'))));
		const obs = (ob.outbreaks || []).slice(0, 10);
		grid.append(el('section', {}, table('Active outbreaks',
		    ['Outbreak', 'Hosts', 'Last seen'],
		    obs.length ? obs.map((o) => el('tr', {},
			el('td', {}, el('a', { href: '#/outbreaks' },
			    str(o.label))),
			el('td', { class: 'num' }, fmtNum(o.hosts_affected)),
			el('td', {}, timeCell(o.last_seen)))) :
			emptyRow(3, 'No outbreak: nothing seen on two or ' +
			    'more hosts.'))));
		box.append(grid);
		const off = hosts.filter((x) => !x.connected);
		if (off.length)
			box.append(el('section', {}, table('Offline hosts',
			    ['Host', 'Last seen'], off.slice(0, 20).map((x) =>
				el('tr', {}, el('td', {}, el('a',
				    { href: hostHref(x.agent_id) },
				    str(x.host_name || x.agent_id))),
				    el('td', {}, timeCell(x.last_seen)))))));
	}

	/* ---------------------------------------------------- indicators */

	const FILTERS = [
		['host', 'Host', 'text', 'agent id or host name'],
		['kind', 'Kind', 'select', ''],
		['rule', 'Rule id', 'text', 'picket.scan.port'],
		['severity', 'Min severity', 'number', '0–100'],
		['since', 'Since', 'text', '24h or 2026-01-02T03:04:05Z'],
		['until', 'Until', 'text', 'RFC 3339 or duration'],
		['q', 'Text', 'search', 'in rule name or message'],
	];

	function filterForm(q) {
		const form = el('form', { class: 'filters', id: 'filters',
		    'aria-label': 'Filter indicators' });
		for (const [name, label, type, ph] of FILTERS) {
			const id = 'f-' + name;
			let input;
			if (type === 'select') {
				input = el('select', { id, name },
				    ['', 'alert', 'metric'].map((v) =>
					el('option', { value: v,
					    selected: q.get(name) === v },
					    v || 'any')));
			} else {
				input = el('input', { id, name, type,
				    placeholder: ph, autocomplete: 'off',
				    min: type === 'number' ? 0 : null,
				    max: type === 'number' ? 100 : null });
				input.value = q.get(name) || '';
			}
			form.append(el('div', { class: 'field' },
			    el('label', { for: id }, label), input));
		}
		form.append(el('div', { class: 'field buttons' },
		    el('button', { type: 'submit' }, 'Apply'),
		    el('a', { href: '#/indicators' }, 'Clear')));
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			const p = {};
			for (const [name] of FILTERS)
				p[name] = form.elements[name].value.trim();
			location.hash = hashLink('/indicators', p);
		});
		return form;
	}

	async function indicators(box, q) {
		const params = {};
		for (const [name] of FILTERS)
			params[name] = q.get(name);
		const cursor = q.get('cursor');
		box.append(el('h1', {}, 'Indicators'));
		box.append(filterForm(q));
		const page = await api('/api/v1/indicators',
		    { ...params, limit: TABLE_PAGE, cursor });
		const rows = page.indicators || [];
		box.append(table(`Indicators, newest first (${rows.length} ` +
		    'on this page; click a row for its JSON)', IND_HEADS,
		    rows.length ? rows.map((d) => indicatorRow(d, true)) :
		    emptyRow(IND_HEADS.length, 'No indicator matches.')));
		box.lastChild.querySelector('table').id = 'indicators';
		box.append(pager('/indicators', params, page.next_cursor,
		    !!cursor));
	}

	/* ---------------------------------------------------- hosts */

	/* The shared-indicator bundle a host runs (docs/peering.md): "v3",
	 * how its last report went, and a refusal's reason (agent text). */
	function bundleCell(b) {
		if (!b)
			return el('span', { class: 'muted' }, '-');
		const run = b.running ? 'v' + fmtNum(b.running) : 'none';
		return [el('span', { class: 'bundle-running' }, run), ' ',
		    el('span', { class: 'muted bundle-outcome' },
			str(b.outcome).replace('_', ' ')),
		    b.outcome === 'refused' && b.reason ? [el('br'),
			el('span', { class: 'muted' }, str(b.reason))] : null];
	}

	async function hosts(box) {
		const h = await api('/api/v1/hosts');
		const list = h.hosts || [];
		const heads = ['Agent id', 'Host name', 'Status', 'Last seen',
		    'First seen', 'Last seq', 'Dropped', 'Rejected', 'Bundle'];
		box.append(el('h1', {}, 'Hosts'));
		box.append(table(plural(list.length, 'host', 'hosts'), heads,
		    list.length ? list.map((x) => el('tr', {},
			el('td', {}, el('a', { href: hostHref(x.agent_id) },
			    x.agent_id)),
			el('td', {}, str(x.host_name)),
			el('td', {}, onlineBadge(x.connected)),
			el('td', {}, timeCell(x.last_seen), ' ',
			    el('span', { class: 'muted' }, ago(x.last_seen))),
			el('td', {}, timeCell(x.first_seen)),
			el('td', { class: 'num' }, fmtNum(x.last_seq)),
			el('td', { class: 'num' }, fmtNum(x.dropped)),
			el('td', { class: 'num' }, fmtNum(x.rejected)),
			el('td', { class: 'host-bundle' }, bundleCell(x.bundle)))) :
			emptyRow(heads.length, 'No agent has reported yet.')));
		box.lastChild.querySelector('table').id = 'hosts';
	}

	function dl(pairs) {
		return el('dl', { class: 'facts' }, pairs.flatMap(([k, v]) =>
		    [el('dt', {}, k), el('dd', {}, v)]));
	}

	function healthFacts(row, fields, none) {
		if (!row)
			return el('p', { class: 'muted' }, none);
		const det = get(row, 'picket.details') || {};
		return el('div', {},
		    el('p', {}, 'Latest report ', timeCell(get(row, '@timestamp')),
			': ', str(get(row, 'message'))),
		    dl(fields.map(([k, label]) => [label, fmtNum(det[k])])));
	}

	async function host(box, q, id) {
		const cursor = q.get('cursor');
		const one = (rule) => api('/api/v1/indicators',
		    { host: id, rule, limit: 1 });
		const [h, tl, cap, spool] = await Promise.all([
			api('/api/v1/hosts/' + encodeURIComponent(id)),
			api('/api/v1/indicators',
			    { host: id, limit: TABLE_PAGE, cursor }),
			one('picket.health.capture'),
			one('picket.health.spool'),
		]);
		const x = h.host || {};
		const rows = tl.indicators || [];
		const capRow = (cap.indicators || [])[0];
		const spoolRow = (spool.indicators || [])[0];
		const version = get(rows[0] || capRow || spoolRow,
		    'agent.version');
		box.append(el('p', { class: 'crumbs' },
		    el('a', { href: '#/hosts' }, 'Hosts'), ' / ', x.agent_id));
		box.append(el('h1', {}, str(x.host_name || x.agent_id), ' ',
		    onlineBadge(x.connected)));
		const health = el('section', { 'aria-labelledby': 'health-title',
		    id: 'health' }, el('h2', { id: 'health-title' }, 'Health'),
		    dl([
			['Agent id', x.agent_id],
			['Agent version', str(version)],
			['Status', x.connected ? 'connected' : 'not connected'],
			['Last seen', el('span', {}, timeCell(x.last_seen), ' ',
			    el('span', { class: 'muted' }, ago(x.last_seen)))],
			['First seen', timeCell(x.first_seen)],
			['Last sequence number', fmtNum(x.last_seq)],
			['Dropped by the spool (reported at connect)',
			    fmtNum(x.dropped)],
			['Rejected by the hub', fmtNum(x.rejected)],
		    ]),
		    el('h3', {}, 'Capture'),
		    healthFacts(capRow, [['received', 'Packets received'],
			['kernel_dropped', 'Dropped by the kernel'],
			['interface_dropped', 'Dropped by the interface'],
			['agent_dropped', 'Dropped by the agent']],
			'No capture health report (picket.health.capture).'),
		    el('h3', {}, 'Spool'),
		    healthFacts(spoolRow, [['dropped_full', 'Dropped (full)'],
			['write_errors', 'Write errors'],
			['disk_full_errors', 'Disk full errors'],
			['corrupt', 'Corrupt records'],
			['disk_bytes', 'Spool size (bytes)']],
			'No spool loss reported (picket.health.spool).'));
		const rules = h.rules || [];
		const grid = el('div', { class: 'two-col' }, health,
		    el('section', {}, table('Indicators by rule',
			['Rule', 'Count', 'Latest'], rules.length ?
			rules.map((r) => el('tr', {},
			    el('td', {}, el('a', { href: hashLink('/indicators',
				{ host: x.agent_id, rule: r.rule_id }) },
				str(r.rule_name)), el('br'),
				el('code', {}, r.rule_id)),
			    el('td', { class: 'num' }, fmtNum(r.count)),
			    el('td', {}, timeCell(r.last_timestamp)))) :
			emptyRow(3, 'Nothing stored.'))));
		box.append(grid);
		if (await mayOrder())
			box.append(collectForm([x.agent_id], 'collect',
			    'Collect from this host'));
		const heads = IND_HEADS.filter((t) => t !== 'Host');
		box.append(el('h2', {}, 'Timeline'));
		box.append(table('Indicators of this host, newest first',
		    heads, rows.length ? rows.map((d) => indicatorRow(d, false)) :
		    emptyRow(heads.length, 'Nothing stored for this host.')));
		box.lastChild.querySelector('table').id = 'timeline';
		box.append(pager('/hosts/' + encodeURIComponent(x.agent_id), {},
		    tl.next_cursor,
		    !!cursor));
	}

	/* ---------------------------------------------------- outbreaks */

	/* Hosts affected over time: the running sum of series. */
	function sparkline(series, bucketS) {
		const W = 120, H = 28, P = 2;
		const cum = [];
		let s = 0;
		for (const v of series || [])
			cum.push(s += (typeof v === 'number' ? v : 0));
		const max = Math.max(1, s);
		const n = Math.max(1, cum.length - 1);
		const pts = cum.map((v, i) => `${(P + (W - 2 * P) * i / n).toFixed(1)},` +
		    `${(H - P - (H - 2 * P) * v / max).toFixed(1)}`).join(' ');
		const span = bucketS ? ` (buckets of ${Math.round(bucketS / 60)} min)` : '';
		return sv('svg', { viewBox: `0 0 ${W} ${H}`, class: 'spark',
		    role: 'img', width: W, height: H,
		    'aria-label': `hosts affected over time, reaching ${s}${span}` },
		    sv('polyline', { points: pts, class: 'spark-line' }));
	}

	/*
	 * "Open incident" on an outbreak: an incident titled with the
	 * outbreak's label and linked to it (docs/incidents.md), then its
	 * page.
	 */
	function openIncident(o) {
		const value = `${str(o.kind)}:${str(o.key)}`;
		const msg = el('span', { class: 'msg error-text', role: 'alert' });
		const b = el('button', { type: 'button', class: 'open-incident',
		    'data-outbreak': value }, 'Open incident');
		b.addEventListener('click', async () => {
			b.disabled = true;
			msg.textContent = '';
			try {
				const r = await post('/api/v1/incidents', {
					title: cutBytes(str(o.label), INC_TITLE_MAX),
					outbreak: value,
				});
				location.hash = incHref(r.id);
			} catch (e) {
				b.disabled = false;
				if (e.status !== 401)
					msg.textContent = e.message;
			}
		});
		return el('div', { class: 'row-actions' }, b, msg);
	}

	/*
	 * What peer hubs shared of an outbreak's value (docs/outbreaks.md,
	 * "members"): "N members, H hosts, first at ORIGIN (time)" and the
	 * peers, earliest first (for a rule outbreak: peers whose shared
	 * indicators list the rule).  Scan outbreaks have no members object:
	 * a dash.  Every string from a peer is text, never markup.
	 */
	function membersCell(m) {
		if (!m || typeof m !== 'object')
			return el('td', { class: 'members' }, '—');
		const n = typeof m.count === 'number' ? m.count : 0;
		if (n === 0)
			return el('td', { class: 'members' },
			    el('span', { class: 'muted' }, 'No member shared it'),
			    m.truncated ? el('span', { class: 'muted' },
				' (list cut)') : '');
		const first = m.first || {};
		const peers = Array.isArray(m.peers) ? m.peers : [];
		return el('td', { class: 'members' },
		    el('span', { class: 'members-sum' },
			`${plural(n, 'member', 'members')}, ` +
			`${plural(m.hosts, 'host', 'hosts')}, first at ` +
			`${str(first.origin || first.peer)} ` +
			`(${fmtTime(first.first_received)})`),
		    m.truncated ? el('span', { class: 'muted' },
			' (more rows than read: counts may be low)') : '',
		    el('details', {}, el('summary', {},
			plural(peers.length, 'peer', 'peers') +
			(peers.length < n ? ` of ${fmtNum(n)}` : '')),
			el('ul', { class: 'plain members-list' },
			    peers.map((pm) => el('li', {},
				el('strong', {}, str(pm.origin || pm.peer)),
				` (${str(pm.peer)}): `,
				plural(pm.hosts, 'host', 'hosts'), ', ',
				str(pm.tlp), ', ', str(pm.state), ' ',
				el('span', { class: 'muted' },
				    fmtTime(pm.first_received)))))));
	}

	async function outbreaks(box, q) {
		const range = q.get('range') === '7d' ? '7d' : '24h';
		const r = await api('/api/v1/outbreaks', { since: range });
		const list = r.outbreaks || [];
		const other = range === '7d' ? '24h' : '7d';
		box.append(el('div', { class: 'section-head' },
		    el('h1', {}, 'Outbreaks'),
		    el('a', { href: hashLink('/outbreaks', { range: other }) },
			other === '7d' ? 'Last 7 days' : 'Last 24 hours')));
		box.append(el('p', { class: 'muted' }, 'One worm fingerprint, ' +
		    'rule, IOC or scanned port seen on two or more hosts in the ' +
		    (range === '7d' ? 'last 7 days.' : 'last 24 hours.')));
		if (r.truncated)
			box.append(el('p', { class: 'note' }, 'The hub scanned ' +
			    'only part of the window (too many indicators); the ' +
			    'newest are left out.'));
		const order = await mayOrder();
		if (r.members_truncated)
			box.append(el('p', { class: 'note' }, 'What peer hubs ' +
			    'shared is shown for the first outbreaks only, or ' +
			    'was read in part: member counts may be low.'));
		const heads = ['Outbreak', 'Hosts', 'Members', 'Patient zero',
		    'First seen', 'Last seen', 'Indicators', 'Max severity',
		    'Spread'];
		box.append(table(plural(list.length, 'outbreak', 'outbreaks'), heads,
		    list.length ? list.map((o) => {
			const pz = o.patient_zero || {};
			return el('tr', {},
			    el('td', {}, str(o.label), el('br'),
				el('span', { class: 'muted' }, str(o.kind)),
				order ? openIncident(o) : '',
				el('details', {}, el('summary', {},
				    plural((o.hosts || []).length, 'host', 'hosts')),
				    el('ul', { class: 'plain' },
					(o.hosts || []).slice(0, 200).map((hh) =>
					    el('li', {}, el('a',
						{ href: hostHref(hh.agent_id) },
						str(hh.host_name || hh.agent_id)),
						' ', el('span', { class: 'muted' },
						    fmtTime(hh.first_seen)))))),
				order && (o.hosts || []).length ? el('details', {},
				    el('summary', {}, 'Collect from these hosts'),
				    collectForm((o.hosts || []).slice(0, 10000)
					.map((hh) => hh.agent_id), null, null)) :
				    ''),
			    el('td', { class: 'num' }, fmtNum(o.hosts_affected)),
			    membersCell(o.members),
			    el('td', {}, pz.agent_id ? el('a',
				{ href: hostHref(pz.agent_id) },
				str(pz.host_name || pz.agent_id)) : '—',
				el('br'), timeCell(pz.first_seen)),
			    el('td', {}, timeCell(o.first_seen)),
			    el('td', {}, timeCell(o.last_seen)),
			    el('td', { class: 'num' }, fmtNum(o.indicators)),
			    el('td', {}, sevBadge(o.max_severity)),
			    el('td', {}, sparkline(o.series, r.bucket_seconds)));
		    }) : emptyRow(heads.length, 'No outbreak in this window.')));
		box.lastChild.querySelector('table').id = 'outbreaks';
	}

	/* ---------------------------------------------------- tasks */

	const COLLECT_TYPES = [
		['snapshot', 'Snapshot: processes, sockets, modules'],
		['pcap', 'Packet capture'],
		['ioc_sweep', 'IOC sweep: addresses, domains, hashes'],
	];

	/*
	 * A form that orders a task for agents (docs/tasks.md): the
	 * specification is built from the fields and checked by the hub;
	 * its refusal is shown as it comes.  On success the task's page.
	 * incident (an incident id, or null) links the task to it.
	 */
	function collectForm(agents, id, title, incident) {
		const sel = el('select', { name: 'type', id: id ? id + '-type' :
		    null }, COLLECT_TYPES.map(([v, t]) =>
		    el('option', { value: v }, t)));
		const dur = el('input', { name: 'duration', type: 'number',
		    min: '1', max: '86400', value: '60', id: id ? id +
		    '-duration' : null });
		const filt = el('input', { name: 'filter', type: 'text',
		    placeholder: 'tcp port 445', maxlength: '1024',
		    id: id ? id + '-filter' : null });
		const iocs = el('textarea', { name: 'iocs', rows: '3',
		    placeholder: 'one address, domain or SHA-256 a line',
		    id: id ? id + '-iocs' : null });
		const msg = el('p', { class: 'msg', role: 'alert' });
		const pcapOnly = el('div', { class: 'row' },
		    el('label', {}, 'Duration (s) ', dur), ' ',
		    el('label', {}, 'Filter ', filt));
		const iocOnly = el('div', { class: 'row' },
		    el('label', {}, 'Values ', iocs));
		const sync = () => {
			pcapOnly.hidden = sel.value !== 'pcap';
			iocOnly.hidden = sel.value !== 'ioc_sweep';
		};
		sel.addEventListener('change', sync);
		const form = el('form', { class: 'collect', id: id },
		    title ? el('h2', {}, title) : '',
		    el('p', { class: 'muted' }, 'Orders a bounded collection on ' +
			plural(agents.length, 'host', 'hosts') + '; the hosts\' ' +
			'own policy decides whether they run it.'),
		    el('label', {}, 'Type ', sel), pcapOnly, iocOnly,
		    el('button', { type: 'submit' }, 'Collect'), msg);
		sync();
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			msg.textContent = '';
			const spec = { type: sel.value };
			if (sel.value === 'pcap') {
				spec.duration = Number(dur.value);
				if (filt.value.trim())
					spec.filter = filt.value.trim();
			}
			if (sel.value === 'ioc_sweep') {
				const addresses = [], domains = [], hashes = [];
				for (const line of iocs.value.split(/\s+/)) {
					const v = line.trim();
					if (!v)
						continue;
					if (/^[0-9a-fA-F]{64}$/.test(v))
						hashes.push(v.toLowerCase());
					else if (/^[0-9.:/a-fA-F]+$/.test(v) &&
					    /[.:]/.test(v) && !/[g-zG-Z]/.test(v))
						addresses.push(v);
					else
						domains.push(v);
				}
				if (addresses.length)
					spec.addresses = addresses;
				if (domains.length)
					spec.domains = domains;
				if (hashes.length)
					spec.hashes = hashes;
			}
			try {
				const order = { task: spec, targets: { agents } };
				if (incident !== undefined && incident !== null)
					order.incident = incident;
				const r = await post('/api/v1/tasks', order);
				location.hash = '#/tasks/' + r.id;
			} catch (e) {
				if (e.status !== 401)
					msg.textContent = e.message;
			}
		});
		return form;
	}

	let taskTimer = null;

	function stateBadge(s) {
		return el('span', { class: 'state state-' + str(s) }, str(s));
	}

	function statesText(states) {
		const parts = [];
		for (const [k, v] of Object.entries(states || {}))
			if (v)
				parts.push(`${k} ${v}`);
		return parts.join(', ') || '—';
	}

	async function tasks(box, q) {
		const cursor = q.get('cursor');
		const r = await api('/api/v1/tasks', { limit: TABLE_PAGE,
		    cursor });
		const list = r.tasks || [];
		box.append(el('h1', {}, 'Tasks'));
		box.append(el('p', { class: 'muted' }, 'Targeted collection ' +
		    'ordered on hosts, newest first. Order one from a host\'s ' +
		    'page or an outbreak.'));
		const heads = ['#', 'Type', 'Created', 'By', 'Targets', 'Hosts',
		    'States'];
		box.append(table(plural(list.length, 'task', 'tasks'), heads,
		    list.length ? list.map((t) => el('tr', {},
			el('td', { class: 'num' }, el('a',
			    { href: '#/tasks/' + t.id }, String(t.id))),
			el('td', {}, str(t.type)),
			el('td', {}, timeCell(t.created)),
			el('td', {}, str(t.created_by)),
			el('td', { class: 'msg-cell' }, str(t.targets)),
			el('td', { class: 'num' }, fmtNum(t.hosts)),
			el('td', {}, statesText(t.states)))) :
			emptyRow(heads.length, 'No task yet.')));
		box.lastChild.querySelector('table').id = 'tasks';
		box.append(pager('/tasks', {}, r.next_cursor, !!cursor));
	}

	/* A result through fetch (the token goes in a header, never in a
	 * URL), handed to the browser as a download. */
	async function download(url, name) {
		const res = await call(url);
		const blob = await res.blob();
		const a = el('a', { href: URL.createObjectURL(blob),
		    download: name });
		document.body.append(a);
		a.click();
		a.remove();
		setTimeout(() => URL.revokeObjectURL(a.href), 10000);
	}

	async function task(box, q, id) {
		const [r, order] = await Promise.all([
			api('/api/v1/tasks/' + encodeURIComponent(id)),
			mayOrder(),
		]);
		const t = r.task || {};
		const hostsL = r.hosts || [];
		box.append(el('p', { class: 'crumbs' },
		    el('a', { href: '#/tasks' }, 'Tasks'), ' / ', String(t.id)));
		box.append(el('h1', {}, `Task ${t.id}: ${str(t.type)}`));
		box.append(dl([
			['Specification', el('code', { id: 'task-spec' },
			    JSON.stringify(t.spec))],
			['Created', el('span', {}, timeCell(t.created), ' by ',
			    str(t.created_by))],
			['Expires', timeCell(t.expires)],
			['Targets', str(t.targets)],
			['States', el('span', { id: 'task-states' },
			    statesText(t.states))],
		]));
		if (order && !t.finished) {
			const cmsg = el('p', { class: 'msg', role: 'alert' });
			const b = el('button', { type: 'button', id: 'cancel' },
			    'Cancel this task');
			b.addEventListener('click', async () => {
				try {
					await post('/api/v1/tasks/' + t.id +
					    '/cancel');
					render();
				} catch (e) {
					if (e.status !== 401)
						cmsg.textContent = e.message;
				}
			});
			box.append(el('p', {}, b), cmsg);
		}
		const heads = ['Host', 'State', 'Reason', 'Bytes', 'Rows',
		    'Updated', 'Result'];
		box.append(table('State on each host (refreshed every 2 s)', heads,
		    hostsL.length ? hostsL.map((h) => {
			let result = '—';
			if (h.result && order) {
				const name = `task-${t.id}-${h.agent_id}.` +
				    (t.type === 'pcap' ? 'pcap' : 'ndjson');
				result = el('button', { type: 'button',
				    class: 'link' }, 'Download');
				result.addEventListener('click', () =>
				    download(h.result, name).catch((e) =>
					setStatus(e.message)));
			}
			return el('tr', { 'data-agent': h.agent_id },
			    el('td', {}, el('a', { href: hostHref(h.agent_id) },
				str(h.host_name || h.agent_id)), ' ',
				onlineBadge(h.connected)),
			    el('td', { class: 'state-cell' }, stateBadge(h.state)),
			    el('td', { class: 'msg-cell' }, str(h.reason)),
			    el('td', { class: 'num' }, fmtNum(h.bytes)),
			    el('td', { class: 'num' }, fmtNum(h.rows)),
			    el('td', {}, timeCell(h.updated)),
			    el('td', {}, result));
		    }) : emptyRow(heads.length, 'No host.')));
		box.lastChild.querySelector('table').id = 'task-hosts';
		/* Live states: reload while this page is shown (one timer). */
		const here = location.hash;
		clearTimeout(taskTimer);
		taskTimer = setTimeout(() => {
			if (location.hash === here && token())
				render();
		}, TASK_REFRESH);
	}

	/* ---------------------------------------------------- incidents */

	const INC_STATES = ['open', 'contained', 'closed'];
	const INC_TITLE_MAX = 200;	/* bytes, as the hub counts them */
	const INC_OWNER_MAX = 64;
	const INC_NOTE_MAX = 4096;
	const INC_LESSONS_MAX = 16384;
	const INC_LINK_MAX = 1100;
	const INC_LINK_KINDS = [
		['host', 'Host (agent id)'],
		['outbreak', 'Outbreak (kind:key)'],
		['indicator', 'Indicator (agent id/seq)'],
		['task', 'Task (id)'],
	];
	const DETECT_CLASSES = ['fingerprint', 'ioc', 'scan', 'process',
	    'signature'];

	function incHref(id) {
		return '#/incidents/' + encodeURIComponent(String(id));
	}

	/* The longest prefix of s that is at most max UTF-8 bytes, cut
	 * between characters (the hub counts bytes, the browser UTF-16). */
	function cutBytes(s, max) {
		const enc = new TextEncoder();
		if (enc.encode(s).length <= max)
			return s;
		let out = '', n = 0;
		for (const ch of s) {
			n += enc.encode(ch).length;
			if (n > max)
				break;
			out += ch;
		}
		return out;
	}

	function incStateBadge(s) {
		const known = INC_STATES.includes(s) ? s : 'unknown';
		return el('span', { class: 'state inc-' + known }, str(s));
	}

	/* Seconds as people read them: "45 s", "22 min 1 s", "3 h 5 min",
	 * "2 d 4 h"; a figure that has not happened (null) is "not yet". */
	function fmtDur(s) {
		if (typeof s !== 'number' || !Number.isFinite(s))
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

	/*
	 * Run one write of a form or button: btn is disabled meanwhile, a
	 * refusal is put in msg as the hub worded it, success re-renders the
	 * page (the hub's record is the truth, not what we sent).
	 */
	async function act(btn, msg, fn) {
		msg.textContent = '';
		btn.disabled = true;
		try {
			await fn();
		} catch (e) {
			btn.disabled = false;
			if (e.status !== 401)
				msg.textContent = e.message;
			return;
		}
		render();
	}

	function formMsg(id) {
		return el('p', { class: 'msg error-text', role: 'alert', id });
	}

	function newIncidentForm() {
		const title = el('input', { id: 'inc-new-title', name: 'title',
		    type: 'text', required: true, maxlength: INC_TITLE_MAX,
		    autocomplete: 'off', placeholder: 'Conficker on the 10.8 campus' });
		const owner = el('input', { id: 'inc-new-owner', name: 'owner',
		    type: 'text', maxlength: INC_OWNER_MAX, autocomplete: 'off',
		    placeholder: 'alice' });
		const btn = el('button', { type: 'submit' }, 'Create');
		const msg = formMsg('inc-new-msg');
		const form = el('form', { class: 'filters', id: 'inc-new',
		    'aria-label': 'New incident' },
		    el('div', { class: 'field wide' },
			el('label', { for: 'inc-new-title' }, 'New incident: title'),
			title),
		    el('div', { class: 'field' },
			el('label', { for: 'inc-new-owner' }, 'Owner (optional)'),
			owner),
		    el('div', { class: 'field buttons' }, btn), msg);
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			const body = { title: title.value.trim() };
			if (owner.value.trim())
				body.owner = owner.value.trim();
			msg.textContent = '';
			btn.disabled = true;
			post('/api/v1/incidents', body).then((r) => {
				location.hash = incHref(r.id);
			}, (e) => {
				btn.disabled = false;
				if (e.status !== 401)
					msg.textContent = e.message;
			});
		});
		return form;
	}

	async function incidents(box, q) {
		const state = INC_STATES.includes(q.get('state')) ?
		    q.get('state') : '';
		const cursor = q.get('cursor');
		const [r, write] = await Promise.all([
			api('/api/v1/incidents', { state, limit: TABLE_PAGE,
			    cursor }),
			mayOrder(),
		]);
		const list = r.incidents || [];
		box.append(el('h1', {}, 'Incidents'));
		box.append(el('p', { class: 'muted' }, 'Newest first. An ' +
		    'incident gathers outbreaks, indicators, hosts and tasks ' +
		    'under one record with a timeline; open one here or from ' +
		    'an outbreak.'));
		if (write)
			box.append(newIncidentForm());
		const sel = el('select', { id: 'inc-state', name: 'state' },
		    ['', ...INC_STATES].map((v) => el('option',
			{ value: v, selected: v === state }, v || 'any')));
		const filt = el('form', { class: 'filters', id: 'inc-filter',
		    'aria-label': 'Filter incidents' },
		    el('div', { class: 'field' },
			el('label', { for: 'inc-state' }, 'State'), sel),
		    el('div', { class: 'field buttons' },
			el('button', { type: 'submit' }, 'Apply'),
			el('a', { href: '#/incidents' }, 'Clear')));
		filt.addEventListener('submit', (ev) => {
			ev.preventDefault();
			location.hash = hashLink('/incidents', { state: sel.value });
		});
		box.append(filt);
		const heads = ['#', 'Title', 'State', 'Owner', 'Created',
		    'Contained', 'Closed', 'Links'];
		box.append(table(plural(list.length, 'incident', 'incidents') +
		    (state ? ` (${state})` : ''), heads,
		    list.length ? list.map((x) => el('tr',
			{ 'data-id': String(x.id) },
			el('td', { class: 'num' }, el('a', { href: incHref(x.id) },
			    String(x.id))),
			el('td', { class: 'msg-cell' }, el('a',
			    { href: incHref(x.id), class: 'inc-title' },
			    str(x.title))),
			el('td', {}, incStateBadge(x.state)),
			el('td', {}, str(x.owner)),
			el('td', {}, timeCell(x.created), el('br'),
			    el('span', { class: 'muted' }, 'by ',
				str(x.created_by))),
			el('td', {}, x.contained ? timeCell(x.contained) : '—'),
			el('td', {}, x.closed ? timeCell(x.closed) : '—'),
			el('td', { class: 'num' }, fmtNum(x.links)))) :
			emptyRow(heads.length, state ? `No ${state} incident.` :
			    'No incident yet.')));
		box.lastChild.querySelector('table').id = 'incidents';
		box.append(pager('/incidents', { state }, r.next_cursor,
		    !!cursor));
	}

	/* "<agent_id>/<seq>": the agent id (ids hold no '/'), or null. */
	function indicatorAgent(v) {
		const i = String(v).lastIndexOf('/');
		return i > 0 ? String(v).slice(0, i) : null;
	}

	function linkList(items, make, none) {
		return items.length ? el('ul', { class: 'plain' },
		    items.slice(0, 1000).map((v) => el('li', {}, make(v)))) :
		    el('span', { class: 'muted' }, none);
	}

	function incLinks(x) {
		const links = x.links || {};
		const names = new Map((x.hosts || []).map((h) =>
		    [h.agent_id, h.host_name]));
		return el('section', { id: 'inc-links',
		    'aria-labelledby': 'inc-links-title' },
		    el('h2', { id: 'inc-links-title' }, 'Links'),
		    dl([
			['Outbreaks', linkList(links.outbreaks || [], (o) =>
			    el('a', { href: hashLink('/outbreaks',
				{ range: '7d' }) }, el('code', {},
				str(o.value || `${o.kind}:${o.key}`))),
			    'none')],
			['Indicators', linkList(links.indicators || [], (v) => {
				const a = indicatorAgent(v);
				return a ? el('a', { href: hostHref(a) },
				    el('code', {}, str(v))) :
				    el('code', {}, str(v));
			}, 'none')],
			['Hosts', linkList(links.hosts || [], (v) =>
			    el('a', { href: hostHref(v) },
				str(names.get(v) || v),
				names.get(v) ? el('span', { class: 'muted' },
				    ` (${v})`) : ''), 'none')],
			['Tasks', linkList(links.tasks || [], (v) =>
			    el('a', { href: '#/tasks/' + encodeURIComponent(
				String(v)) }, `Task ${v}`), 'none')],
		    ]));
	}

	function timelineTable(caption, id, events) {
		const heads = ['Time', 'Kind', 'What', 'Who'];
		const t = table(caption, heads, events.length ?
		    events.map((e) => el('tr', { 'data-kind': str(e.kind) },
			el('td', {}, timeCell(e.time)),
			el('td', {}, el('code', {}, str(e.kind))),
			el('td', { class: 'msg-cell text' }, str(e.text),
			    e.agent_id ? el('span', {}, ' ', el('a',
				{ href: hostHref(e.agent_id) }, 'host')) : ''),
			el('td', {}, str(e.actor)))) :
		    emptyRow(heads.length, 'Nothing yet.'));
		t.querySelector('table').id = id;
		return t;
	}

	/* Buttons for the state changes the contract allows from here. */
	function stateButtons(x, msg) {
		const to = (label, state, id) => {
			const b = el('button', { type: 'button', id }, label);
			b.addEventListener('click', () => act(b, msg, () =>
			    patch('/api/v1/incidents/' + x.id, { state })));
			return b;
		};
		if (x.state === 'open')
			return [to('Mark contained', 'contained', 'inc-contain'),
			    to('Close', 'closed', 'inc-close')];
		if (x.state === 'contained')
			return [to('Close', 'closed', 'inc-close'),
			    to('Reopen', 'open', 'inc-reopen')];
		return [to('Reopen', 'open', 'inc-reopen')];
	}

	function ownerForm(x) {
		const input = el('input', { id: 'inc-owner', name: 'owner',
		    type: 'text', maxlength: INC_OWNER_MAX, autocomplete: 'off' });
		input.value = x.owner || '';
		const btn = el('button', { type: 'submit' }, 'Save owner');
		const msg = formMsg('inc-owner-msg');
		const form = el('form', { class: 'inline', id: 'inc-owner-form',
		    'aria-label': 'Owner' },
		    el('label', { for: 'inc-owner' }, 'Owner'), input, btn, msg);
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			act(btn, msg, () => patch('/api/v1/incidents/' + x.id,
			    { owner: input.value.trim() }));
		});
		return form;
	}

	function noteForm(x) {
		const text = el('textarea', { id: 'inc-note', name: 'text',
		    rows: '3', maxlength: INC_NOTE_MAX, required: true });
		const btn = el('button', { type: 'submit' }, 'Add note');
		const msg = formMsg('inc-note-msg');
		const form = el('form', { class: 'collect', id: 'inc-note-form' },
		    el('h2', {}, 'Note'),
		    el('label', { for: 'inc-note' }, 'Text (on the timeline)'),
		    text, btn, msg);
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			act(btn, msg, () => post('/api/v1/incidents/' + x.id +
			    '/notes', { text: text.value }));
		});
		return form;
	}

	function linkForm(x) {
		const kind = el('select', { id: 'inc-link-kind', name: 'kind' },
		    INC_LINK_KINDS.map(([v, t]) => el('option', { value: v }, t)));
		const value = el('input', { id: 'inc-link-value', name: 'value',
		    type: 'text', required: true, maxlength: INC_LINK_MAX,
		    autocomplete: 'off', placeholder: 'agent id' });
		const ph = { host: 'agent id', outbreak: 'scan:445/tcp/outbound',
		    indicator: 'agent id/seq', task: '12' };
		kind.addEventListener('change', () => {
			value.placeholder = ph[kind.value] || '';
		});
		const btn = el('button', { type: 'submit' }, 'Link');
		const msg = formMsg('inc-link-msg');
		const form = el('form', { class: 'collect', id: 'inc-link-form' },
		    el('h2', {}, 'Link'),
		    el('label', { for: 'inc-link-kind' }, 'Kind'), kind,
		    el('label', { for: 'inc-link-value' }, 'Value'), value,
		    btn, msg);
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			act(btn, msg, () => post('/api/v1/incidents/' + x.id +
			    '/links', { kind: kind.value,
				value: value.value.trim() }));
		});
		return form;
	}

	function lessonsBlock(x, write) {
		const head = el('h2', { id: 'inc-lessons-title' }, 'Lessons');
		if (!write)
			return el('section', { 'aria-labelledby': 'inc-lessons-title' },
			    head, x.lessons ? el('p', { class: 'lessons',
				id: 'inc-lessons-text' }, x.lessons) :
			    el('p', { class: 'muted' }, 'None written yet.'));
		const text = el('textarea', { id: 'inc-lessons', name: 'lessons',
		    rows: '6', maxlength: INC_LESSONS_MAX,
		    'aria-labelledby': 'inc-lessons-title' });
		text.value = x.lessons || '';
		const btn = el('button', { type: 'submit', id: 'inc-lessons-save' },
		    'Save lessons');
		const msg = formMsg('inc-lessons-msg');
		const form = el('form', { class: 'collect wide',
		    id: 'inc-lessons-form' }, head,
		    el('p', { class: 'muted' }, 'What the team learnt: kept with ' +
			'the report, editable after closing.'), text, btn, msg);
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			act(btn, msg, () => patch('/api/v1/incidents/' + x.id,
			    { lessons: text.value }));
		});
		return form;
	}

	async function incident(box, q, id) {
		const [x, write] = await Promise.all([
			api('/api/v1/incidents/' + encodeURIComponent(id)),
			mayOrder(),
		]);
		const closed = x.state === 'closed';
		const hostsL = x.hosts || [];
		const tasksL = x.tasks || [];
		box.append(el('p', { class: 'crumbs' },
		    el('a', { href: '#/incidents' }, 'Incidents'), ' / ',
		    String(x.id)));
		box.append(el('div', { class: 'section-head' },
		    el('h1', { id: 'inc-title' }, `Incident ${x.id}: `,
			el('span', { class: 'inc-title' }, str(x.title))),
		    incStateBadge(x.state),
		    el('a', { href: incHref(x.id) + '/report', class: 'button',
			id: 'inc-report' }, 'Report')));
		box.append(dl([
			['State', el('span', { id: 'inc-state-text' }, str(x.state))],
			['Owner', el('span', { id: 'inc-owner-text' },
			    x.owner ? x.owner : 'nobody yet')],
			['Opened', el('span', {}, timeCell(x.created), ' by ',
			    str(x.created_by))],
			['Indicators from', timeCell(x.since)],
			['Contained', x.contained ? timeCell(x.contained) :
			    'not yet'],
			['Closed', x.closed ? timeCell(x.closed) : 'not yet'],
			['Indicators', el('span', { id: 'inc-indicators' },
			    fmtNum(x.indicators),
			    x.truncated ? ' (the hub stopped counting: too ' +
			    'many rows)' : '')],
			['Hosts', fmtNum(hostsL.length)],
		]));
		if (write) {
			const msg = formMsg('inc-state-msg');
			box.append(el('div', { class: 'inc-actions' },
			    stateButtons(x, msg), closed ? '' : ownerForm(x)),
			    msg);
		}
		const hh = ['Host', 'Agent id', 'First seen', 'Indicators'];
		const hostTable = table(plural(hostsL.length, 'host', 'hosts'), hh,
		    hostsL.length ? hostsL.map((h) => el('tr',
			{ 'data-agent': str(h.agent_id) },
			el('td', {}, el('a', { href: hostHref(h.agent_id) },
			    str(h.host_name || h.agent_id))),
			el('td', {}, el('code', {}, str(h.agent_id))),
			el('td', {}, timeCell(h.first_seen)),
			el('td', { class: 'num' }, fmtNum(h.indicators)))) :
		    emptyRow(hh.length, 'No host yet.'));
		hostTable.querySelector('table').id = 'inc-hosts';
		box.append(el('div', { class: 'two-col' }, incLinks(x),
		    el('section', { 'aria-labelledby': 'inc-hosts-title' },
			el('h2', { id: 'inc-hosts-title' }, 'Hosts'), hostTable)));
		const th = ['#', 'Type', 'Created', 'By', 'Hosts', 'Outcomes'];
		box.append(el('h2', {}, 'Tasks'));
		box.append(table(plural(tasksL.length, 'task', 'tasks'), th,
		    tasksL.length ? tasksL.map((t) => el('tr', {},
			el('td', { class: 'num' }, el('a', { href: '#/tasks/' +
			    encodeURIComponent(String(t.id)) }, String(t.id))),
			el('td', {}, str(t.type)),
			el('td', {}, timeCell(t.created)),
			el('td', {}, str(t.created_by)),
			el('td', { class: 'num' }, fmtNum(t.hosts)),
			el('td', {}, statesText(t.states)))) :
		    emptyRow(th.length, 'No task linked.')));
		box.lastChild.querySelector('table').id = 'inc-tasks';
		box.append(el('h2', {}, 'Timeline'));
		box.append(timelineTable('What happened, oldest first',
		    'inc-timeline', x.timeline || []));
		if (write && !closed) {
			const forms = el('div', { class: 'form-grid' },
			    noteForm(x), linkForm(x));
			if (hostsL.length)
				forms.append(collectForm(hostsL.slice(0, 10000)
				    .map((h) => h.agent_id), 'inc-collect',
				    'Collect from these hosts', x.id));
			box.append(forms);
		}
		if (closed && write)
			box.append(el('p', { class: 'muted' }, 'A closed incident ' +
			    'takes only lessons and a reopening.'));
		box.append(lessonsBlock(x, write));
	}

	/* ---------------------------------------------------- reports */

	/*
	 * hosts_over_time as a line: one point per bucket, at the bucket's
	 * end (its value is the number of hosts affected by then).
	 */
	function hostsChart(hot) {
		const cum = (Array.isArray(hot.cumulative) ? hot.cumulative : [])
		    .slice(0, 1000).map((v) =>
			typeof v === 'number' && Number.isFinite(v) ? v : 0);
		const n = cum.length;
		if (!n)
			return el('p', { class: 'muted', id: 'hosts-chart-none' },
			    'No indicator yet: nothing to draw.');
		const bs = typeof hot.bucket_seconds === 'number' ?
		    hot.bucket_seconds : 0;
		const start = Date.parse(hot.start);
		const W = 720, H = 220, L = 44, R = 16, T = 14, B = 34;
		const max = Math.max(1, ...cum);
		const px = (i) => L + (W - L - R) * (i + 1) / n;
		const py = (v) => T + (H - T - B) * (1 - v / max);
		const span = n * bs;
		const at = (k) => {
			if (Number.isNaN(start))
				return '';
			const d = new Date(start + k * bs * 1000).toISOString();
			return span > 2 * 86400 ? d.slice(5, 10) + ' ' +
			    d.slice(11, 16) : d.slice(11, 16);
		};
		const last = cum[n - 1];
		const svg = sv('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart',
		    role: 'img', id: 'hosts-chart', 'data-points': String(n),
		    'aria-label': `Hosts affected over time: ${last} ` +
			`${last === 1 ? 'host' : 'hosts'} by the end, ${n} ` +
			`buckets of ${fmtDur(bs)}` +
			(at(0) ? ` from ${fmtTime(hot.start)}` : '') });
		const ticks = max >= 2 ? [0, Math.round(max / 2), max] : [0, max];
		for (const v of ticks) {
			const y = py(v);
			svg.append(sv('line', { x1: L, x2: W - R, y1: y, y2: y,
			    class: 'grid' }));
			svg.append(sv('text', { x: L - 6, y: y + 4,
			    class: 'axis', 'text-anchor': 'end' }, String(v)));
		}
		svg.append(sv('line', { x1: L, x2: L, y1: T, y2: H - B,
		    class: 'grid' }));
		for (const k of [0, n / 2, n]) {
			const x = L + (W - L - R) * k / n;
			svg.append(sv('text', { x, y: H - 12, class: 'axis',
			    'text-anchor': k === 0 ? 'start' : k === n ? 'end' :
			    'middle' }, at(k)));
		}
		svg.append(sv('polyline', { class: 'hosts-line',
		    points: cum.map((v, i) => `${px(i).toFixed(1)},` +
			`${py(v).toFixed(1)}`).join(' ') }));
		cum.forEach((v, i) => svg.append(sv('circle', { class: 'pt',
		    cx: px(i).toFixed(1), cy: py(v).toFixed(1), r: 3 },
		    sv('title', {}, `${at(i + 1) ? at(i + 1) + ' UTC: ' : ''}` +
			`${v} ${v === 1 ? 'host' : 'hosts'}`))));
		return svg;
	}

	function figure(id, label, value) {
		return el('li', { id }, el('span', { class: 'fig-label' }, label),
		    el('span', { class: 'tile-n' }, value));
	}

	function outcomeText(o) {
		return statesText(o);
	}

	async function report(box, q, id) {
		const r = await api('/api/v1/incidents/' + encodeURIComponent(id) +
		    '/report');
		const inc = r.incident || {};
		const f = r.figures || {};
		box.append(el('p', { class: 'crumbs' },
		    el('a', { href: '#/incidents' }, 'Incidents'), ' / ',
		    el('a', { href: incHref(inc.id) }, String(inc.id)), ' / ',
		    'Report'));
		box.append(el('h1', {}, `After-action report, incident ${inc.id}: `,
		    el('span', { class: 'inc-title' }, str(inc.title))));
		if (!r.final)
			box.append(el('p', { class: 'note draft', id: 'report-draft' },
			    'Draft: the incident is not closed. These figures are ' +
			    'computed now and change until it closes.'));
		const pdf = el('a', { href: '/api/v1/incidents/' +
		    encodeURIComponent(String(inc.id)) + '/report?format=pdf',
		    id: 'report-pdf', class: 'button' }, 'Download PDF');
		pdf.addEventListener('click', (ev) => {
			/* The API wants the token in a header: fetch it. */
			ev.preventDefault();
			download('/api/v1/incidents/' +
			    encodeURIComponent(String(inc.id)) +
			    '/report?format=pdf',
			    `picket-incident-${inc.id}-report.pdf`)
			    .catch((e) => setStatus(e.message));
		});
		const print = el('button', { type: 'button', id: 'report-print' },
		    'Print');
		print.addEventListener('click', () => window.print());
		box.append(el('div', { class: 'section-head' },
		    el('p', { class: 'muted' }, incStateBadge(inc.state),
			inc.owner ? ` owner ${inc.owner}` : ' no owner',
			' · opened ', timeCell(inc.created),
			' · generated ', timeCell(r.generated)),
		    el('span', { class: 'no-print report-actions' }, pdf, ' ',
			print)));

		box.append(el('h2', {}, 'Figures'));
		box.append(el('ul', { class: 'tiles figures', id: 'report-figures' },
		    figure('fig-detect', 'Time to detect', fmtDur(f.time_to_detect_s)),
		    figure('fig-task', 'Time to first task',
			fmtDur(f.time_to_first_task_s)),
		    figure('fig-contain', 'Time to contain',
			fmtDur(f.time_to_contain_s)),
		    figure('fig-close', 'Time to close', fmtDur(f.time_to_close_s)),
		    figure('fig-hosts', 'Hosts affected', fmtNum(f.hosts_affected)),
		    figure('fig-indicators', 'Indicators', fmtNum(f.indicators))));
		box.append(el('p', { class: 'muted' }, 'Measured from the first ' +
		    'indicator, ', timeCell(f.first_indicator), '.',
		    f.truncated ? ' The hub stopped scanning (too many rows): ' +
		    'counts are lower bounds.' : ''));

		box.append(el('h2', {}, 'Hosts affected over time'));
		box.append(hostsChart(r.hosts_over_time || {}));

		box.append(el('h2', {}, 'Timeline'));
		box.append(timelineTable('What happened, oldest first',
		    'report-timeline', r.timeline || []));

		const det = r.detections || [];
		const dh = ['Detector', 'First seen', 'First host', 'Hosts',
		    'Indicators', 'Rules'];
		box.append(el('h2', {}, 'Detections'));
		box.append(table('Which detector saw the hosts, and when', dh,
		    det.length ? det.map((d) => el('tr', {},
			el('td', {}, str(d.class)),
			el('td', {}, timeCell(d.first_seen)),
			el('td', {}, str(d.first_host)),
			el('td', { class: 'num' }, fmtNum(d.hosts)),
			el('td', { class: 'num' }, fmtNum(d.indicators)),
			el('td', { class: 'msg-cell' }, (d.rules || []).slice(0, 50)
			    .flatMap((x, i) => [i ? ', ' : '',
				el('code', {}, str(x))])))) :
		    emptyRow(dh.length, 'No detection.')));
		box.lastChild.querySelector('table').id = 'report-detections';

		const only = r.hosts_seen_only_by || {};
		const classes = [...new Set([...DETECT_CLASSES,
		    ...Object.keys(only)])].filter((c) => c in only);
		box.append(table('Hosts seen by one detector only', ['Detector',
		    'Hosts'], classes.length ? classes.map((c) => el('tr', {},
			el('td', {}, c),
			el('td', { class: 'msg-cell' }, Array.isArray(only[c]) &&
			    only[c].length ? only[c].slice(0, 1000).map(str)
			    .join(', ') : el('span', { class: 'muted' }, 'none')))) :
		    emptyRow(2, 'None.')));
		box.lastChild.querySelector('table').id = 'report-only';

		const hl = r.hosts || [];
		box.append(el('h2', {}, 'Hosts'));
		box.append(table(plural(hl.length, 'host', 'hosts') + ' affected',
		    ['Host', 'First seen', 'Seen by'], hl.length ?
		    hl.slice(0, 10000).map((h) => el('tr', {},
			el('td', {}, el('a', { href: hostHref(h.agent_id) },
			    str(h.host_name || h.agent_id))),
			el('td', {}, timeCell(h.first_seen)),
			el('td', {}, (h.classes || []).map(str).join(', ')))) :
		    emptyRow(3, 'No host.')));
		box.lastChild.querySelector('table').id = 'report-hosts';

		const tl = r.tasks || [];
		const tkh = ['#', 'Type', 'Created', 'Hosts', 'Outcomes', 'Bytes',
		    'Refusals'];
		box.append(el('h2', {}, 'Tasks and outcomes'));
		box.append(table(plural(tl.length, 'task', 'tasks'), tkh,
		    tl.length ? tl.map((t) => el('tr', {},
			el('td', { class: 'num' }, el('a', { href: '#/tasks/' +
			    encodeURIComponent(String(t.id)) }, String(t.id))),
			el('td', {}, str(t.type)),
			el('td', {}, timeCell(t.created)),
			el('td', { class: 'num' }, fmtNum(t.hosts)),
			el('td', {}, outcomeText(t.outcomes)),
			el('td', { class: 'num' }, fmtNum(t.bytes)),
			el('td', { class: 'msg-cell' }, (t.refusals || []).length ?
			    el('ul', { class: 'plain' }, t.refusals.slice(0, 100)
				.map((x) => el('li', {}, str(x.agent_id), ': ',
				    str(x.reason)))) : '—'))) :
		    emptyRow(tkh.length, 'No task.')));
		box.lastChild.querySelector('table').id = 'report-tasks';

		const sh = r.sharing || {};
		box.append(el('h2', {}, 'Sharing'));
		box.append(el('p', { id: 'report-sharing' },
		    `Sent ${fmtNum((sh.sent || []).length)}, received ` +
		    `${fmtNum((sh.received || []).length)}`,
		    sh.note ? ` (${sh.note})` : '', '.'));

		box.append(el('h2', {}, 'Lessons'));
		box.append(r.lessons ? el('p', { class: 'lessons',
		    id: 'report-lessons' }, r.lessons) :
		    el('p', { class: 'muted', id: 'report-lessons' },
			'None written.'));
	}

	/* ---------------------------------------------------- peering */

	/* docs/peering.md: indicators other members' hubs shared with this
	 * one, and (admins) the peers.  Values, origins and peer names come
	 * from another organisation: text only, like everything else. */
	const SHARED_STATES = ['pending', 'approved', 'rejected'];
	const SHARED_KINDS = ['ipv4', 'ipv6', 'domain', 'url', 'sha256',
	    'fingerprint'];
	const PEER_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
	const SHARED_Q_MAX = 256;	/* bytes, as the hub takes q= */

	/* "TLP:AMBER+STRICT" -> a badge with the name written out. */
	function tlpBadge(t) {
		const name = typeof t === 'string' ? t : '';
		const cls = name.replace(/^TLP:/, '').toLowerCase()
		    .replace('+strict', '-strict');
		const known = ['clear', 'green', 'amber', 'amber-strict', 'red']
		    .includes(cls) ? cls : 'unknown';
		return el('span', { class: 'tlp tlp-' + known }, str(name));
	}

	function sharedStateBadge(s) {
		const known = SHARED_STATES.includes(s) ? s : 'unknown';
		return el('span', { class: 'state shared-' + known }, str(s));
	}

	/* Approve / Reject for a responder: what the row is not already. */
	function decideButtons(x, msg) {
		const mk = (what, label) => {
			const b = el('button', { type: 'button',
			    class: 'decide ' + what,
			    'aria-label': `${label} ${x.value}` }, label);
			b.addEventListener('click', () => act(b, msg, () =>
			    post(`/api/v1/shared/${encodeURIComponent(
				String(x.id))}/${what}`)));
			return b;
		};
		return el('div', { class: 'row-actions' },
		    x.state !== 'approved' ? mk('approve', 'Approve') : null,
		    x.state !== 'rejected' ? mk('reject', 'Reject') : null);
	}

	function sharedFilter(f) {
		const peer = el('input', { id: 'sh-peer', name: 'peer',
		    type: 'text', value: f.peer, maxlength: 64,
		    autocomplete: 'off', spellcheck: 'false',
		    placeholder: 'state-b' });
		const state = el('select', { id: 'sh-state', name: 'state' },
		    ['', ...SHARED_STATES].map((v) => el('option',
			{ value: v, selected: v === f.state }, v || 'any')));
		const kind = el('select', { id: 'sh-kind', name: 'kind' },
		    ['', ...SHARED_KINDS].map((v) => el('option',
			{ value: v, selected: v === f.kind }, v || 'any')));
		const q = el('input', { id: 'sh-q', name: 'q', type: 'search',
		    value: f.q, maxlength: SHARED_Q_MAX, autocomplete: 'off',
		    spellcheck: 'false', placeholder: 'part of a value' });
		const msg = formMsg('sh-filter-msg');
		const form = el('form', { class: 'filters', id: 'sh-filter',
		    'aria-label': 'Filter shared indicators' },
		    el('div', { class: 'field' },
			el('label', { for: 'sh-peer' }, 'Peer'), peer),
		    el('div', { class: 'field' },
			el('label', { for: 'sh-state' }, 'State'), state),
		    el('div', { class: 'field' },
			el('label', { for: 'sh-kind' }, 'Kind'), kind),
		    el('div', { class: 'field' },
			el('label', { for: 'sh-q' }, 'Value contains'), q),
		    el('div', { class: 'field buttons' },
			el('button', { type: 'submit' }, 'Apply'),
			el('a', { href: '#/shared' }, 'Clear')), msg);
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			const p = peer.value.trim();
			if (p && !PEER_NAME_RE.test(p)) {
				msg.textContent = 'A peer name is 1 to 64 of ' +
				    'A-Z a-z 0-9 . _ -';
				return;
			}
			location.hash = hashLink('/shared', { peer: p,
			    state: state.value, kind: kind.value,
			    q: cutBytes(q.value.trim(), SHARED_Q_MAX) });
		});
		return form;
	}

	async function shared(box, q) {
		const f = {
			peer: PEER_NAME_RE.test(q.get('peer') || '') ?
			    q.get('peer') : '',
			state: SHARED_STATES.includes(q.get('state')) ?
			    q.get('state') : '',
			kind: SHARED_KINDS.includes(q.get('kind')) ?
			    q.get('kind') : '',
			q: cutBytes(q.get('q') || '', SHARED_Q_MAX),
		};
		const cursor = q.get('cursor');
		const [r, write] = await Promise.all([
			api('/api/v1/shared', { ...f, limit: TABLE_PAGE,
			    cursor }),
			mayOrder(),
		]);
		const list = r.shared || [];
		box.append(el('h1', {}, 'Shared indicators'));
		box.append(el('p', { class: 'muted' }, 'What peer hubs ' +
		    'shared with this one, newest first, with the member it ' +
		    'came from. A pending indicator waits for an analyst; ' +
		    'approved ones are the ones to act on.'));
		box.append(sharedFilter(f));
		const msg = formMsg('shared-msg');
		box.append(msg);
		const heads = ['#', 'Value', 'Kind', 'TLP', 'Origin', 'Hosts',
		    'First received', 'Last received', 'State', 'Reached',
		    'Matched'];
		if (write)
			heads.push('Decision');
		const filtered = f.peer || f.state || f.kind || f.q;
		box.append(table(plural(list.length, 'shared indicator',
		    'shared indicators') + (filtered ? ' (filtered)' : ''), heads,
		    list.length ? list.map((x) => el('tr',
			{ 'data-id': String(x.id) },
			el('td', { class: 'num' }, fmtNum(x.id)),
			el('td', { class: 'msg-cell' },
			    el('code', { class: 'shared-value' }, str(x.value)),
			    x.fingerprint ? [el('br'), el('span',
				{ class: 'muted' }, 'fingerprint ',
				el('code', {}, x.fingerprint))] : null,
			    (x.rule_ids || []).length ? [el('br'), el('span',
				{ class: 'muted' }, 'rules ',
				(x.rule_ids || []).map(String).join(', '))] :
				null,
			    /* the peer's payload excerpt (AMBER+ only), as
			     * text: el() never parses HTML */
			    x.excerpt ? el('details', { class: 'shared-excerpt' },
				el('summary', { class: 'muted' },
				    'payload excerpt'),
				el('pre', {}, str(x.excerpt))) : null),
			el('td', {}, str(x.kind)),
			el('td', {}, tlpBadge(x.tlp)),
			el('td', {}, el('span', { class: 'shared-origin' },
			    str(x.origin)), el('br'),
			    el('span', { class: 'muted' }, 'via peer ',
				el('span', { class: 'shared-peer' },
				    str(x.peer)))),
			el('td', { class: 'num' }, fmtNum(x.hosts)),
			el('td', {}, timeCell(x.first_received)),
			el('td', {}, timeCell(x.last_received)),
			el('td', {}, sharedStateBadge(x.state),
			    x.decided_by ? [el('br'), el('span',
				{ class: 'muted' }, 'by ', str(x.decided_by))] :
				null),
			el('td', { class: 'shared-reach' }, reachCell(x.reach)),
			el('td', { class: 'shared-matches' },
			    matchCell(x.matches)),
			write ? el('td', {}, decideButtons(x, msg)) : null)) :
			emptyRow(heads.length, filtered ?
			    'No shared indicator matches.' :
			    'No peer has shared an indicator yet.')));
		box.lastChild.querySelector('table').id = 'shared';
		box.append(pager('/shared', f, r.next_cursor, !!cursor));
		await bundlesSection(box);
	}

	/* How far a shared indicator went: hosts running a bundle with it,
	 * since which bundle. */
	function reachCell(r) {
		if (!r || !r.first_bundle)
			return el('span', { class: 'muted' }, 'in no bundle');
		return [plural(r.hosts || 0, 'host', 'hosts'), el('br'),
		    el('span', { class: 'muted' }, 'since bundle v' +
			fmtNum(r.first_bundle))];
	}

	function matchCell(m) {
		if (!m || !m.count)
			return el('span', { class: 'muted' }, 'no match');
		return [fmtNum(m.count) + ' on ' + plural(m.hosts || 0, 'host',
		    'hosts'), el('br'), el('span', { class: 'muted' }, 'last '),
		    timeCell(m.last)];
	}

	/* The bundles made from approved indicators, and the admin's Roll
	 * back (the current version is withdrawn, hosts go to the one
	 * before). */
	async function bundlesSection(box) {
		const [b, r] = await Promise.all([
			api('/api/v1/bundles', { limit: 10 }), role()]);
		const list = b.bundles || [];
		const msg = formMsg('bundles-msg');
		const heads = ['Version', 'Created', 'Entries', 'Hosts running',
		    'State'];
		const sec = el('section', { id: 'bundles-section' },
		    el('h2', {}, 'Bundles for the agents'),
		    el('p', { class: 'muted' }, 'Approved indicators go to ' +
			'this hub\'s agents as versioned bundles. ' +
			(b.current ? 'Current: v' + fmtNum(b.current) + '.' :
			'No bundle is current.')));
		if (r === 'admin' && b.current) {
			const btn = el('button', { type: 'button',
			    id: 'bundle-rollback' }, 'Roll back v' +
			    fmtNum(b.current));
			btn.addEventListener('click', () => act(btn, msg, () =>
			    post('/api/v1/bundles/rollback')));
			sec.append(el('div', { class: 'row-actions' }, btn));
		}
		sec.append(msg);
		sec.append(table(plural(list.length, 'bundle', 'bundles'), heads,
		    list.length ? list.map((x) => el('tr',
			{ 'data-version': String(x.version) },
			el('td', { class: 'num' }, 'v' + fmtNum(x.version)),
			el('td', {}, timeCell(x.created)),
			el('td', { class: 'num' }, fmtNum(x.entries)),
			el('td', { class: 'num' }, fmtNum(x.hosts_running)),
			el('td', {}, x.withdrawn ? ['withdrawn', el('br'),
			    el('span', { class: 'muted' }, 'by ',
				str(x.withdrawn_by))] : x.current ?
			    'current' : 'superseded'))) :
			emptyRow(heads.length, 'No bundle yet: nothing ' +
			    'approved.')));
		sec.lastChild.querySelector('table').id = 'bundles';
		box.append(sec);
	}

	function policyText(p) {
		const o = p || {};
		return {
			send: `up to ${str(o.send_tlp)}, severity ≥ ` +
			    `${str(o.send_min_severity)}, ` +
			    `${(o.send_kinds || []).map(String).join(', ') ||
				'no kind'}`,
			accept: `up to ${str(o.accept_tlp)}, ` +
			    (o.auto_approve ? 'approved at once' :
				'waits for an analyst'),
		};
	}

	async function peers(box) {
		box.append(el('h1', {}, 'Peers'));
		const r = await api('/api/v1/peers');
		const list = r.peers || [];
		box.append(el('p', { class: 'muted' }, 'Member hubs this hub ' +
		    'shares with (picket-hub peer add). Sent: what this hub ' +
		    'pushed and where it stands; received: what the peer ' +
		    'pushed here.'));
		const heads = ['Peer', 'Sends', 'Accepts', 'Sent', 'Received',
		    'Last error'];
		box.append(table(plural(list.length, 'peer', 'peers'), heads,
		    list.length ? list.map((p) => {
			const pol = policyText(p.policy);
			const s = p.sent || {}, rc = p.received || {};
			return el('tr', { 'data-peer': String(p.name) },
			    el('td', {}, el('strong', { class: 'peer-name' },
				str(p.name)), ' ', p.enabled ?
				el('span', { class: 'badge on' }, 'enabled') :
				el('span', { class: 'badge off' }, 'disabled'),
				el('br'), el('code', { class: 'peer-url' },
				    str(p.url)), el('br'),
				el('span', { class: 'muted',
				    title: str(p.ca_sha256) }, 'CA ',
				    el('code', {}, String(p.ca_sha256 || '')
					.slice(0, 16)), '…')),
			    el('td', { class: 'peer-send' }, pol.send),
			    el('td', { class: 'peer-accept' }, pol.accept),
			    el('td', { class: 'peer-sent' }, dl([
				['Bundles', fmtNum(s.bundles)],
				['Indicators', fmtNum(s.indicators)],
				['Next sequence', fmtNum(s.sequence)],
				['Cursor (row)', fmtNum(s.cursor)],
				['Last push', s.last_push ?
				    timeCell(s.last_push) : 'never'],
			    ])),
			    el('td', { class: 'peer-received' }, dl([
				['Bundles', fmtNum(rc.bundles)],
				['Indicators', fmtNum(rc.indicators)],
				['Last sequence', fmtNum(rc.sequence)],
				['Objects refused', fmtNum(rc.refused)],
			    ])),
			    el('td', { class: 'msg-cell peer-error' },
				p.sent && p.sent.last_error ? el('span',
				    { class: 'error-text' },
				    String(p.sent.last_error)) :
				el('span', { class: 'muted' }, 'none')));
		    }) : emptyRow(heads.length, 'No peer yet: add one with ' +
			'picket-hub peer add.')));
		box.lastChild.querySelector('table').id = 'peers';
	}

	/* ---------------------------------------------------- audit */

	async function audit(box, q) {
		const cursor = q.get('cursor');
		box.append(el('h1', {}, 'Audit log'));
		let r;
		try {
			r = await api('/api/v1/audit', { limit: TABLE_PAGE, cursor });
		} catch (e) {
			if (e.status === 403) {
				sessionStorage.setItem(NOAUDIT_KEY, '1');
				$('nav-audit').hidden = true;
			}
			throw e;
		}
		const list = r.audit || [];
		const heads = ['#', 'Time', 'Actor', 'Role', 'Action', 'Target',
		    'From', 'Result'];
		box.append(table('Admin actions, writes and refusals, newest ' +
		    'first', heads, list.length ? list.map((a) => el('tr', {},
			el('td', { class: 'num' }, fmtNum(a.id)),
			el('td', {}, timeCell(a.time)),
			el('td', {}, str(a.actor)),
			el('td', {}, str(a.role)),
			el('td', {}, el('code', {}, str(a.action))),
			el('td', { class: 'msg-cell' }, str(a.target)),
			el('td', {}, str(a.remote)),
			el('td', {}, str(a.result)))) :
			emptyRow(heads.length, 'The audit log is empty.')));
		box.lastChild.querySelector('table').id = 'audit';
		box.append(pager('/audit', {}, r.next_cursor, !!cursor));
	}

	/* ---------------------------------------------------- routing */

	const ROUTES = [
		[/^\/overview$/, 'overview', overview],
		[/^\/indicators$/, 'indicators', indicators],
		[/^\/hosts$/, 'hosts', hosts],
		[/^\/hosts\/([^/]+)$/, 'hosts', host],
		[/^\/outbreaks$/, 'outbreaks', outbreaks],
		[/^\/tasks$/, 'tasks', tasks],
		[/^\/tasks\/(\d+)$/, 'tasks', task],
		[/^\/incidents$/, 'incidents', incidents],
		[/^\/incidents\/(\d+)$/, 'incidents', incident],
		[/^\/incidents\/(\d+)\/report$/, 'incidents', report],
		[/^\/shared$/, 'shared', shared],
		[/^\/peers$/, 'peers', peers],
		[/^\/audit$/, 'audit', audit],
	];

	let renderSeq = 0;
	let lastPath = '';

	function parseHash() {
		const h = location.hash.replace(/^#/, '');
		const i = h.indexOf('?');
		return {
			path: (i < 0 ? h : h.slice(0, i)) || '/overview',
			query: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)),
		};
	}

	function errorBox(e) {
		const forbidden = e.status === 403;
		return el('div', { class: forbidden ? 'msg forbidden' : 'msg error',
		    role: 'alert', id: forbidden ? 'forbidden' : 'error' },
		    forbidden ? 'Your role cannot see this.' :
		    'Could not load this page: ' + e.message);
	}

	async function render() {
		if (!token()) {
			showLogin($('login-msg').textContent);
			return;
		}
		showApp();
		role().then((r) => {
			$('nav-peers').hidden = r !== 'admin';
		}, () => { /* the page's own calls report it */ });
		const { path, query } = parseHash();
		const route = ROUTES.find(([re]) => re.test(path));
		if (!route) {
			location.hash = '#/overview';
			return;
		}
		const [re, name, fn] = route;
		let args;
		try {
			args = re.exec(path).slice(1).map(decodeURIComponent);
		} catch (e) {
			location.hash = '#/hosts';
			return;
		}
		for (const a of $('nav').querySelectorAll('a'))
			if (a.dataset.page === name)
				a.setAttribute('aria-current', 'page');
			else
				a.removeAttribute('aria-current');
		const seq = ++renderSeq;
		const view = $('view');
		view.setAttribute('aria-busy', 'true');
		setStatus('Loading…');
		const box = el('div', { class: 'page', id: 'page-' + name });
		try {
			await fn(box, query, ...args);
		} catch (e) {
			if (seq !== renderSeq || e.status === 401)
				return;
			box.append(errorBox(e));
		}
		if (seq !== renderSeq)
			return;
		view.replaceChildren(box);
		view.removeAttribute('aria-busy');
		document.title = `${name[0].toUpperCase()}${name.slice(1)} · ` +
		    'Picket hub';
		setStatus('');
		if (path !== lastPath) {
			lastPath = path;
			const h1 = box.querySelector('h1');
			if (h1) {
				h1.setAttribute('tabindex', '-1');
				h1.focus({ preventScroll: true });
			}
		}
	}

	function start() {
		$('login-form').addEventListener('submit', onLogin);
		$('logout').addEventListener('click', () => logout('Signed out.'));
		$('export').addEventListener('click', onExport);
		window.addEventListener('hashchange', render);
		render();
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', start);
	else
		start();
})();
