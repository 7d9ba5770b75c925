"""Two test hosts joined by a veth pair, each in its own network namespace.

Everything the tests send stays between these two namespaces (addresses in
10.201.0.0/24 that exist only on the veth pair made here).
"""
import os
import subprocess
import time


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True,
                          text=True, **kw)


class Pair:
    def __init__(self):
        tag = f"{os.getpid() % 100000}"
        self.a, self.b = f"pka{tag}", f"pkb{tag}"
        self.ip_a, self.ip_b = "10.201.0.1", "10.201.0.2"
        self.procs = []

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
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        sh("ip", "netns", "del", self.a, check=False)
        sh("ip", "netns", "del", self.b, check=False)

    def popen(self, ns, *args, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen(["ip", "netns", "exec", ns, *args], **kw)
        self.procs.append(p)
        return p

    def run(self, ns, *args, check=True, timeout=60):
        return sh("ip", "netns", "exec", ns, *args, check=check,
                  timeout=timeout)


def wait_for(pred, timeout=15.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False
