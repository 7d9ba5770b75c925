#!/usr/bin/python3
"""Suricata as an independent judge of rules/worms.rules and of the
captures wormgen.py writes: if Suricata, reading the same rules, alerts on
every trigger and stays silent on every near miss, both the rules and the
captures say what we think they say, and picketd's answers can be compared
with Suricata's sid for sid.

Used by test_worm_rules.py; also runnable by hand:
    /usr/bin/python3 tests/integration/suricata_oracle.py [OUTDIR]
prints one line per capture and exits 1 if any capture disagrees with
wormgen.CASES.  Needs the `suricata` binary (Debian: bookworm-backports);
the configuration is suricata-oracle.yaml beside this file (HOME_NET
10.0.0.0/8, as the tests give picketd).
"""
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
RULES = REPO / "rules" / "worms.rules"
CONFIG = HERE / "suricata-oracle.yaml"


def available():
    return shutil.which("suricata") is not None


def alerts(pcap, outdir, rules=RULES, config=CONFIG):
    """Run Suricata on one capture; return the set of alerting sids."""
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["suricata", "-c", str(config), "-S", str(rules), "-r", str(pcap),
         "-l", str(outdir), "-k", "none"],
        capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"suricata failed on {pcap} ({proc.returncode}):"
                           f"\n{proc.stdout}\n{proc.stderr}")
    sids = set()
    eve = outdir / "eve.json"
    if eve.exists():
        for line in eve.read_text().splitlines():
            event = json.loads(line)
            if event.get("event_type") == "alert":
                sids.add(event["alert"]["signature_id"])
    return sids


def main(argv):
    sys.path.insert(0, str(HERE))
    import wormgen

    if not available():
        print("suricata not installed", file=sys.stderr)
        return 2
    out = pathlib.Path(argv[1] if len(argv) > 1 else tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    bad = 0
    for name, (_, expected) in wormgen.CASES.items():
        trig, near = wormgen.write_case(name, out)
        got_t = alerts(trig, out / f"eve-{name}-trigger")
        got_n = alerts(near, out / f"eve-{name}-nearmiss")
        ok = got_t == expected and not got_n
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name:13} trigger "
              f"{sorted(got_t)} nearmiss {sorted(got_n)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
