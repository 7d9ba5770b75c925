"""Two test hosts joined by a veth pair, each in its own network namespace.

Everything the tests send stays between these two namespaces (addresses in
10.201.0.0/24 that exist only on the veth pair made here).  Namespaces is
the part any topology of namespaces shares (test_incidents_e2e.py's Lab
builds on it); WORM, sink_code() and novel_payload() are the generated
"worm" the fingerprinting tests spread between namespaces.
"""
import os
import random
import subprocess
import time

# Connects to port 8445 of each address in argv[2:] and sends it the
# payload whose hex is argv[1].
WORM = ("import socket, sys, time\n"
        "payload = bytes.fromhex(sys.argv[1])\n"
        "for host in sys.argv[2:]:\n"
        "    s = socket.create_connection((host, 8445), timeout=2)\n"
        "    s.sendall(payload); time.sleep(0.02); s.close()\n")


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True,
                          text=True, **kw)


def sink_code(backlog):
    """A Python program that takes WORM's connections on port 8445 (listen
    backlog given), reads and drops what they send, and prints "ready"
    once it listens."""
    return ("import socket\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
            "socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('0.0.0.0', 8445)); s.listen({backlog}); "
            "print('ready', flush=True)\n"
            "while True:\n"
            "    c, _ = s.accept(); c.settimeout(2)\n"
            "    try:\n"
            "        c.recv(65536)\n"
            "    except OSError:\n"
            "        pass\n"
            "    c.close()\n")


def novel_payload():
    """300 bytes no rule knows, the same in every run."""
    rnd = random.Random(20261126)
    return bytes(rnd.getrandbits(8) for _ in range(300))


class Namespaces:
    """Processes started in a test's namespaces, killed on __exit__
    (after which the subclass deletes its namespaces)."""

    def __init__(self):
        self.procs = []

    def kill_procs(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def popen(self, ns, *args, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen(["ip", "netns", "exec", ns, *args], **kw)
        self.procs.append(p)
        return p

    def run(self, ns, *args, check=True, timeout=60):
        return sh("ip", "netns", "exec", ns, *args, check=check,
                  timeout=timeout)


class Pair(Namespaces):
    def __init__(self):
        super().__init__()
        tag = f"{os.getpid() % 100000}"
        self.a, self.b = f"pka{tag}", f"pkb{tag}"
        self.ip_a, self.ip_b = "10.201.0.1", "10.201.0.2"

    def __enter__(self):
        sh("ip", "netns", "add", self.a)
        sh("ip", "netns", "add", self.b)
        sh("ip", "link", "add", "veth-pka", "netns", self.a, "type", "veth",
           "peer", "name", "veth-pkb", "netns", self.b)
        for ns, dev, ip in ((self.a, "veth-pka", self.ip_a),
                            (self.b, "veth-pkb", self.ip_b)):
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc):
        self.kill_procs()
        sh("ip", "netns", "del", self.a, check=False)
        sh("ip", "netns", "del", self.b, check=False)


def wait_for(pred, timeout=15.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False
