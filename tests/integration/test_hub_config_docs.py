"""The hub's options as its table in hub/config.c has them are the options
its documents name: docs/hub.md's configuration table, picket-hub.ini(5)
and the packaged packaging/hub.ini, whose commented-out lines show each
default.  (The agent's three are generated from agent/config.c instead;
test_cli.py checks those.)  An option added to the code without its
documentation, or documented but not accepted, fails here; so does a
counter a running hub prints that docs/hub.md does not explain."""
import re

from conftest import REPO
from hubrun import Hub, free_port, mkcerts

HUB_OPT = re.compile(r'\bH([A-Z])\("(\w+)",\s*"(\w+)",\s*\w+(?:,\s*"([^"]*)")?')


def options():
    """{(section, key): default or None} from hub/config.c's table."""
    src = (REPO / "hub" / "config.c").read_text()
    got = {(m.group(2), m.group(3)): m.group(4)
           for m in HUB_OPT.finditer(src)}
    assert len(got) >= 30, got         # the pattern still reads the table
    return got


def guide_keys():
    """The rows of docs/hub.md's table: | section | `key`, `key` | ..."""
    text = (REPO / "docs" / "hub.md").read_text()
    keys = set()
    for m in re.finditer(r"^\| (\w+) \| ((?:`\w+`(?:, )?)+) \|", text,
                         re.M):
        keys |= {(m.group(1), k) for k in re.findall(r"`(\w+)`",
                                                      m.group(2))}
    return keys


def man_keys():
    """The .SS "[section]" and .B key entries of OPTIONS."""
    text = (REPO / "packaging" / "man" / "picket-hub.ini.5").read_text()
    opts = text.split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0]
    keys, sec = set(), None
    for line in opts.splitlines():
        m = re.match(r'^\.SS "\[(\w+)\]"', line)
        if m:
            sec = m.group(1)
        m = re.match(r"^\.B (\w+)$", line)
        if m and sec:
            keys.add((sec, m.group(1)))
    return keys


def ini_lines():
    """{(section, key): (value, commented)} of packaging/hub.ini."""
    got, sec = {}, None
    for line in (REPO / "packaging" / "hub.ini").read_text().splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            sec = m.group(1)
            continue
        m = re.match(r"^(#?)(\w+) =\s*(.*)$", line)
        if m and sec:
            got[(sec, m.group(2))] = (m.group(3), m.group(1) == "#")
    return got


def test_every_option_is_in_the_guide():
    assert guide_keys() == set(options())


def test_every_option_is_in_the_manual():
    assert man_keys() == set(options())


def test_the_packaged_file_names_every_option_with_its_default():
    opts, ini = options(), ini_lines()
    assert set(ini) == set(opts)
    for k, (value, commented) in ini.items():
        # a commented line shows the default; set lines (the packaged
        # certificate paths) are the package's choice
        if commented and opts[k] is not None:
            assert value == opts[k], (k, value, opts[k])


def test_every_counter_is_in_the_guide(tmp_path):
    """Each counter a running hub prints on SIGUSR1 (peering on, so its
    counters are there too) is named in docs/hub.md; the per-code
    closed_by_error_NAME lines by their pattern and list of codes."""
    certs = mkcerts(tmp_path / "pki", "-a", "agent-1")
    hub = Hub(tmp_path / "hub", certs,
              peering={"listen": f"127.0.0.1:{free_port()}"})
    try:
        names = set(hub.counters())
    finally:
        hub.stop()
    assert len(names) >= 100, names
    text = (REPO / "docs" / "hub.md").read_text()
    codes = re.search(r"`closed_by_error_NAME` \| [^|]*\|", text).group(0)
    missing = sorted(
        n for n in names
        if f"`{n}`" not in text and not (
            n.startswith("closed_by_error_") and
            f"`{n[len('closed_by_error_'):]}`" in codes))
    assert not missing, missing
