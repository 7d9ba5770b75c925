"""Test hosts in network namespaces joined by veth pairs.

Everything the tests send stays inside namespaces made here (addresses
such as 10.201.0.0/24 that exist only on their veth pairs).  Namespaces is
the part every topology shares; Pair is two hosts on one link; Star is a
hub namespace with a link to each host namespace.  WORM, sink_code() and
novel_payload() are the generated "worm" the fingerprinting tests spread
between namespaces.
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


class Star(Namespaces):
    """One hub namespace joined to a host namespace per key by a veth pair:
    the k-th key's host is NET.k.2 on veth-a<key>, the hub NET.k.1 on
    veth-h<key>.  The hub namespace takes every address of victims (a
    CIDR) as its own, so a worm's connections there are answered at once,
    and each host routes victims through its link.  Names carry prefix
    and the test's pid, so parallel runs do not meet."""

    def __init__(self, keys, net, victims, prefix):
        super().__init__()
        tag = f"{os.getpid() % 100000}"
        self.net, self.victims = net, victims
        self.hub = f"{prefix}h{tag}"
        self.index = {k: i for i, k in enumerate(keys, 1)}
        self.host = {k: f"{prefix}{k}{tag}" for k in keys}

    def hub_ip(self, key):
        return f"{self.net}.{self.index[key]}.1"

    def host_ip(self, key):
        return f"{self.net}.{self.index[key]}.2"

    @staticmethod
    def dev(key):
        """The host's end of its link."""
        return f"veth-a{key}"

    def __enter__(self):
        sh("ip", "netns", "add", self.hub)
        sh("ip", "-n", self.hub, "link", "set", "lo", "up")
        for k, ns in self.host.items():
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", f"veth-h{k}", "netns", self.hub, "type",
               "veth", "peer", "name", self.dev(k), "netns", ns)
            sh("ip", "-n", self.hub, "addr", "add", f"{self.hub_ip(k)}/24",
               "dev", f"veth-h{k}")
            sh("ip", "-n", self.hub, "link", "set", f"veth-h{k}", "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.host_ip(k)}/24",
               "dev", self.dev(k))
            sh("ip", "-n", ns, "link", "set", self.dev(k), "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "route", "add", self.victims, "via",
               self.hub_ip(k))
        sh("ip", "-n", self.hub, "route", "add", "local", self.victims,
           "dev", "lo")
        return self

    def __exit__(self, *exc):
        self.kill_procs()
        for ns in (self.hub, *self.host.values()):
            sh("ip", "netns", "del", ns, check=False)


def wait_for(pred, timeout=15.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False
