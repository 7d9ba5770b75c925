#!/usr/bin/python3
"""Make a corpus of real indicator lines for tests/bench/batch_bench.c.

picketd -r on the shared sample captures yields only a few dozen
indicators, too few for batches of 1000.  So this replays the worm cases
of tests/integration/wormgen.py many times with different outside and
inside addresses and start times, runs `picketd -r -S rules/worms.rules`
on every capture, and prints the indicators (NDJSON) on stdout, after the
ones from the sample captures.  Every line is real picketd output.

    /usr/bin/python3 tests/bench/mkcorpus.py PICKETD PCAPDIR ROUNDS > out.ndjson
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import wormgen  # noqa: E402


def run(picketd, pcap):
    out = subprocess.run([picketd, "-r", pcap, "-S", "rules/worms.rules"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=True)
    sys.stdout.write(out.stdout.decode())


def main(argv):
    picketd, pcapdir, rounds = argv[1], argv[2], int(argv[3])
    for name in sorted(os.listdir(pcapdir)):
        if name.endswith(".pcap"):
            run(picketd, os.path.join(pcapdir, name))
    base = wormgen.T0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            wormgen.OUTSIDE = "192.0.2.%d" % (1 + r % 250)
            wormgen.OUTSIDE2 = "198.51.100.%d" % (1 + (r * 7) % 250)
            wormgen.INSIDE = "10.1.%d.%d" % (r // 250, 1 + r % 250)
            wormgen.INSIDE2 = "10.2.%d.%d" % (r // 250, 1 + (r * 3) % 250)
            wormgen.T0 = base + r * 86400.0 + r * 13.37
            for case in wormgen.CASES:
                trig, _ = wormgen.write_case(case, tmp)
                run(picketd, trig)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
