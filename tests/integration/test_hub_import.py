"""picket-hub's store against picketd's own output: the indicators
`picketd -r -S rules/worms.rules` prints for sample and generated worm
captures, imported with `picket-hub import` (which builds BATCH frames and
feeds them through the same ingest path the network uses), come back from
`picket-hub indicators --json` byte for byte, once; a second import stores
nothing.  Also: filters, a record that is not an indicator, many
batches.  `serve` is tested in test_hub_listener.py.

The hub binary is PICKET_HUB (default build/picket-hub)."""
import json
import os
import pathlib
import subprocess

import pytest

import wormgen
from conftest import PCAPS, REPO, analyse
from conftest import parse_stats as counters

HUB = pathlib.Path(os.environ.get("PICKET_HUB", REPO / "build" / "picket-hub"))
RULES = REPO / "rules" / "worms.rules"
HOME = ["--home-net", "10.0.0.0/8"]
SAMPLES = ["nmap_synscan.pcap", "masscan_tcp_0_1000.pcap",
           "ncsa_multiport_scan.pcap", "40.TCP_SYN_scan.pcap",
           "27.udp_scan.pcap", "28.xmas_can.pcap"]
WORMS = ["blaster", "slammer", "nimda", "eternalblue", "conficker"]


def hub(*args, check=0):
    if not HUB.exists():
        pytest.fail(f"{HUB} missing: run make first")
    proc = subprocess.run([str(HUB), *map(str, args)], capture_output=True,
                          text=True, timeout=120)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stderr)
    return proc


@pytest.fixture(scope="module")
def ndjson(tmp_path_factory):
    """What picketd -r prints for the captures, one NDJSON file."""
    tmp = tmp_path_factory.mktemp("hubimport")
    lines = []
    for name in SAMPLES:
        inds, _, proc = analyse(PCAPS / name, "-S", str(RULES))
        lines += proc.stdout.splitlines()
    for case in WORMS:
        trig, _ = wormgen.write_case(case, tmp)
        inds, _, proc = analyse(trig, "-S", str(RULES), *HOME)
        assert inds, f"{case}: no indicator"
        lines += proc.stdout.splitlines()
    path = tmp / "indicators.ndjson"
    path.write_text("".join(line + "\n" for line in lines))
    return path, lines


def test_import_twice_stores_exactly_what_picketd_printed(ndjson, tmp_path):
    path, lines = ndjson
    assert len(lines) >= 10
    db = tmp_path / "hub.db"
    first = counters(hub("import", path, "--agent", "agent-1", "--db", db,
                         "--host-name", "ws-1").stderr)
    assert first["records"] == len(lines)
    assert first["stored"] == len(lines)
    assert first["rejected"] == 0
    assert first["ack"] == len(lines)
    second = counters(hub("import", path, "--agent", "agent-1", "--db",
                          db).stderr)
    assert second["stored"] == 0
    assert second["duplicates"] == len(lines)
    assert second["ack"] == len(lines)

    out = hub("indicators", "--db", db, "--json").stdout.splitlines()
    # The very bytes picketd printed, each exactly once.
    assert sorted(out) == sorted(lines)
    # Ordered by @timestamp.
    stamps = [json.loads(line)["@timestamp"] for line in out]
    assert stamps == sorted(stamps)
    # The table view has a header and one row per indicator.
    table = hub("indicators", "--db", db).stdout.splitlines()
    assert table[0].split()[:3] == ["TIME", "AGENT", "SEQ"]
    assert len(table) == len(lines) + 1


def test_filters(ndjson, tmp_path):
    path, lines = ndjson
    db = tmp_path / "hub.db"
    hub("import", path, "--agent", "agent-1", "--db", db, "--host-name",
        "ws-1")
    hub("import", path, "--agent", "agent-2", "--db", db, "--first-seq",
        "500")
    objs = [json.loads(line) for line in lines]

    def ask(*args):
        return hub("indicators", "--db", db, "--json",
                   *args).stdout.splitlines()

    assert len(ask()) == 2 * len(lines)
    assert sorted(ask("--host", "agent-2")) == sorted(lines)
    assert sorted(ask("--host", "ws-1")) == sorted(lines)   # by host name
    assert ask("--host", "nobody") == []
    rule = objs[-1]["rule"]["id"]
    want = sorted(line for line, o in zip(lines, objs)
                  if o["rule"]["id"] == rule)
    assert sorted(ask("--host", "agent-1", "--rule", rule)) == want
    alerts = sum(o["event"]["kind"] == "alert" for o in objs)
    assert len(ask("--host", "agent-1", "--kind", "alert")) == alerts
    # The captures are years old: nothing happened in the last hour.
    assert ask("--since", "1h") == []
    assert len(ask("--since", "36500d")) == 2 * len(lines)
    assert len(ask("--limit", "3")) == 3
    assert hub("indicators", "--db", db, "--since", "soon",
               check=2).returncode == 2


def test_many_batches_and_a_bad_record(ndjson, tmp_path):
    path, lines = ndjson
    db = tmp_path / "hub.db"
    many = tmp_path / "many.ndjson"
    body = lines * (2600 // len(lines) + 1)
    body.insert(7, '{"not":"an indicator"}')
    many.write_text("".join(line + "\n" for line in body))
    c = counters(hub("import", many, "--agent", "a", "--db", db).stderr)
    assert c["batches"] >= 3           # at most 1000 records per batch
    assert c["records"] == len(body)
    assert c["rejected"] == 1
    assert c["stored"] == len(body) - 1
    out = hub("indicators", "--db", db, "--json").stdout.splitlines()
    assert len(out) == len(body) - 1


def test_version():
    assert hub("version").stdout.startswith("picket-hub ")
