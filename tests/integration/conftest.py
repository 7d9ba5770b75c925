"""Shared helpers for picketd integration tests.

The binaries under test come from the environment (set by `make
check-integration`): PICKETD is the normal build, PICKETD_ASAN the
ASan+UBSan build.  Sample captures live in ../shared/data/pcaps beside the
clone unless PICKET_PCAPS says otherwise.
"""
import json
import os
import pathlib
import subprocess

import jsonschema
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PCAPS = pathlib.Path(os.environ.get("PICKET_PCAPS",
                                    REPO.parent / "shared" / "data" / "pcaps"))
SCHEMA = json.loads((REPO / "tests" / "schema" /
                     "indicator.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.FormatChecker())


def binary(var="PICKETD", default="build/picketd"):
    path = pathlib.Path(os.environ.get(var, REPO / default))
    if not path.exists():
        pytest.fail(f"{path} missing: run make first")
    return str(path)


def run(args, var="PICKETD", default="build/picketd", timeout=120,
        check=None, **kw):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    proc = subprocess.run([binary(var, default)] + list(args),
                          capture_output=True, text=True, timeout=timeout,
                          env=env, **kw)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stderr)
    return proc


def parse_indicators(stdout):
    """Every line must be one JSON object valid against the schema."""
    out = []
    for n, line in enumerate(stdout.splitlines(), 1):
        obj = json.loads(line)
        errors = sorted(VALIDATOR.iter_errors(obj), key=str)
        assert not errors, f"line {n}: {errors[0].message}\n{line}"
        out.append(obj)
    return out


def parse_stats(stderr):
    """The `name value` statistics lines picketd prints at the end of -r."""
    stats = {}
    for line in stderr.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            stats[parts[0]] = int(parts[1])
    return stats


def analyse(pcap, *extra, var="PICKETD", default="build/picketd"):
    proc = run(["-r", str(pcap), *extra], var=var, default=default,
               check=0)
    return parse_indicators(proc.stdout), parse_stats(proc.stderr), proc


@pytest.fixture(scope="session")
def pcaps():
    if not PCAPS.is_dir():
        pytest.fail(f"sample captures not found at {PCAPS}")
    return PCAPS


SPOOL_DRIVER_SRCS = ["tests/integration/spool_driver.c", "transport/spool.c",
                     "transport/spool_unix.c", "common/crc32c.c",
                     "common/log.c", "common/log_unix.c", "common/util.c"]


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    """tests/integration/spool_driver.c built from the tree's spool code."""
    exe = tmp_path_factory.mktemp("drv") / "spool_driver"
    proc = subprocess.run(["cc", "-O1", "-I.", "-o", str(exe),
                           *SPOOL_DRIVER_SRCS, "-lm"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return str(exe)


def spool_fill(driver, spool, lines, segment=65536):
    """Append lines (NDJSON records) to the spool at spool, as picketd's
    collector would; returns the first and last sequence numbers."""
    src = spool.parent / f"fill-{os.getpid()}-{len(lines)}.ndjson"
    src.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([driver, "fill", str(spool), str(segment),
                           str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    first, last = proc.stdout.split()[1:]
    return int(first), int(last)
