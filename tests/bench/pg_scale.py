#!/usr/bin/python3
"""Scale benchmark of the PostgreSQL store: the UI's pages timed through
the real API over a database of R indicators (issue 13).  A benchmark,
not a test: it prints what it measured.

1. A PostgreSQL server: $PICKET_TEST_PG, or --pgdir DIR (started with
   tests/pg/pgserver.sh if needed, left running), or else a private one
   in a temporary directory (tests/pg/pgserver.sh, stopped and removed at
   the end).  A fresh schema; one real `picket-hub serve` with [store]
   backend = postgresql creates the hub's schema in it and stops.
2. The fill, server-side (INSERT ... SELECT over generate_series, chunk
   by chunk in ingest-time order so that a chunk writes one or two day
   partitions): R rows over D days of ingest time, the day partitions
   indicators_d<day> made first as hub/store_pg.c names them; H hosts
   with a skewed share (the busiest about 1/sqrt(H) of the rows), 300
   rule ids with a skewed share (the commonest about 15 %), alerts and
   events, severities, addresses, ports, fingerprints per (rule,
   destination) and a compact JSON text per row with every field
   hub/ingest.c hub_extract reads.  Then the hosts rows and ANALYZE.
3. The hub again, HTTPS API on, a viewer token: each request the UI's
   pages make (hub/ui/app.js: overview, indicators with each filter and
   the next page, hosts, one host, outbreaks, tasks, incidents, shared,
   bundles) is timed --repeat times over one keep-alive connection
   (median and max); a request slower than --slow seconds is not
   repeated.  The store's SQL for the main pages is run under EXPLAIN
   (ANALYZE, BUFFERS) and the plans written to --plans.
4. Retention: `picket-hub serve` with retention_days = D - 2, so that the
   cutoff falls in the second oldest day: the oldest day goes as a
   partition (DROP TABLE), the second oldest day's rows before the cutoff
   row by row, as the hub's retention does it; each part timed from the
   hub's log lines as they arrive.
5. A table of every figure: fill rows/s, sizes, bytes per row, each page.

    /usr/bin/python3 tests/bench/pg_scale.py [--smoke] [--rows R]
        [--days D] [--hosts H] [--repeat N] [--keep] [--pgdir DIR]
        [--plans FILE]

Before the fill the server's free disk is checked against R times
ROW_BYTES (heap and indexes per row, measured at 1M rows): the script
stops, naming the largest R that fits, rather than fill the disk.
The hub answers a request it worked on for more than its HTTP timeout
(30 s) with a closed connection: such a page is shown with status 0.

--smoke: R=20000, D=3, H=50; asserts that every page answers 200 and
that the pages that must have rows have them.  --keep: the schema (and a
private server) stay.  The hub is PICKET_HUB (default build/picket-hub).
Traffic stays on 127.0.0.1 and the server's Unix socket.
"""
import argparse
import http.client
import json
import os
import pathlib
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import hubrun  # noqa: E402

PGSERVER = os.path.join(REPO, "tests", "pg", "pgserver.sh")
DAY_US = 86400 * 1000000
ROW_BYTES = 1750                # heap + indexes per row (1M rows: 1690)
NRULES = 300

# The named rules: (id, name, ruleset, kind, severity, message words).
# The rest of the 300 are Suricata-like "sid.<n>" rules.  Index order is
# the popularity order (index 0 the commonest).
NAMED_RULES = [
    ("picket.scan.port", "Port scan", "picket-builtin", "alert", 47,
     "scanned tcp ports on"),
    ("picket.fingerprint.smb", "Worm fingerprint over SMB",
     "picket-builtin", "alert", 80, "sent the worm payload to"),
    ("picket.health.capture", "Capture health", "picket-builtin", "event",
     0, "capture ok, packets seen by"),
    ("picket.dns.tunnel", "DNS tunnelling", "picket-builtin", "alert", 60,
     "long DNS labels toward"),
    ("picket.ioc.domain", "Known bad domain", "picket-builtin", "alert", 75,
     "resolved a listed domain via"),
    ("picket.process.exec", "Process started", "picket-builtin", "event",
     5, "started a process talking to"),
    ("picket.scan.sweep", "Address sweep", "picket-builtin", "alert", 50,
     "swept addresses near"),
    ("picket.health.spool", "Spool health", "picket-builtin", "event", 0,
     "spool ok, batches for"),
    ("picket.tls.selfsigned", "Self-signed TLS", "picket-builtin", "alert",
     30, "accepted a self-signed certificate from"),
    ("picket.process.scan", "Process scanning", "picket-builtin", "alert",
     55, "a process probed"),
]
RARE_RULE = NRULES - 1          # its message has a word of its own
RARE_WORD = "mimikatz"
COMMON_WORD = "scanned"         # the commonest rule's message
NO_WORD = "zzqx-nowhere"        # matches no row: the text filter's worst


def rules_values():
    """VALUES rows of the rules table."""
    rows = []
    for i in range(NRULES):
        if i < len(NAMED_RULES):
            rid, name, rs, kind, sev, msg = NAMED_RULES[i]
        elif i == RARE_RULE:
            rid, name, rs, kind, sev, msg = (
                "sid.2099999", "ET TROJAN Mimikatz credential dump",
                "et-open", "alert", 95, f"{RARE_WORD} traffic toward")
        else:
            rid = f"sid.{2000000 + i * 37}"
            kind = "event" if i % 4 == 1 else "alert"
            name = f"ET POLICY suspicious flow class {i}"
            rs, sev, msg = "et-open", 10 + (i * 7) % 80, f"flow class {i} to"
        rows.append(f"({i},'{rid}','{name}','{rs}','{kind}',{sev},'{msg}')")
    return ",".join(rows)


# ------------------------------------------------------------ postgres

def psql(dsn, sql, timeout=None):
    """Run sql (one or more statements, one transaction) under psql:
    its output (unaligned, tuples only)."""
    p = subprocess.run(["psql", dsn, "-qAtX", "-v", "ON_ERROR_STOP=1",
                        "-c", sql], capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"psql: {p.stderr.strip()}\nSQL: {sql[:400]}")
    return p.stdout.strip()


def server(o):
    """(dsn, private dir to remove or None)."""
    env = os.environ.get("PICKET_TEST_PG")
    if env:
        return env, None
    d = o.pgdir
    own = d is None
    if own:
        d = tempfile.mkdtemp(prefix="pgscale-srv-", dir="/tmp")
        os.chmod(d, 0o755)
        d = os.path.join(d, "srv")
    p = subprocess.run(["sh", PGSERVER, "start", d], capture_output=True,
                       text=True, timeout=300)
    if p.returncode != 0:
        sys.exit(f"pg_scale: pgserver: {p.stderr.strip()}")
    return p.stdout.strip(), (d if own else None)


def disk_check(dsn, rows):
    """Exit if R rows (about ROW_BYTES each, heap and indexes, measured
    at 1M rows) would not fit in 90 % of the server's free disk."""
    try:
        d = psql(dsn, "SHOW data_directory")
        free = shutil.disk_usage(d).free
    except (RuntimeError, OSError):
        return                      # a server elsewhere: not checked
    need = rows * ROW_BYTES
    print(f"pg_scale: {rows} rows need about {need / 1e9:.1f} GB, "
          f"{free / 1e9:.1f} GB free", flush=True)
    if need > free * 0.9:
        sys.exit(f"pg_scale: not enough disk for {rows} rows; at most "
                 f"--rows {int(free * 0.9 / ROW_BYTES)}")


def server_stop(d):
    subprocess.run(["sh", PGSERVER, "stop", d], timeout=300,
                   capture_output=True)
    shutil.rmtree(os.path.dirname(d), ignore_errors=True)


# ------------------------------------------------------------ fill

def fill_sql(schema, lo, hi, o, start_us, span_us):
    """INSERT rows lo..hi-1 (row i's ingest time start + i * span / R)."""
    h, r = o.hosts, o.rows
    return f"""
SET search_path = {schema};
SELECT setseed({(lo % 1000003) / 1000003.0});
INSERT INTO indicators (agent_id, seq, ingest_us, ts_us, timestamp,
  rule_id, rule_name, ruleset, event_kind, severity, source_ip,
  destination_ip, destination_port, transport, direction, fingerprint,
  first_seen, last_seen, count, json)
SELECT h.agent_id, g.i + 1, g.ing, g.ts, g.tstxt, r.id, r.name, r.ruleset,
  r.kind, LEAST(100, r.sev + g.sevd), h.ip, g.dst, g.port, g.tr, g.dir,
  g.fp, g.fstxt, g.tstxt, g.cnt,
  '{{"@timestamp":"' || g.tstxt || '","event":{{"kind":"' || r.kind ||
  '","module":"network","dataset":"' || r.id || '","severity":' ||
  LEAST(100, r.sev + g.sevd) ||
  '}},"host":{{"id":"' || h.agent_id || '","name":"' || h.name ||
  '"}},"agent":{{"id":"' || h.agent_id ||
  '","type":"picketd","version":"0.1.0"}},"rule":{{"id":"' || r.id ||
  '","name":"' || r.name || '","ruleset":"' || r.ruleset ||
  '"}},"message":"' || h.ip || ' ' || r.msg || ' ' || g.dst || ':' ||
  g.port || '","source":{{"ip":"' || h.ip || '"}},"destination":{{"ip":"' ||
  g.dst || '","port":' || g.port || '}},"network":{{"transport":"' || g.tr ||
  '","direction":"' || g.dir || '"}},' ||
  CASE WHEN r.id = 'picket.ioc.domain' THEN
  '"threat":{{"indicator":{{"type":"domain-name","name":"bad-' ||
  (g.dx % 500) || '.example"}}}},' ELSE '' END ||
  '"picket":{{"seq":' || (g.i + 1) || ',"count":' || g.cnt ||
  ',"first_seen":"' || g.fstxt || '","last_seen":"' || g.tstxt ||
  '","fingerprint":"' || g.fp || '","tlp":"TLP:AMBER"}}}}'
FROM (
  SELECT x.*,
    to_char(timestamp 'epoch' + x.ts * interval '1 microsecond',
      'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS tstxt,
    to_char(timestamp 'epoch' + (x.ts - (x.cnt - 1) * 2000000) *
      interval '1 microsecond', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS fstxt,
    (100 + x.dx / 65536) || '.' || (x.dx / 256 % 256) || '.' ||
      (x.dx % 256) || '.' || (1 + x.dx * 7 % 254) AS dst,
    (ARRAY[443,80,53,445,22,3389,8080,25,123,1900])[x.px + 1] AS port,
    CASE WHEN x.px IN (2, 8, 9) THEN 'udp' ELSE 'tcp' END AS tr,
    md5(x.rx || '/' || x.dx) AS fp
  FROM (
    SELECT i,
      {start_us}::bigint + (i::numeric * {span_us} / {r})::bigint AS ing,
      {start_us}::bigint + (i::numeric * {span_us} / {r})::bigint -
        (random() ^ 4 * 300000000)::bigint AS ts,
      floor({h} * random() ^ 2)::int AS hx,
      floor({NRULES} * random() ^ 3)::int AS rx,
      floor(60000 * random() ^ 4)::int AS dx,
      floor(10 * random() ^ 2)::int AS px,
      1 + floor(random() ^ 8 * 50)::int AS cnt,
      floor(random() * 10)::int AS sevd,
      CASE WHEN random() < 0.7 THEN 'outbound' WHEN random() < 0.8 THEN
        'inbound' ELSE 'unknown' END AS dir
    FROM generate_series({lo}::bigint, {hi - 1}::bigint) AS i OFFSET 0
  ) x OFFSET 0
) g
JOIN pgscale_rules r ON r.idx = g.rx
JOIN pgscale_hosts h ON h.idx = g.hx
"""


def fill(dsn, schema, o, now_us):
    """Partitions, helper tables, the rows, hosts, ANALYZE: figures."""
    d_last = now_us // DAY_US
    d_first = d_last - o.days + 1
    start_us = d_first * DAY_US          # the oldest day is a whole day
    span_us = now_us - 60 * 1000000 - start_us
    sql = [f"SET search_path = {schema}"]
    for d in range(d_first, d_last + 1):
        sql.append(f"CREATE TABLE IF NOT EXISTS indicators_d{d} PARTITION "
                   f"OF indicators FOR VALUES FROM ({d * DAY_US}) TO "
                   f"({(d + 1) * DAY_US})")
    psql(dsn, ";".join(sql))
    psql(dsn, f"""SET search_path = {schema};
CREATE TABLE pgscale_rules (idx int PRIMARY KEY, id text, name text,
  ruleset text, kind text, sev int, msg text);
INSERT INTO pgscale_rules VALUES {rules_values()};
CREATE TABLE pgscale_hosts (idx int PRIMARY KEY, agent_id text, name text,
  ip text);
INSERT INTO pgscale_hosts SELECT a, md5('pgscale-host-' || a),
  'ws-' || lpad(a::text, 5, '0'),
  '10.' || (a / 65536) || '.' || (a / 256 % 256) || '.' || (a % 256)
  FROM generate_series(0, {o.hosts - 1}) AS a;
ANALYZE pgscale_rules; ANALYZE pgscale_hosts""")
    chunk = max(1000, min(o.chunk, o.rows))
    t0 = time.monotonic()
    done = 0
    while done < o.rows:
        hi = min(o.rows, done + chunk)
        psql(dsn, fill_sql(schema, done, hi, o, start_us, span_us))
        done = hi
        el = time.monotonic() - t0
        if o.rows > chunk:
            print(f"pg_scale: fill {done}/{o.rows} rows, {el:.0f} s, "
                  f"{done / el:.0f} rows/s", flush=True)
    fill_s = time.monotonic() - t0
    psql(dsn, f"""SET search_path = {schema};
INSERT INTO hosts (agent_id, host_name, first_seen_us, last_seen_us,
  last_seq, dropped, rejected)
SELECT agent_id, name, {start_us}, {now_us} - (idx % 600) * 1000000,
  {o.rows}, 0, 0 FROM pgscale_hosts""")
    t1 = time.monotonic()
    psql(dsn, f"SET search_path = {schema}; ANALYZE indicators; "
         "ANALYZE hosts")
    analyze_s = time.monotonic() - t1
    return {"fill_s": fill_s, "analyze_s": analyze_s, "d_first": d_first,
            "d_last": d_last, "start_us": start_us}


def sizes(dsn, schema):
    """Bytes of the indicators (heap + TOAST, indexes) and the database."""
    out = psql(dsn, f"""SET search_path = {schema};
SELECT coalesce(sum(pg_table_size(c.oid)), 0),
  coalesce(sum(pg_indexes_size(c.oid)), 0),
  pg_database_size(current_database())
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'indicators'::regclass""")
    heap, idx, db = (int(x) for x in out.split("|"))
    return heap, idx, db


# ------------------------------------------------------------ API

class Api:
    """One keep-alive HTTPS connection to the hub's API, viewer token."""

    def __init__(self, hub, certs, token, timeout):
        self.host, self.port = hub.host, hub.api_port
        self.ctx = ssl.create_default_context(
            cafile=os.path.join(certs, "ca.crt"))
        self.token, self.timeout = token, timeout
        self.c = None

    def get(self, path, params=None):
        """(status, JSON or None, seconds)."""
        q = urllib.parse.urlencode({k: v for k, v in (params or {}).items()
                                    if v is not None})
        url = path + ("?" + q if q else "")
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx,
                    timeout=self.timeout)
                self.c.connect()
            t0 = time.monotonic()
            try:
                self.c.request("GET", url, headers={
                    "Authorization": f"Bearer {self.token}"})
                r = self.c.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException):
                el = time.monotonic() - t0
                self.c.close()
                self.c = None
                if attempt or el > 1:
                    return 0, None, el     # no answer (status 0)
                continue                   # a kept-alive connection died
            el = time.monotonic() - t0
            if r.getheader("Connection", "").lower() == "close":
                self.c.close()
                self.c = None
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
            return r.status, doc, el
        raise RuntimeError("unreachable")


def nrows(doc):
    """The rows a page carries (its first list), or 0."""
    if not isinstance(doc, dict):
        return 0
    for k in ("indicators", "hosts", "outbreaks", "groups", "tasks",
              "incidents", "shared", "bundles", "rules"):
        if isinstance(doc.get(k), list):
            return len(doc[k])
    if isinstance(doc.get("host"), dict):
        return 1
    return 0


def pages(o, busy, median, cursor_of):
    """(label, function api -> (status, doc, seconds), must have rows)."""
    since24 = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                            time.gmtime(time.time() - 86400))

    def ind(**p):
        return lambda a: a.get("/api/v1/indicators", {"limit": 100, **p})

    def overview_rows(a):
        # app.js fetchRows: pages of 1000 alerts since 24 h, up to 5000
        rows, cur, t, st, doc = 0, None, 0.0, 200, None
        while True:
            st, doc, el = a.get("/api/v1/indicators",
                                {"kind": "alert", "since": since24,
                                 "limit": 1000, "cursor": cur})
            t += el
            if st != 200:
                return st, doc, t
            rows += len(doc["indicators"])
            cur = doc["next_cursor"]
            if not cur or rows >= 5000:
                return st, {"indicators": [None] * rows}, t

    def second(a):
        return a.get("/api/v1/indicators", {"limit": 100,
                                            "cursor": cursor_of()})

    return [
        ("indicators newest 100", ind(), True),
        ("indicators page 2 (cursor)", second, True),
        ("indicators host=busiest", ind(host=busy), True),
        ("indicators host=median", ind(host=median), True),
        ("indicators rule=commonest", ind(rule="picket.scan.port"), True),
        ("indicators rule=rare", ind(rule="sid.2099999"), not o.smoke),
        ("indicators kind=alert", ind(kind="alert"), True),
        ("indicators kind=event", ind(kind="event"), True),
        ("indicators severity>=90", ind(severity=90), not o.smoke),
        ("indicators q=common word", ind(q=COMMON_WORD), True),
        ("indicators q=rare word", ind(q=RARE_WORD), not o.smoke),
        ("indicators host+kind=alert", ind(host=median, kind="alert"),
         False),
        ("overview: alerts 24h x5000", overview_rows, True),
        ("overview/hosts: /hosts", lambda a: a.get("/api/v1/hosts"), True),
        ("host page: /hosts/busiest",
         lambda a: a.get("/api/v1/hosts/" + busy), True),
        ("host page: /hosts/median",
         lambda a: a.get("/api/v1/hosts/" + median), True),
        ("host page: timeline 50", lambda a: a.get(
            "/api/v1/indicators", {"host": busy, "limit": 50}), True),
        ("host page: capture health 1", lambda a: a.get(
            "/api/v1/indicators", {"host": median, "limit": 1,
                                   "rule": "picket.health.capture"}),
         False),
        ("host page: spool health 1", lambda a: a.get(
            "/api/v1/indicators", {"host": median, "limit": 1,
                                   "rule": "picket.health.spool"}), False),
        ("outbreaks since=24h", lambda a: a.get(
            "/api/v1/outbreaks", {"since": "24h"}), False),
        ("outbreaks since=7d", lambda a: a.get(
            "/api/v1/outbreaks", {"since": "7d"}), False),
        ("tasks", lambda a: a.get("/api/v1/tasks", {"limit": 50}), False),
        ("incidents", lambda a: a.get("/api/v1/incidents",
                                      {"state": "open", "limit": 50}),
         False),
        ("shared", lambda a: a.get("/api/v1/shared", {"limit": 50}), False),
        ("bundles", lambda a: a.get("/api/v1/bundles", {"limit": 10}),
         False),
        ("indicators q=no match (worst)", ind(q=NO_WORD), False),
    ]


def time_pages(api, o, busy, median):
    first = {}

    def cursor_of():
        return first["cursor"]

    st, doc, _ = api.get("/api/v1/indicators", {"limit": 100})
    if st != 200 or not doc.get("next_cursor"):
        raise RuntimeError(f"first page: {st} {doc}")
    first["cursor"] = doc["next_cursor"]
    res = []
    for label, fn, must in pages(o, busy, median, cursor_of):
        times, status, rows = [], [], 0
        for k in range(o.repeat):
            st, doc, el = fn(api)
            times.append(el)
            status.append(st)
            rows = nrows(doc)
            if el > o.slow:
                break
        res.append({"label": label, "times": times, "status": status,
                    "rows": rows, "must": must})
        print(f"pg_scale: {label}: median {statistics.median(times):.3f} s, "
              f"max {max(times):.3f} s, {rows} rows, status "
              f"{sorted(set(status))}", flush=True)
    return res


# ------------------------------------------------------------ plans

def plans(dsn, schema, busy, median, now_us, path):
    """EXPLAIN (ANALYZE, BUFFERS) of the store's statements for the main
    pages, with the parameters the API gives them."""
    cols = ("agent_id, seq, ingest_us, ts_us, timestamp, rule_id, "
            "rule_name, ruleset, event_kind, severity, source_ip, "
            "destination_ip, destination_port, transport, direction, "
            "fingerprint, first_seen, last_seen, count, json, shared_ref")
    order = ('ORDER BY ts_us DESC, agent_id COLLATE "C" DESC, seq DESC '
             'LIMIT $%d::bigint')
    host = ("(agent_id = $1 OR agent_id IN (SELECT agent_id FROM hosts "
            "WHERE host_name = $1))")
    txt = ('(strpos(lower(rule_name COLLATE "C"), lower($1::text COLLATE '
           '"C")) > 0 OR strpos(lower(coalesce(json::jsonb ->> \'message\', '
           '\'\') COLLATE "C"), lower($1::text COLLATE "C")) > 0)')
    last = psql(dsn, f"SET search_path = {schema}; SELECT ts_us, agent_id, "
                "seq FROM indicators ORDER BY ts_us DESC, agent_id COLLATE "
                "\"C\" DESC, seq DESC OFFSET 100 LIMIT 1").split("|")
    cutoff = now_us - 86400 * 1000000
    q = [
        ("indicators newest page (pg_find, no filter)",
         f"SELECT {cols} FROM indicators WHERE TRUE {order % 1}",
         "(bigint)", "(101)"),
        ("indicators page 2 (pg_find, cursor)",
         f"SELECT {cols} FROM indicators WHERE TRUE AND ts_us <= $1::bigint "
         "AND (ts_us, agent_id COLLATE \"C\", seq) < ($1::bigint, $2::text, "
         f"$3::bigint) {order % 4}", "(bigint, text, bigint, bigint)",
         f"({last[0]}, '{last[1]}', {last[2]}, 101)"),
        ("indicators host=busiest (pg_find)",
         f"SELECT {cols} FROM indicators WHERE TRUE AND {host} {order % 2}",
         "(text, bigint)", f"('{busy}', 101)"),
        ("indicators rule=commonest (pg_find)",
         f"SELECT {cols} FROM indicators WHERE TRUE AND rule_id = $1 "
         f"{order % 2}", "(text, bigint)", "('picket.scan.port', 101)"),
        ("indicators severity>=90 (pg_find)",
         f"SELECT {cols} FROM indicators WHERE TRUE AND severity >= $1 "
         f"{order % 2}", "(bigint, bigint)", "(90, 101)"),
        (f"indicators q={RARE_WORD} (pg_find text)",
         f"SELECT {cols} FROM indicators WHERE TRUE AND {txt} {order % 2}",
         "(text, bigint)", f"('{RARE_WORD}', 101)"),
        ("host page rules of the busiest host (pg_host_rules)",
         "SELECT rule_id, max(rule_name COLLATE \"C\"), count(*), "
         "max(ts_us) FROM indicators WHERE agent_id = $1 GROUP BY rule_id "
         "ORDER BY count(*) DESC, rule_id COLLATE \"C\"", "(text)",
         f"('{busy}')"),
        ("PROPOSED: indicators host=busiest with the host resolved first "
         "(agent_id = $1 only)",
         f"SELECT {cols} FROM indicators WHERE TRUE AND agent_id = $1 "
         f"{order % 2}", "(text, bigint)", f"('{busy}', 101)"),
        ("indicators host=median (pg_find)",
         f"SELECT {cols} FROM indicators WHERE TRUE AND {host} {order % 2}",
         "(text, bigint)", f"('{median}', 101)"),
        ("PROPOSED: indicators host=median with the host resolved first "
         "(agent_id = $1 only)",
         f"SELECT {cols} FROM indicators WHERE TRUE AND agent_id = $1 "
         f"{order % 2}", "(text, bigint)", f"('{median}', 101)"),
        ("outbreaks 24h (pg_query kind=alert since, limit 400001)",
         f"SELECT {cols} FROM indicators WHERE TRUE AND ts_us >= $1 AND "
         "event_kind = $2 ORDER BY ts_us, agent_id COLLATE \"C\", seq "
         "LIMIT $3::bigint", "(bigint, text, bigint)",
         f"({cutoff}, 'alert', 400001)"),
    ]
    with open(path, "w") as f:
        for title, sql, types, args in q:
            out = psql(dsn, f"SET search_path = {schema}; PREPARE p{types} "
                       f"AS {sql}; EXPLAIN (ANALYZE, BUFFERS) EXECUTE p{args}",
                       timeout=3600)
            f.write(f"=== {title}\n{sql}\n-- parameters {args}\n{out}\n\n")
    return path


# ------------------------------------------------------------ retention

def retention(hubdir, days, dsn, schema, d_first):
    """Start the hub of hubdir (its hub.ini) with retention_days =
    days - 2: (figures, log)."""
    ini = (hubdir / "hub.ini").read_text().replace("retention_days = 0",
                                      f"retention_days = {days - 2}")
    path = hubdir / "hub-retention.ini"
    path.write_text(ini)
    oldest = psql(dsn, f"SET search_path = {schema}; SELECT count(*) FROM "
                  f"indicators_d{d_first}")
    before = psql(dsn, f"SET search_path = {schema}; SELECT count(*) FROM "
                  "indicators")
    t0 = time.monotonic()
    p = subprocess.Popen([str(hubrun.HUB), "serve", "-c", str(path)],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         text=True)
    t_drop = t_done = None
    log = []
    for line in p.stderr:
        now = time.monotonic() - t0
        log.append(f"{now:8.3f} {line.rstrip()}")
        if "dropped the partition" in line and t_drop is None:
            t_drop = now
        if "retention: deleted" in line:
            t_done = now
        if "listening on" in line:
            if t_done is None:
                t_done = now
            break
    listen = time.monotonic() - t0
    p.terminate()
    p.wait(timeout=60)
    after = psql(dsn, f"SET search_path = {schema}; SELECT count(*) FROM "
                 "indicators")
    if t_drop is None:
        raise RuntimeError("retention dropped no partition:\n" +
                           "\n".join(log))
    return {"oldest_rows": int(oldest), "removed": int(before) - int(after),
            "drop_s": t_drop, "rows_s": t_done - t_drop,
            "row_deleted": int(before) - int(after) - int(oldest),
            "listen_s": listen}, log


# ------------------------------------------------------------ main

def hub_rss(hub):
    with open(f"/proc/{hub.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def table(rows):
    w = max(len(r[0]) for r in rows)
    return "\n".join(f"{a:<{w}}  {b}" for a, b in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--rows", type=int, default=100000000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--hosts", type=int, default=10000)
    ap.add_argument("--chunk", type=int, default=1000000,
                    help="rows per INSERT statement")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--slow", type=float, default=10.0,
                    help="seconds past which a page is not repeated")
    ap.add_argument("--timeout", type=float, default=1800.0,
                    help="seconds a request may take")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--pgdir")
    ap.add_argument("--schema")
    ap.add_argument("--plans")
    o = ap.parse_args()
    if o.smoke:
        o.rows, o.days, o.hosts, o.repeat = 20000, 3, 50, 3
    if o.days < 3 or o.hosts < 2 or o.rows < 1000:
        sys.exit("pg_scale: need --days >= 3, --hosts >= 2, --rows >= 1000")
    if not hubrun.HUB.exists():
        sys.exit(f"pg_scale: {hubrun.HUB} missing (make it or set "
                 "PICKET_HUB)")
    pg, own_dir = server(o)
    disk_check(pg, o.rows)
    schema = o.schema or f"pgscale_{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="pgscale-")
    tmpp = pathlib.Path(tmp)
    plans_path = o.plans or (os.path.join(tmp, "plans.txt") if o.smoke
                             else f"/tmp/{schema}-plans.txt")
    psql(pg, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA "
         f"{schema}")
    dsn = f"{pg} application_name={schema} options='-c search_path={schema}'"
    figs, ok = [], True
    hub = None
    try:
        certs = hubrun.mkcerts(tmpp / "certs")
        store = {"store": {"backend": "postgresql", "dsn": dsn}}
        hub = hubrun.Hub(tmpp / "hub", certs, sections=store,
                         retention_days=0)
        hub.stop()
        hub = None
        settings = psql(pg, "SELECT current_setting('server_version') || ' "
                        "shared_buffers ' || current_setting('shared_buffers')"
                        " || ' work_mem ' || current_setting('work_mem')")
        now_us = int(time.time() * 1000000)
        f = fill(pg, schema, o, now_us)
        heap, idx, db = sizes(pg, schema)
        figs += [
            ("server", settings),
            ("rows R / days D / hosts H", f"{o.rows} / {o.days} / "
             f"{o.hosts}"),
            ("fill seconds", f"{f['fill_s']:.1f}"),
            ("fill rows/s", f"{o.rows / f['fill_s']:.0f}"),
            ("ANALYZE seconds", f"{f['analyze_s']:.1f}"),
            ("indicators heap+TOAST bytes", f"{heap} ({heap / 2**30:.2f} "
             "GiB)"),
            ("indicators index bytes", f"{idx} ({idx / 2**30:.2f} GiB)"),
            ("database size bytes", f"{db} ({db / 2**30:.2f} GiB)"),
            ("bytes per row (heap+TOAST)", f"{heap / o.rows:.0f}"),
            ("bytes per row (indexes)", f"{idx / o.rows:.0f}"),
            ("bytes per row (heap+indexes)", f"{(heap + idx) / o.rows:.0f}"),
        ]
        stat = psql(pg, f"SET search_path = {schema}; "
                    "SELECT h.agent_id, count(*) FROM indicators i JOIN "
                    "pgscale_hosts h ON h.agent_id = i.agent_id WHERE h.idx "
                    f"IN (0, {o.hosts // 2}) GROUP BY h.agent_id, h.idx "
                    "ORDER BY h.idx", timeout=3600).splitlines()
        busy, median = (x.split("|")[0] for x in stat)
        figs.append(("rows of busiest / median host",
                     " / ".join(x.split("|")[1] for x in stat)))
        psql(pg, f"SET search_path = {schema}; DROP TABLE pgscale_rules; "
             "DROP TABLE pgscale_hosts")
        hub = hubrun.Hub(tmpp / "hub", certs, sections=store,
                         retention_days=0)
        token = hub.token("viewer", "pgscale")
        api = Api(hub, str(certs), token, o.timeout)
        res = time_pages(api, o, busy, median)
        figs.append(("hub peak RSS KiB after the pages", str(hub_rss(hub))))
        # a request the hub gave up on may still run in the server
        psql(pg, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
             f"WHERE application_name = '{schema}' AND state = 'active' "
             "AND pid <> pg_backend_pid()")
        try:
            hub.stop()
        except subprocess.TimeoutExpired:
            hub.proc.kill()
        hub = None
        for r in res:
            t = r["times"]
            figs.append((f"GET {r['label']}",
                         f"median {statistics.median(t) * 1000:9.1f} ms  "
                         f"max {max(t) * 1000:9.1f} ms  n={len(t)}  "
                         f"rows {r['rows']}" +
                         ("" if set(r["status"]) == {200} else
                          f"  status {r['status']}")))
            if any(s != 200 for s in r["status"]) or (r["must"] and
                                                      r["rows"] == 0):
                ok = False
                print(f"pg_scale: FAIL {r['label']}: status {r['status']}, "
                      f"{r['rows']} rows", flush=True)
        t0 = time.monotonic()
        plans(pg, schema, busy, median, now_us, plans_path)
        figs.append(("EXPLAIN ANALYZE seconds (all plans)",
                     f"{time.monotonic() - t0:.1f}"))
        ret, log = retention(tmpp / "hub", o.days, pg, schema,
                             f["d_first"])
        figs += [
            ("retention: oldest day's partition rows",
             str(ret["oldest_rows"])),
            ("retention: partition dropped after s (from hub start)",
             f"{ret['drop_s']:.3f}"),
            ("retention: rows deleted row by row (next day)",
             str(ret["row_deleted"])),
            ("retention: row-by-row seconds", f"{ret['rows_s']:.3f}"),
            ("retention: rows removed in all", str(ret["removed"])),
            ("retention: hub listening after s", f"{ret['listen_s']:.3f}"),
        ]
        if ret["removed"] < ret["oldest_rows"] or ret["oldest_rows"] == 0:
            ok = False
            print("pg_scale: FAIL retention:\n" + "\n".join(log))
        heap2, idx2, db2 = sizes(pg, schema)
        figs.append(("database size after retention",
                     f"{db2} ({db2 / 2**30:.2f} GiB)"))
        if o.keep or not plans_path.startswith(tmp):
            figs.append(("plans written to", plans_path))
    finally:
        if hub is not None:
            hub.proc.kill()
        if not o.keep:
            try:
                psql(pg, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            except RuntimeError as e:
                print(f"pg_scale: {e}")
            if own_dir:
                server_stop(own_dir)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"pg_scale: kept schema {schema} on {pg}, files in {tmp}")
        print("pg_scale: figures\n" + table(figs), flush=True)
    if o.smoke:
        if not ok:
            sys.exit("pg_scale: smoke FAILED")
        print("pg_scale: smoke OK")


if __name__ == "__main__":
    main()
