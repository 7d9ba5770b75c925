"""picketd in a test's network namespace, reporting to a hub: the agent
the multi-host tests run (test_reporting, test_tasks_agent,
test_bundles_agent, test_bundles_e2e, test_incidents_e2e).

NsAgent writes the agent's INI from sections (a dict of dicts merged over
what every such test wants: the collector and shipper as nobody, no
process collector, a 64 KiB-segment spool under the test's directory, no
health indicators), starts `picketd -f` in the namespace with its stderr
in a file, and stops it checking the exit status and the sanitizers'
marks.  hub_section() is the [hub] section for a hub at an address."""
import os
import signal
import subprocess

from conftest import binary
from netns import wait_for

SANITIZER_MARKS = ("runtime error", "AddressSanitizer", "SIGSYS")


def hub_section(address, certs, agent_id="agent-1", server_name="hub.test",
                **opts):
    """[hub] for the hub at address, with certs' CA and agent_id's
    certificate, reconnecting within seconds."""
    return {"address": address, "server_name": server_name,
            "ca": str(certs / "ca.crt"),
            "cert": str(certs / "agents" / f"{agent_id}.crt"),
            "key": str(certs / "agents" / f"{agent_id}.key"),
            "backoff_base": "1s", "backoff_cap": "2s",
            "connect_timeout": "3s", **opts}


def write_ini(path, sections):
    path.write_text("".join(
        f"[{sec}]\n" + "".join(f"{k} = {v}\n" for k, v in opts.items())
        for sec, opts in sections.items()))


def open_to_agent(tmp):
    """The collector and shipper run as nobody: the spool's parent
    directories (pytest's, mode 0700) must let them through."""
    for d in (tmp, *tmp.parents):
        if str(d) in ("/", "/tmp"):
            break
        os.chmod(d, os.stat(d).st_mode | 0o111)


class NsAgent:
    """picketd in namespace ns of lab (a netns.Namespaces); out: the -o
    file, or None for none."""

    def __init__(self, lab, ns, tmp, sections, exe=None,
                 out="indicators.ndjson"):
        self.lab, self.ns, self.tmp = lab, ns, tmp
        self.exe = exe or binary()
        tmp.mkdir(parents=True, exist_ok=True)
        open_to_agent(tmp)
        self.spool = tmp / "spool"
        self.log = tmp / "agent.log"
        self.out = tmp / out if out else None
        self.proc = None
        conf = {
            "agent": {"user": "nobody"},
            "pcap": {"health_interval": "0"},
            "process": {"enabled": "no"},
            "spool": {"dir": str(self.spool), "segment_bytes": "64k"},
        }
        for sec, opts in sections.items():
            conf.setdefault(sec, {}).update(opts)
        self.ini = tmp / "agent.ini"
        write_ini(self.ini, conf)

    def start(self):
        args = [self.exe, "-f", "-c", str(self.ini)]
        if self.out:
            args += ["-o", str(self.out)]
        with open(self.log, "a") as logf:
            self.proc = self.lab.popen(self.ns, *args,
                                       stdout=subprocess.DEVNULL,
                                       stderr=logf, start_new_session=True)
        assert wait_for(lambda: "running, host" in self.text()
                        or self.proc.poll() is not None, timeout=20), \
            self.text()
        assert self.proc.poll() is None, self.text()[-3000:]
        return self

    def text(self):
        return self.log.read_text(errors="replace") if self.log.exists() \
            else ""

    def children(self):
        """{"collector": pid, "shipper": pid} from /proc.  A child the
        supervisor reaps between the two reads (one a test just killed)
        is left out: its comm is gone (ENOENT) or, opened just before it
        went, cannot be read (ESRCH)."""
        out = {}
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/"
                  "children") as f:
            pids = [int(p) for p in f.read().split()]
        for pid in pids:
            try:
                with open(f"/proc/{pid}/comm") as c:
                    out[c.read().strip().replace("pk-", "")] = pid
            except (FileNotFoundError, ProcessLookupError):
                pass
        return out

    def stop(self):
        """SIGTERM: it must exit 0, with no sanitizer report."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        assert rc == 0, self.text()[-3000:]
        for mark in SANITIZER_MARKS:
            assert mark not in self.text(), self.text()[-3000:]

    def kill(self):
        """SIGKILL to the supervisor and both children at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
