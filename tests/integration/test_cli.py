"""picketd's command line: version, help, and the configuration checker
(-n, -nv) diffed against expected files in tests/config."""
import pathlib

import pytest

from conftest import REPO, run

CONFIG = REPO / "tests" / "config"


def test_version():
    proc = run(["-V"], check=0)
    assert proc.stdout.startswith("picketd ")
    assert proc.stdout.split()[1].count(".") == 2


def test_help_lists_options():
    proc = run(["-h"], check=0)
    for opt in ("-c file", "-n", "-r capture", "--home-net", "-o file"):
        assert opt in proc.stdout


def test_bad_option_fails():
    proc = run(["--no-such-option"])
    assert proc.returncode == 1
    assert "usage:" in proc.stderr


@pytest.mark.parametrize("name", ["empty", "full"])
def test_check_and_print_normalised(name):
    ini = CONFIG / f"{name}.ini"
    proc = run(["-n", "-c", str(ini)], check=0, cwd=REPO)
    assert proc.stderr.splitlines()[-1] == "configuration OK"
    assert proc.stdout == ""
    proc = run(["-nv", "-c", str(ini.relative_to(REPO))], check=0, cwd=REPO)
    assert proc.stdout == (CONFIG / f"{name}.expected").read_text()


def test_defaults_without_file_equal_empty_file():
    a = run(["-nv"], check=0)
    b = run(["-nv", "-c", str(CONFIG / "empty.ini")], check=0)
    assert a.stdout == b.stdout


def test_normalised_output_is_a_fixed_point(tmp_path):
    """What -nv prints is itself a valid configuration meaning the same."""
    # cwd: full.ini names its test certificates relative to the tree.
    first = run(["-nv", "-c", str(CONFIG / "full.ini")], check=0,
                cwd=REPO).stdout
    again = tmp_path / "again.ini"
    again.write_text(first)
    assert run(["-nv", "-c", str(again)], check=0, cwd=REPO).stdout == first


def test_bad_file_reports_every_problem():
    proc = run(["-n", "-c", "bad.ini"], cwd=CONFIG)
    assert proc.returncode == 1
    expected = (CONFIG / "bad.expected-errors").read_text().splitlines()
    got = [l for l in proc.stderr.splitlines() if l]
    assert got == expected


def test_cross_option_problems_are_refused():
    proc = run(["-n", "-c", "invalid.ini"], cwd=CONFIG)
    assert proc.returncode == 1
    expected = (CONFIG / "invalid.expected-errors").read_text().splitlines()
    assert [l for l in proc.stderr.splitlines() if l] == expected


def test_missing_config_file():
    proc = run(["-n", "-c", "/nonexistent/agent.ini"])
    assert proc.returncode == 1
    assert "/nonexistent/agent.ini" in proc.stderr


def test_home_net_option_is_checked():
    proc = run(["-n", "--home-net", "10.0.0.0/33"])
    assert proc.returncode == 1
    assert "--home-net" in proc.stderr
    proc = run(["-nv", "--home-net", "10.1.2.3/8, 2001:db8::/32"], check=0)
    assert "home_net = 10.0.0.0/8,2001:db8::/32" in proc.stdout


def test_config_doc_matches_docs():
    """docs/configuration.md is generated from the option tables."""
    proc = run(["--config-doc"], check=0)
    assert proc.stdout == (REPO / "docs" / "configuration.md").read_text()


def test_generated_files_follow_the_option_tables():
    """docs/configuration.md, packaging/agent.ini and the OPTIONS of
    picket-agent.ini(5) are written from agent/config.c's tables (make
    docs); a table change without them fails here."""
    from conftest import binary
    import subprocess
    proc = subprocess.run(["sh", str(REPO / "packaging" / "genconfig.sh"),
                           "--check", binary()], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_packaged_ini_is_valid_and_changes_nothing():
    """The shipped agent.ini (every option commented out) checks OK and
    means exactly the defaults."""
    ini = REPO / "packaging" / "agent.ini"
    proc = run(["-n", "-c", str(ini)], check=0)
    assert proc.stderr.splitlines()[-1] == "configuration OK"
    a = run(["-nv", "-c", str(ini)], check=0)
    b = run(["-nv", "-c", str(CONFIG / "empty.ini")], check=0)
    assert a.stdout == b.stdout
    # Uncommented, every line is a valid setting of its default.
    import re
    text = "".join(l[1:] if re.match(r"#[a-z_0-9]+ = ", l) else l
                   for l in ini.read_text().splitlines(keepends=True))
    full = REPO / "build" / "agent-uncommented.ini"
    full.write_text(text)
    proc = run(["-n", "-c", str(full)], check=0)
    assert proc.stderr.splitlines()[-1] == "configuration OK", proc.stderr
    c = run(["-nv", "-c", str(full)], check=0)
    assert c.stdout == b.stdout
