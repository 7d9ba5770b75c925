"""rules/worms.rules against the captures wormgen.py writes.

For every worm case: picketd must raise each of the case's sids on the
trigger capture, with rule.name the rule's msg and rule.ruleset
"worms.rules", and no worm sid at all on the near miss.  Suricata, when
installed, reads the same rules and captures as an independent oracle:
it must agree with wormgen.CASES, and picketd must agree with it sid for
sid.  The file itself is checked for the keyword subset picketd supports.
"""
import re

import pytest

import suricata_oracle
import wormgen
from conftest import REPO, analyse, run

RULES = REPO / "rules" / "worms.rules"
HOME = ["--home-net", "10.0.0.0/8"]
CASES = sorted(wormgen.CASES)

# The keywords picketd's content-rule engine accepts; anything else would
# be reported as skipped, and this ruleset must load whole.
SUPPORTED = {"msg", "content", "nocase", "offset", "depth", "distance",
             "within", "dsize", "flags", "flow", "threshold",
             "detection_filter", "sid", "rev", "gid", "classtype",
             "reference", "metadata", "priority"}
HEADER = re.compile(r"^alert (tcp|udp|icmp|ip) (\S+) (\S+) (->|<>) "
                    r"(\S+) (\S+) \((.*)\)$")


def _options(body):
    """Split a rule's option list on ';' outside quotes."""
    opts, cur, quoted, esc = [], "", False, False
    for ch in body:
        if esc:
            cur, esc = cur + ch, False
        elif ch == "\\":
            cur, esc = cur + ch, True
        elif ch == '"':
            cur, quoted = cur + ch, not quoted
        elif ch == ";" and not quoted:
            opts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    assert not cur.strip(), f"unterminated option {cur!r}"
    return [o for o in opts if o]


def load_rules():
    """sid -> (msg, options) for every rule line in worms.rules."""
    rules = {}
    for n, line in enumerate(RULES.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = HEADER.match(line)
        assert m, f"line {n}: not a rule header: {line[:60]}"
        opts = _options(m.group(7))
        kv = {}
        for o in opts:
            key, _, val = o.partition(":")
            kv.setdefault(key.strip(), []).append(val.strip())
        sid = int(kv["sid"][0])
        assert sid not in rules, f"line {n}: sid {sid} twice"
        rules[sid] = (kv["msg"][0].strip('"'), kv)
    return rules


RULESET = load_rules()


def worm_sids(inds):
    """sid -> indicator for the worm rules among picketd's indicators."""
    out = {}
    for ind in inds:
        rid = str(ind.get("rule", {}).get("id", ""))
        if re.fullmatch(r"9000\d{3}", rid):
            out[int(rid)] = ind
    return out


# ------------------------------------------------------------ the file

def test_ruleset_uses_only_supported_keywords():
    for sid, (msg, kv) in RULESET.items():
        assert 9000001 <= sid <= 9000999, sid
        assert set(kv) <= SUPPORTED, (sid, set(kv) - SUPPORTED)
        assert kv["rev"] == ["1"], sid
        assert kv["classtype"] and kv["reference"], sid
        assert msg.startswith("PICKET WORM "), sid


def test_every_rule_has_a_case():
    covered = set().union(*(s for _, s in wormgen.CASES.values()))
    assert covered == set(RULESET)


def test_captures_are_deterministic(tmp_path):
    a = wormgen.write_case("blaster", tmp_path)
    (tmp_path / "b").mkdir()
    b = wormgen.write_case("blaster", tmp_path / "b")
    for x, y in zip(a, b):
        assert open(x, "rb").read() == open(y, "rb").read()


# ------------------------------------------------------------ picketd

def test_ruleset_loads_whole():
    proc = run(["-n", "-S", str(RULES)], check=0, cwd=REPO)
    text = proc.stdout + proc.stderr
    m = re.search(r"rules: (\d+) loaded, 0 skipped", text)
    assert m, text
    assert int(m.group(1)) == len(RULESET)


@pytest.mark.parametrize("case", CASES)
def test_trigger_raises_the_worm_rules(case, tmp_path):
    trig, _ = wormgen.write_case(case, tmp_path)
    inds, _, _ = analyse(trig, "-S", str(RULES), *HOME)
    found = worm_sids(inds)
    expected = wormgen.CASES[case][1]
    assert expected <= set(found), (sorted(found), inds)
    for sid in expected:
        rule = found[sid]["rule"]
        assert rule["id"] == str(sid)
        assert rule["ruleset"] == "worms.rules"
        assert rule["name"] == RULESET[sid][0]


@pytest.mark.parametrize("case", CASES)
def test_near_miss_raises_nothing(case, tmp_path):
    _, near = wormgen.write_case(case, tmp_path)
    inds, _, _ = analyse(near, "-S", str(RULES), *HOME)
    assert not worm_sids(inds), inds


# ------------------------------------------------------------ oracle

needs_suricata = pytest.mark.skipif(
    not suricata_oracle.available(),
    reason="suricata not installed (Debian: bookworm-backports)")


@needs_suricata
@pytest.mark.parametrize("case", CASES)
def test_suricata_agrees_with_the_cases(case, tmp_path):
    trig, near = wormgen.write_case(case, tmp_path)
    assert suricata_oracle.alerts(trig, tmp_path / "t") == \
        wormgen.CASES[case][1]
    assert suricata_oracle.alerts(near, tmp_path / "n") == set()


@needs_suricata
@pytest.mark.parametrize("case", CASES)
def test_picketd_agrees_with_suricata(case, tmp_path):
    for pcap in wormgen.write_case(case, tmp_path):
        name = pcap.rsplit("/", 1)[1]
        want = suricata_oracle.alerts(pcap, tmp_path / f"eve-{name}")
        inds, _, _ = analyse(pcap, "-S", str(RULES), *HOME)
        assert set(worm_sids(inds)) == want, (name, inds)
