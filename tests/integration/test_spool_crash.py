"""Crash test for the spool (transport/spool.c): SIGKILL the writer at random
moments, many times, and check what survives.

tests/integration/spool_driver.c is compiled here from the spool's sources
(plain, and with ASan+UBSan), so the test does not depend on how the core
library was last built.  Each round starts `spool_driver write` (sync =
always, small segments so rotation and deletion happen often), lets it run
a random fraction of a second while `spool_driver ack` processes
acknowledge random records it already reported durable (some of those
ackers are killed too), SIGKILLs the writer, and then checks from the files
alone (`spool_driver read`):

- every record the writer reported durable ("S seq", printed after a
  successful pk_spool_sync) and not covered by the ack file is present,
  exactly once, in order, with an intact payload (its own seq and checksum);
- the ack file never moves back, and is at least every ack that completed;
- reading from the ack point never returns acknowledged records;
- a sequence number always names the same record, across all rounds, and
  each new writer starts above every number seen before.
"""
import os
import pathlib
import random
import shutil
import signal
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SOURCES = ["tests/integration/spool_driver.c", "transport/spool.c",
           "transport/spool_unix.c", "common/crc32c.c", "common/log.c",
           "common/log_unix.c", "common/util.c"]
WARN = ["-std=gnu11", "-Wall", "-Wextra", "-Wshadow", "-Wmissing-prototypes",
        "-Wstrict-prototypes", "-Wformat=2", "-Wpointer-arith", "-Wvla",
        "-Werror"]
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
       "-fno-omit-frame-pointer"]
SEGMENT = 16384
FNV_OFFSET, FNV_PRIME = 0xcbf29ce484222325, 0x100000001b3


def fnv1a64(data):
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xffffffffffffffff
    return h


def build(tmp, sanitize):
    exe = tmp / ("spool_driver_asan" if sanitize else "spool_driver")
    cmd = [os.environ.get("CC", "cc"), "-O1", "-g", "-I.", *WARN,
           *(SAN if sanitize else []), "-o", str(exe), *SOURCES, "-lm"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return str(exe)


def env():
    e = dict(os.environ)
    e["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
    e["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return e


def complete_lines(text):
    """Lines that ended with a newline (a killed writer may leave half)."""
    lines = text.split("\n")
    return lines[:-1]


def check_payload(seq, payload):
    head, sep, tail = payload.rpartition(',"ck":"')
    assert sep, payload[:80]
    assert tail.endswith('"}') and len(tail) == 18, payload[-40:]
    assert int(tail[:16], 16) == fnv1a64(head.encode()), f"checksum {seq}"
    assert head.startswith('{"seq":%d,' % seq), (seq, payload[:60])


def read_spool(drv, spool, start):
    proc = subprocess.run([drv, "read", str(spool), str(start)],
                          capture_output=True, text=True, timeout=30,
                          env=env())
    assert proc.returncode == 0, proc.stderr
    acked, recs, corrupt = None, [], None
    for line in proc.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "A":
            acked = int(rest)
        elif kind == "R":
            seq, _, payload = rest.partition(" ")
            recs.append((int(seq), payload))
        elif kind == "C":
            corrupt = tuple(int(x) for x in rest.split())
    assert acked is not None and corrupt is not None, proc.stdout[-200:]
    return acked, recs, corrupt


def ack(drv, spool, seq, kill_after=None):
    p = subprocess.Popen([drv, "ack", str(spool), str(seq)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env())
    if kill_after is not None:
        time.sleep(kill_after)
        p.send_signal(signal.SIGKILL)
    out, err = p.communicate(timeout=30)
    if p.returncode == -signal.SIGKILL:
        return None
    assert p.returncode == 0, err
    return seq if out.startswith("K %d" % seq) else None


def crash_rounds(drv, spool, rounds, rng):
    synced = set()          # every seq ever reported durable
    seen = {}               # seq -> payload, across all rounds
    acked_done = 0          # highest ack that completed (printed K)
    last_ack_file = 0
    max_seen = 0
    out_path = spool.parent / "writer.out"
    for rnd in range(rounds):
        with open(out_path, "w") as out:
            w = subprocess.Popen([drv, "write", str(spool), str(rnd + 1),
                                  str(SEGMENT), "always"],
                                 stdout=out, stderr=subprocess.PIPE,
                                 env=env())
        deadline = time.monotonic() + rng.uniform(0.05, 0.35)
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.01, 0.06))
            lines = complete_lines(out_path.read_text())
            got = [int(x[2:]) for x in lines if x.startswith("S ")]
            if got and rng.random() < 0.6:
                target = rng.choice(got)
                kill = rng.uniform(0, 0.004) if rng.random() < 0.25 \
                    else None
                done = ack(drv, spool, target, kill)
                if done is not None:
                    acked_done = max(acked_done, done)
        w.send_signal(signal.SIGKILL)
        _, err = w.communicate(timeout=30)
        assert w.returncode == -signal.SIGKILL, err.decode()[-2000:]
        lines = complete_lines(out_path.read_text())
        assert lines and lines[0].startswith("O "), lines[:3]
        start_next = int(lines[0].split()[1])
        # A new writer starts above every number seen before.
        assert start_next > max_seen, (rnd, start_next, max_seen)
        round_synced = [int(x[2:]) for x in lines[1:] if x.startswith("S ")]
        assert round_synced == sorted(set(round_synced))
        assert not (set(round_synced) & synced), "sequence number reused"
        synced.update(round_synced)

        acked, recs, corrupt = read_spool(drv, spool, 0)
        assert corrupt == (0, 0), corrupt
        assert acked >= acked_done, (acked, acked_done)
        assert acked >= last_ack_file, "ack point moved back"
        last_ack_file = acked
        seqs = [s for s, _ in recs]
        assert seqs == sorted(set(seqs)), "order or duplicates"
        for s, payload in recs:
            check_payload(s, payload)
            if s in seen:
                assert seen[s] == payload, f"seq {s} names two records"
            seen[s] = payload
            max_seen = max(max_seen, s)
        present = set(seqs)
        missing = sorted(s for s in synced if s > acked and s not in present)
        assert not missing, f"durable records lost: {missing[:10]}"
        # The shipper's view: from the ack point on, nothing acknowledged.
        _, after, _ = read_spool(drv, spool, acked + 1)
        assert [s for s, _ in after] == [s for s in seqs if s > acked]
    return len(synced), acked_done


@pytest.mark.parametrize("sanitize,rounds", [(False, 60), (True, 50)],
                         ids=["plain", "asan"])
def test_spool_sigkill(tmp_path, sanitize, rounds):
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("no C compiler")
    drv = build(tmp_path, sanitize)
    spool = tmp_path / "spool"
    rng = random.Random(int(os.environ.get("SPOOL_CRASH_SEED",
                                           str(time.time_ns()))))
    total, acked = crash_rounds(drv, spool, rounds, rng)
    # The test must have exercised something: records and acks.
    assert total > rounds, total
    assert acked > 0
