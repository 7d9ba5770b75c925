"""The Windows agent against the Linux one: `wine picketd.exe -r` must
report what `picketd -r` reports, capture for capture.

Run by `make check-windows` (which builds build/win/picketd.exe first with
`make windows`; this file builds nothing).  The captures: every sample in
../shared/data/pcaps, every worm capture wormgen.py writes (trigger and
near miss, so the rules fire), a DNS query and a request for an IOC
domain, and each sample again
converted here to pcapng with nanosecond timestamps (libpcap reads those on
Linux, the project's own reader on Windows: the two readers must agree).
One INI file serves both builds, with this tree's rules and IOC lists.

Compared: every indicator, field by field, in order, and the statistics
lines both print at the end of -r.  Ignored, because they must differ:
  host.id, agent.id   derived from the installation's identity: the
                      MachineGuid in the registry (of the wine prefix) on
                      Windows, /etc/machine-id on Linux.
Nothing else is ignored: host.name is the same (wine reports the Linux
host name), timestamps, counts, messages and fingerprints must match.

Env: PICKETD (Linux build), PICKETD_EXE (Windows build), PICKET_PCAPS.
Skipped with the reason when wine or the mingw-w64 compiler is missing.
Wine runs headless with WINEDEBUG=-all in the prefix tests/wine/run.sh
keeps under /var/cache/picket/wineprefix-<wine version> (made here, the
same way, if it is not there yet).
"""
import concurrent.futures
import fcntl
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import time

import pytest

from conftest import PCAPS, REPO, binary, parse_indicators, parse_stats
import wormgen

CROSS_CC = "x86_64-w64-mingw32-gcc"
# Fields that differ by construction (see the module docstring).
IGNORED = (("host", "id"), ("agent", "id"))

pytestmark = [
    pytest.mark.skipif(shutil.which("wine") is None,
                       reason="wine is not installed (packaging/deps.sh)"),
    pytest.mark.skipif(shutil.which(CROSS_CC) is None,
                       reason=f"{CROSS_CC} is not installed "
                              "(packaging/deps.sh)"),
]


def _cache_dir():
    cache = pathlib.Path(os.environ.get("PICKET_CACHE", "/var/cache/picket"))
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if os.access(cache, os.W_OK):
            return cache
    except OSError:
        pass
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME",
                                        pathlib.Path.home() / ".cache"))
    cache = cache / "picket"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def _wine_env(prefix):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(WINEDEBUG="-all", WINEARCH="win64", WINEPREFIX=str(prefix),
               WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d")
    return env


@pytest.fixture(scope="module")
def wine():
    """The cached wine prefix (tests/wine/run.sh's), made if missing; the
    cache lock is held while the module runs, as run.sh holds it."""
    cache = _cache_dir()
    lock = open(cache / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    ver = subprocess.run(["wine", "--version"], capture_output=True,
                         text=True, check=True).stdout.strip()
    # The same name as run.sh: sed 's/^wine-//; s/[^A-Za-z0-9.+-]+/_/g;
    # s/_$//'.
    ver = re.sub(r"[^A-Za-z0-9.+-]+", "_", re.sub(r"^wine-", "", ver))
    ver = re.sub(r"_$", "", ver)
    prefix = cache / f"wineprefix-{ver}"
    if not (prefix / ".picket-ready").exists():
        tmp = cache / f"wineprefix-{ver}.tmp.{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        env = _wine_env(tmp)
        subprocess.run(["wineboot", "-i"], env=env, check=True,
                       capture_output=True, timeout=600)
        subprocess.run(["wineserver", "-w"], env=env, check=True,
                       timeout=600)
        (tmp / ".picket-ready").touch()
        tmp.rename(prefix)
    env = _wine_env(prefix)
    yield env
    subprocess.run(["wineserver", "-k"], env=env, capture_output=True)
    lock.close()


@pytest.fixture(scope="module")
def exe():
    path = pathlib.Path(os.environ.get("PICKETD_EXE",
                                       REPO / "build/win/picketd.exe"))
    if not path.exists():
        pytest.fail(f"{path} missing: run make windows first")
    return str(path)


@pytest.fixture(scope="module")
def ini(tmp_path_factory):
    """This tree's rules and IOC lists; a path both builds can open (wine
    maps / to drive Z: and accepts forward slashes)."""
    path = tmp_path_factory.mktemp("ini") / "agent.ini"
    path.write_text("[rules]\n"
                    f"paths = {REPO}/rules\n"
                    "[ioc]\n"
                    f"paths = {REPO}/rules/ioc\n")
    return str(path)


def _pcapng(src, dst):
    """Classic pcap -> pcapng: SHB, one IDB (if_tsresol 10^-9), one EPB a
    frame, nanosecond timestamps.  Little-endian files only (the samples
    are), else None."""
    data = pathlib.Path(src).read_bytes()
    magic, = struct.unpack_from("<I", data)
    if magic not in (0xa1b2c3d4, 0xa1b23c4d):
        return None
    nanos = magic == 0xa1b23c4d
    snaplen, link = struct.unpack_from("<II", data, 16)

    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    out = [block(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 1, 0, -1)),
           block(1, struct.pack("<HHI", link & 0xffff, 0, snaplen) +
                 struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0))]
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, wire = struct.unpack_from("<IIII", data, off)
        ts = sec * 10**9 + (frac if nanos else frac * 1000)
        frame = data[off + 16:off + 16 + caplen]
        out.append(block(6, struct.pack("<IIIII", 0, ts >> 32,
                                        ts & 0xffffffff, caplen, wire) +
                         frame))
        off += 16 + caplen
    pathlib.Path(dst).write_bytes(b"".join(out))
    return dst


def _ioc_capture(path):
    """A DNS query for WannaCry's kill-switch domain (rules/ioc) and an
    HTTP request to it: the IOC detector's name and URL matches."""
    from scapy.all import DNS, DNSQR, IP, TCP, UDP, Ether, wrpcap
    name = "iuqerfsodp9ifjaposdfjhgosurijfaewrwergwea.com"
    clock = wormgen.Clock()
    q = (Ether() / IP(src=wormgen.INSIDE, dst="192.0.2.53") /
         UDP(sport=40000, dport=53) / DNS(id=7, rd=1, qd=DNSQR(qname=name)))
    q.time = clock.tick()
    http = wormgen.http_session(
        clock, wormgen.INSIDE, "192.0.2.80",
        f"GET / HTTP/1.1\r\nHost: {name}\r\n\r\n".encode())
    wrpcap(str(path), [q] + list(http))
    return str(path)


def _captures(tmp):
    caps = sorted(str(p) for p in PCAPS.glob("*.pcap"))
    assert caps, f"no sample captures in {PCAPS} (set PICKET_PCAPS)"
    worms = tmp / "worms"
    worms.mkdir()
    for name in sorted(wormgen.CASES):
        caps.extend(wormgen.write_case(name, str(worms)))
    caps.append(_ioc_capture(tmp / "ioc.pcap"))
    ng = tmp / "pcapng"
    ng.mkdir()
    for p in sorted(PCAPS.glob("*.pcap")):
        conv = _pcapng(p, ng / (p.stem + ".pcapng"))
        if conv is not None:
            caps.append(str(conv))
    return caps


def _strip(ind):
    for obj, key in IGNORED:
        if key in ind.get(obj, {}):
            del ind[obj][key]
    return ind


def _run_linux(cap, ini):
    proc = subprocess.run([binary(), "-r", cap, "-c", ini],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (cap, proc.stderr)
    return proc


def _run_windows(exe, env, cap, ini):
    proc = subprocess.run(["wine", exe, "-r", cap, "-c", ini],
                          capture_output=True, text=True, timeout=300,
                          env=env)
    if proc.returncode != 0 and "wine client error" in proc.stderr:
        # Wine, not the agent, failed before it started (see run.sh).
        subprocess.run(["wineserver", "-k"], env=env, capture_output=True)
        proc = subprocess.run(["wine", exe, "-r", cap, "-c", ini],
                              capture_output=True, text=True, timeout=300,
                              env=env)
    assert proc.returncode == 0, (cap, proc.stderr)
    return proc


def _no_ebpf(text):
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith("ebpf: "))


def test_version_and_help(wine, exe):
    out = subprocess.run(["wine", exe, "-V"], capture_output=True,
                         text=True, env=wine, timeout=60)
    lin = subprocess.run([binary(), "-V"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == lin.stdout
    out = subprocess.run(["wine", exe, "-h"], capture_output=True,
                         text=True, env=wine, timeout=60)
    assert out.returncode == 0 and "-r capture" in out.stdout
    # What is not in this build yet is refused with a pointer.
    out = subprocess.run(["wine", exe, "status"], capture_output=True,
                         text=True, env=wine, timeout=60)
    assert out.returncode == 2 and "docs/windows.md" in out.stderr


def test_check_config(wine, exe, ini, tmp_path):
    out = subprocess.run(["wine", exe, "-n", "-c", ini], capture_output=True,
                         text=True, env=wine, timeout=60)
    lin = subprocess.run([binary(), "-n", "-c", ini], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 == lin.returncode, out.stderr
    # Linux also says which eBPF process hooks would load: a collector
    # Windows does not have (ETW takes its place later).
    assert out.stderr == _no_ebpf(lin.stderr)
    # The normalised configuration: the same but for the paths that have
    # Windows defaults (spool, certificates, no control socket or user).
    out = subprocess.run(["wine", exe, "-nv", "-c", ini],
                         capture_output=True, text=True, env=wine,
                         timeout=60)
    assert "\\Picket\\spool" in out.stdout
    # A bad file: the same problems, the same exit status.
    bad = tmp_path / "bad.ini"
    bad.write_text("[scan]\nport_scan_ports = lots\n[nope]\n")
    out = subprocess.run(["wine", exe, "-n", "-c", str(bad)],
                         capture_output=True, text=True, env=wine,
                         timeout=60)
    lin = subprocess.run([binary(), "-n", "-c", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == lin.returncode == 1
    assert out.stderr == _no_ebpf(lin.stderr)


def _compare(exe, env, ini, cap):
    """Differences between the two builds on one capture, and what the
    Linux build reported."""
    lin = _run_linux(cap, ini)
    win = _run_windows(exe, env, cap, ini)
    li = [_strip(i) for i in parse_indicators(lin.stdout)]
    wi = [_strip(i) for i in parse_indicators(win.stdout)]
    differ = []
    if li != wi:
        for n, (a, b) in enumerate(zip(li, wi)):
            if a != b:
                differ.append(f"{cap}: indicator {n}:\n linux   "
                              f"{json.dumps(a)}\n windows {json.dumps(b)}")
                break
        else:
            differ.append(f"{cap}: {len(li)} indicators on Linux, "
                          f"{len(wi)} on Windows")
    if parse_stats(lin.stderr) != parse_stats(win.stderr):
        differ.append(f"{cap}: statistics differ:\n linux   "
                      f"{parse_stats(lin.stderr)}\n windows "
                      f"{parse_stats(win.stderr)}")
    return differ, li


def test_same_indicators(wine, exe, ini, tmp_path):
    caps = _captures(tmp_path)
    # Wine starts slowly (about a second a run): run a few at once.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: _compare(exe, wine, ini, c),
                                caps))
    differ = [d for r, _ in results for d in r]
    assert not differ, "\n".join(differ)
    # The comparison compared something: scans, worm rules, the IOC list
    # and the fingerprinting all reported on these captures.
    datasets = {i["event"]["dataset"] for _, li in results for i in li}
    assert {"picket.scan", "picket.rules", "picket.ioc"} <= datasets, \
        datasets


ETW_UNAVAILABLE = re.compile(
    r"process telemetry: ETW session unavailable \([^)]*: error \d+\): "
    r"running without process events")


def test_live_without_etw_says_so(wine, exe, tmp_path):
    """Process telemetry: wine only stubs ETW, so a live run says in one
    line which step failed and carries on without process events (here
    until the capture, on an adapter that does not exist, gives up);
    with [process] enabled = no it does not try."""
    for enabled in ("yes", "no"):
        ini = tmp_path / f"etw-{enabled}.ini"
        ini.write_text(f"[process]\nenabled = {enabled}\n"
                       "[pcap]\ninterfaces = picket-nosuch0\n")
        out = subprocess.run(["wine", exe, "-f", "-c", str(ini), "-o",
                              str(tmp_path / "out.ndjson")],
                             capture_output=True, text=True, env=wine,
                             timeout=120)
        assert out.returncode == 1, out.stderr
        assert "cannot capture" in out.stderr, out.stderr
        lines = ETW_UNAVAILABLE.findall(out.stderr)
        assert len(lines) == (1 if enabled == "yes" else 0), out.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_live_capture_through_wpcap(wine, exe, tmp_path):
    """Live capture: picketd.exe loads wpcap.dll at run time (wine's
    forwards to the host's libpcap, as Npcap's would to its driver), finds
    the adapter by the name people see, and reports a port scan made
    between two network namespaces while it happens."""
    from netns import Pair, wait_for
    with Pair() as pair:
        lst = subprocess.run(["ip", "netns", "exec", pair.b, "wine", exe,
                              "--list-interfaces"], capture_output=True,
                             text=True, env=wine, timeout=120)
        assert lst.returncode == 0, lst.stderr
        names = [l.split("\t") for l in lst.stdout.splitlines()]
        assert any(n[1] == "veth-pkb" and n[0].startswith("\\Device\\NPF_")
                   for n in names), lst.stdout
        ini = tmp_path / "live.ini"
        ini.write_text("[network]\nhome_net = 10.201.0.0/24\n"
                       "[pcap]\ninterfaces = veth-pkb\n")
        out, log = tmp_path / "out.ndjson", tmp_path / "live.log"
        with open(log, "w") as logf:
            agent = pair.popen(pair.b, "wine", exe, "-f", "-c", str(ini),
                               "-o", str(out), env=wine,
                               stdout=subprocess.DEVNULL, stderr=logf)
        try:
            assert wait_for(lambda: "running, host" in log.read_text()
                            or agent.poll() is not None, timeout=60), \
                log.read_text()
            assert "capturing on veth-pkb" in log.read_text()
            probe = ("import socket,sys\n"
                     "for p in range(20000, 20040):\n"
                     "    s = socket.socket(); s.settimeout(1)\n"
                     "    s.connect_ex((sys.argv[1], p)); s.close()\n")
            pair.run(pair.b, "python3", "-c", probe, pair.ip_a)

            def scans():
                if not out.exists():
                    return []
                text = out.read_text()
                text = text[:text.rfind("\n") + 1]    # whole lines
                return [o for o in parse_indicators(text)
                        if o["rule"]["id"] == "picket.scan.port"]
            assert wait_for(lambda: scans(), timeout=30), \
                (log.read_text()[-2000:], out.read_text()
                 if out.exists() else "")
            o = scans()[0]
            assert o["source"]["ip"] == pair.ip_b
            assert o["destination"]["ip"] == pair.ip_a
            assert o["network"]["direction"] == "internal"
        finally:
            agent.kill()
            agent.wait()


@pytest.fixture()
def wine_copy(wine, tmp_path):
    """A private copy of the cached prefix, for tests that install into
    it: what they do must not reach the cache the other tests share."""
    prefix = tmp_path / "prefix"
    subprocess.run(["cp", "-a", wine["WINEPREFIX"], str(prefix)],
                   check=True, timeout=300)
    env = dict(wine, WINEPREFIX=str(prefix))
    yield env
    subprocess.run(["wineserver", "-k"], env=env, capture_output=True)


def _sc_state(run):
    out = run("sc", "query", "picketd").stdout
    m = re.search(r"STATE\s+:\s+\d+\s+(\w+)", out)
    return m.group(1) if m else None


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
@pytest.mark.skipif(shutil.which("wixl") is None,
                    reason="wixl is not installed (packaging/deps.sh)")
def test_msi_installs_and_removes_the_service(wine_copy, tmp_path):
    """`msiexec /i picket-agent.msi /qn` installs picketd.exe, the rules
    and the service, which starts, writes its configuration from the
    example, captures (a port scan on the namespace's loopback is
    reported) and logs; `/x` stops and removes the service and the files,
    and keeps the configuration.  Wine runs inside a network namespace of
    its own, so the service captures only there, and on a copy of the
    prefix."""
    from netns import wait_for
    msi = os.environ.get("PICKET_MSI", str(REPO / "build/pkg/picket-agent.msi"))
    if not os.path.exists(msi):
        pytest.fail(f"{msi} missing: run make msi first")
    ns = f"pkmsi{os.getpid() % 100000}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    drive = pathlib.Path(wine_copy["WINEPREFIX"]) / "drive_c"
    data = drive / "ProgramData" / "Picket"
    inst = drive / "Program Files" / "Picket"

    def run(*args, timeout=180):
        return subprocess.run(["ip", "netns", "exec", ns, "wine", *args],
                              capture_output=True, text=True,
                              env=wine_copy, timeout=timeout)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"],
                       check=True)
        # One wineserver for the whole test, started in the namespace:
        # services live as long as it does.
        subprocess.run(["ip", "netns", "exec", ns, "wineserver", "-p"],
                       env=wine_copy, check=True, timeout=60)
        # The first wine program starts services.exe, which outlives it
        # and keeps its standard streams: let those be /dev/null, not the
        # pipes run() reads to their end.
        subprocess.run(["ip", "netns", "exec", ns, "wine", "cmd", "/c",
                        "exit"], env=wine_copy, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=180)
        r = run("msiexec", "/i", msi, "/qn")
        assert r.returncode == 0, r.stderr[-2000:]
        assert (inst / "picketd.exe").exists()
        assert (inst / "rules" / "worms.rules").exists()
        assert (inst / "agent.ini.example").exists()
        assert wait_for(lambda: _sc_state(run) == "RUNNING", timeout=60,
                        step=1), run("sc", "query", "picketd").stdout
        log = data / "picketd.log"
        assert wait_for(lambda: log.exists() and
                        "running, host" in log.read_text(), timeout=60), \
            log.read_text() if log.exists() else "no log"
        assert (data / "agent.ini").read_bytes() == \
            (inst / "agent.ini.example").read_bytes()
        assert "capturing on lo" in log.read_text()
        probe = ("import socket\n"
                 "for p in range(20000, 20040):\n"
                 "    s = socket.socket(); s.settimeout(1)\n"
                 "    s.connect_ex(('127.0.0.1', p)); s.close()\n")
        subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", probe],
                       check=True, timeout=60)
        out = data / "indicators.ndjson"

        def scanned():
            if not out.exists():
                return False
            text = out.read_text()
            text = text[:text.rfind("\n") + 1]
            return any(o["rule"]["id"] == "picket.scan.port"
                       for o in parse_indicators(text))
        assert wait_for(scanned, timeout=30), log.read_text()[-2000:]
        # The administrator's edit survives the uninstall.
        with open(data / "agent.ini", "a") as f:
            f.write("; edited here\n")
        r = run("msiexec", "/x", msi, "/qn")
        assert r.returncode == 0, r.stderr[-2000:]
        assert _sc_state(run) is None, run("sc", "query", "picketd").stdout
        assert "service: stop requested" in log.read_text()
        assert "service: stopped (0)" in log.read_text()
        # Everything the MSI put down is gone, but for one wine artefact:
        # wine's services.exe holds the stopped service's process handle,
        # and with it picketd.exe's image, a moment after reporting it
        # stopped, and msiexec deletes files right after that report; on
        # Windows the image is released when the process ends.
        assert not (inst / "rules").exists()
        assert not (inst / "ioc").exists()
        assert not (inst / "agent.ini.example").exists()
        left = sorted(p.name for p in inst.iterdir()) if inst.exists() \
            else []
        assert left in ([], ["picketd.exe"]), left
        assert (data / "agent.ini").read_text().endswith("; edited here\n")
    finally:
        subprocess.run(["ip", "netns", "exec", ns, "wineserver", "-k"],
                       env=wine_copy, capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


# ---- reporting to the hub (docs/windows.md, "Reporting to the hub") ------
#
# The Windows agent under wine against a real Linux `picket-hub serve` on
# 127.0.0.1, with mkcerts' certificates referenced by their Linux paths
# (wine maps / to drive Z:).


def _scan_capture(path, sources, ports=20, t0=1700000000):
    """sources x ports unanswered TCP SYNs to 192.0.2.10, 1 ms apart: one
    port-scan indicator per source (picket.scan.port), so a capture with
    as many records as a test needs.  Classic pcap, Ethernet."""
    import socket
    out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
    us = 0
    for s in range(sources):
        src = socket.inet_aton(f"10.{1 + s // 250}.{s % 250}.7")
        for p in range(ports):
            tcp = struct.pack("!HHIIBBHHH", 40000 + p, 1000 + p, 1, 0,
                              0x50, 0x02, 64240, 0, 0)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0,
                             64, 6, 0, src, socket.inet_aton("192.0.2.10"))
            frame = (b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip + tcp)
            out.append(struct.pack("<IIII", t0 + us // 10**6, us % 10**6,
                                   len(frame), len(frame)) + frame)
            us += 1000
    pathlib.Path(path).write_bytes(b"".join(out))
    return str(path)


@pytest.fixture()
def hub(tmp_path):
    import hubrun
    certs = hubrun.mkcerts(tmp_path / "certs")
    h = hubrun.Hub(tmp_path / "hub", certs)
    yield h
    rc, _ = h.stop()
    assert rc == 0, h.stderr()[-2000:]


def _hub_ini(path, hub, spool, agent="agent-1", extra=""):
    """The test INI with a [hub] section for hub and its own spool."""
    c = hub.certs
    pathlib.Path(path).write_text(
        "[rules]\n"
        f"paths = {REPO}/rules\n"
        "[ioc]\n"
        f"paths = {REPO}/rules/ioc\n"
        "[hub]\n"
        f"address = 127.0.0.1:{hub.port}\n"
        f"ca = {c / 'ca.crt'}\n"
        f"cert = {c / 'agents' / f'{agent}.crt'}\n"
        f"key = {c / 'agents' / f'{agent}.key'}\n"
        "backoff_base = 1\nbackoff_cap = 2\n"
        f"{extra}"
        "[spool]\n"
        f"dir = {spool}\n")
    return str(path)


def _stored(hub):
    """Every record the hub stores, as parsed indicators, in seq order."""
    recs = [json.loads(line) for line in
            hub.indicators("--limit", "1000000") if line.strip()]
    return sorted(recs, key=lambda r: r["picket"]["seq"])


def _same(ind):
    """An indicator without what the hub run changes on purpose: the ids
    (module docstring) and picket.seq (the spool's numbering goes on
    across runs, -r without a hub starts at 1 each time)."""
    ind = _strip(json.loads(json.dumps(ind)))
    ind["picket"].pop("seq", None)
    return ind


def test_reports_to_hub(wine, exe, hub, tmp_path):
    """`wine picketd.exe -r` with [hub] address: enrols nothing (mkcerts'
    agent-1 certificate), connects over mutual TLS, and the hub stores
    exactly the indicators the Linux `picketd -r` prints for the same
    captures, field by field, numbered 1..N without gap or duplicate;
    -r waits for the ACKs, the statistics say so and the spool is
    acknowledged to its end."""
    caps = [str(PCAPS / "nmap_synscan.pcap"),
            _ioc_capture(tmp_path / "ioc.pcap"),
            _scan_capture(tmp_path / "scans.pcap", 60)]
    caps.extend(wormgen.write_case("blaster", str(tmp_path)))
    ini = _hub_ini(tmp_path / "agent.ini", hub, tmp_path / "spool")
    want = []
    for cap in caps:
        want.extend(parse_indicators(_run_linux(cap, ini).stdout))
        proc = _run_windows(exe, wine, cap, ini)
        assert "hub: connected to 127.0.0.1 (test-hub)" in proc.stderr, \
            proc.stderr[-3000:]
        assert "hub: every record up to seq" in proc.stderr, \
            proc.stderr[-3000:]
        st = parse_stats(proc.stderr)
        assert st["spool.acked_seq"] == st["spool.next_seq"] - 1
        assert st["shipper.acked_seq"] == st["spool.next_seq"] - 1
        assert st["shipper.protocol_errors"] == 0
        assert st["shipper.spool_errors"] == 0
        assert st["shipper.shutdowns_sent"] == 1
    assert len(want) > 60
    got = _stored(hub)
    assert [r["picket"]["seq"] for r in got] == list(range(1, len(want) + 1))
    assert {r["agent"]["id"] for r in got} == {"agent-1"}
    assert [_same(r) for r in got] == [_same(r) for r in want]
    k = hub.counters()
    assert k["ingest_stored"] == len(want)
    assert k["ingest_duplicates"] == 0 and k["ingest_rejected"] == 0
    assert k["closed_by_error_protocol"] == 0


def test_killed_and_restarted_loses_nothing(wine, exe, hub, tmp_path):
    """SIGKILL of the wine process while it reads and ships (one record a
    batch, so shipping takes seconds), then the same run again: the
    second run resumes where the hub's ACKs stopped and adds its own
    records after the first run's; the hub stores seqs 1..N, each once,
    every one of them the indicator Linux reports (the first run's are
    a prefix of the capture's), and the hub's listener saw duplicates at
    most of the batches that were in flight at the kill."""
    cap = _scan_capture(tmp_path / "scans.pcap", 800)
    ini = _hub_ini(tmp_path / "agent.ini", hub, tmp_path / "spool",
                   extra="batch_records = 1\n")
    per_run = parse_indicators(_run_linux(cap, ini).stdout)
    assert len(per_run) == 800
    err = open(tmp_path / "first.stderr", "w")
    agent = subprocess.Popen(["wine", exe, "-r", cap, "-c", ini],
                             stdout=subprocess.DEVNULL, stderr=err, env=wine)
    try:
        deadline = time.monotonic() + 120
        while hub.counters()["ingest_stored"] < 50:
            assert agent.poll() is None, \
                (tmp_path / "first.stderr").read_text()[-3000:]
            assert time.monotonic() < deadline, "nothing stored in 120 s"
            time.sleep(0.1)
        agent.kill()
    finally:
        agent.kill()
        agent.wait()
        err.close()
    first = hub.counters()["ingest_stored"]
    proc = _run_windows(exe, wine, cap, ini)
    # The restart found what the first run had spooled (the first `had`
    # indicators of the capture: it was still reading when it died), the
    # ACKed part of them marked so by the ACK file, and appended after.
    m = re.search(r"spool \S+: records \d+\.\.(\d+) waiting, (\d+) "
                  r"acknowledged", proc.stderr)
    assert m, proc.stderr[-3000:]
    had, acked = int(m.group(1)), int(m.group(2))
    assert 50 <= first <= had, (first, had)
    assert 1 <= acked <= first, (acked, first)
    total = had + len(per_run)
    assert f"hub: every record up to seq {total} acknowledged" in \
        proc.stderr, proc.stderr[-3000:]
    got = _stored(hub)
    assert [r["picket"]["seq"] for r in got] == list(range(1, total + 1))
    assert [_same(r) for r in got] == \
        [_same(r) for r in per_run[:had] + per_run]
    k = hub.counters()
    assert k["ingest_stored"] == total
    # WELCOME's stored_seq says where to resume; at most what was in
    # flight (the hub's max_inflight, 64 here) could come twice.
    assert k["ingest_duplicates"] <= 64, k["ingest_duplicates"]


def test_task_refused_with_reason(wine, exe, hub, tmp_path):
    """A task ordered for the Windows host is answered at its next
    connection: RESULT STATE refused, with the reason the hub keeps and
    shows (no targeted collection on Windows yet)."""
    import hubrun
    ini = _hub_ini(tmp_path / "agent.ini", hub, tmp_path / "spool")
    cap = str(PCAPS / "nmap_synscan.pcap")
    # The hub orders tasks for hosts it knows: one run first.
    _run_windows(exe, wine, cap, ini)
    proc = subprocess.run([str(hubrun.HUB), "task", "create", "--type",
                           "snapshot", "--agent", "agent-1", "-c",
                           str(hub.ini)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    tid = re.search(r"\d+", proc.stdout + proc.stderr).group(0)
    out = _run_windows(exe, wine, cap, ini)
    assert f"task {tid} refused: targeted collection is not available " \
        "on Windows yet" in out.stderr, out.stderr[-3000:]
    st = parse_stats(out.stderr)
    assert st["shipper.tasks_refused"] == 1
    assert st["shipper.result_frames"] == 1

    def refused():
        show = subprocess.run([str(hubrun.HUB), "task", "show", tid,
                               "--json", "-c", str(hub.ini)],
                              capture_output=True, text=True, timeout=60)
        return "refused" in show.stdout and \
            "not available on Windows yet" in show.stdout
    deadline = time.monotonic() + 10
    while not refused():
        assert time.monotonic() < deadline, subprocess.run(
            [str(hubrun.HUB), "task", "show", tid, "--json", "-c",
             str(hub.ini)], capture_output=True, text=True).stdout
        time.sleep(0.2)


def test_enroll_then_report(wine, exe, tmp_path):
    """`picketd.exe enroll` with a token from `picket-hub enroll-token
    create` gets the host's certificate over HTTPS (the hub checked
    against --ca), and the agent then reports with it: the hub stores the
    capture's indicators under the id the key derives to.  An enrolled
    directory, a used-up token and a CA that does not verify the hub are
    refused, each with its reason."""
    import hubrun
    from test_enroll import start_hub, token
    hub = start_hub(tmp_path / "h")
    try:
        secret, _ = token(hub)
        d = tmp_path / "agent"

        def enroll(tok, where, ca=hub.certs / "ca.crt"):
            return subprocess.run(
                ["wine", exe, "enroll", "--hub",
                 f"127.0.0.1:{hub.api_port}", "--token", tok, "--ca",
                 str(ca), "--dir", str(where)], capture_output=True,
                text=True, timeout=120, env=wine)
        proc = enroll(secret, d)
        assert proc.returncode == 0, proc.stderr
        aid = proc.stdout.strip()
        assert re.fullmatch(r"a-[0-9a-f]{24}", aid), proc.stdout
        for f in ("agent.key", "agent.crt", "ca.crt"):
            assert (d / f).exists(), f
        assert not (d / ".agent.key.new").exists()
        listing = subprocess.run([str(hubrun.HUB), "agent", "list", "-c",
                                  str(hub.ini)], capture_output=True,
                                 text=True, timeout=60).stdout
        assert aid in listing
        # Reporting with what enrollment wrote.
        ini = tmp_path / "agent.ini"
        ini.write_text("[rules]\n"
                       f"paths = {REPO}/rules\n"
                       "[hub]\n"
                       f"address = 127.0.0.1:{hub.port}\n"
                       f"ca = {d / 'ca.crt'}\ncert = {d / 'agent.crt'}\n"
                       f"key = {d / 'agent.key'}\n"
                       f"[spool]\ndir = {tmp_path / 'spool'}\n")
        cap = str(PCAPS / "nmap_synscan.pcap")
        run = _run_windows(exe, wine, cap, str(ini))
        assert f"hub: shipping to 127.0.0.1:{hub.port} as {aid}" in \
            run.stderr, run.stderr[-2000:]
        assert "hub: every record up to seq 1 acknowledged" in run.stderr
        got = _stored(hub)
        assert [r["agent"]["id"] for r in got] == [aid]
        assert got[0]["rule"]["id"] == "picket.scan.port"
        # Refusals.
        again = enroll(secret, d)
        assert again.returncode == 1
        assert "already enrolled" in again.stderr
        used = enroll(secret, tmp_path / "other")
        assert used.returncode == 1
        assert "enrollment refused by the hub (HTTP 403)" in used.stderr
        assert not (tmp_path / "other" / "agent.key").exists()
        assert not (tmp_path / "other" / ".agent.key.new").exists()
        fresh, _ = token(hub)
        other = hubrun.mkcerts(tmp_path / "otherca")
        wrong = enroll(fresh, tmp_path / "third", ca=other / "ca.crt")
        assert wrong.returncode == 1
        assert "certificate verify failed" in wrong.stderr, wrong.stderr
        usage = enroll("", tmp_path / "fourth")
        assert usage.returncode == 2
    finally:
        hub.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
@pytest.mark.skipif(shutil.which("wixl") is None,
                    reason="wixl is not installed (packaging/deps.sh)")
def test_msi_enrolls_and_reports(wine_copy, tmp_path):
    """`msiexec /i picket-agent.msi HUB=... TOKEN=... CA=... HUB_LISTEN=...
    /qn`: the service enrols at its first start (the hub's API, the
    token, the CA), deletes the token from the registry, and reports to
    the hub: a port scan on the namespace's loopback is stored under the
    id the host enrolled as.  Hub and wine share a network namespace of
    their own; the prefix is a private copy."""
    import hubrun
    from netns import wait_for
    from test_enroll import ca_init, token
    msi = os.environ.get("PICKET_MSI", str(REPO / "build/pkg/picket-agent.msi"))
    if not os.path.exists(msi):
        pytest.fail(f"{msi} missing: run make msi first")
    ns = f"pkmse{os.getpid() % 100000}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    data = pathlib.Path(wine_copy["WINEPREFIX"]) / "drive_c" / \
        "ProgramData" / "Picket"
    hub = None

    def run(*args, timeout=180):
        return subprocess.run(["ip", "netns", "exec", ns, "wine", *args],
                              capture_output=True, text=True,
                              env=wine_copy, timeout=timeout)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"],
                       check=True)
        pki = ca_init(tmp_path / "h")
        hub = hubrun.Hub(tmp_path / "h", pki, crl=False, ns=ns)
        secret, _ = token(hub)
        subprocess.run(["ip", "netns", "exec", ns, "wineserver", "-p"],
                       env=wine_copy, check=True, timeout=60)
        subprocess.run(["ip", "netns", "exec", ns, "wine", "cmd", "/c",
                        "exit"], env=wine_copy, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=180)
        r = run("msiexec", "/i", msi, f"HUB=127.0.0.1:{hub.api_port}",
                f"TOKEN={secret}", f"CA={pki / 'ca.crt'}",
                f"HUB_LISTEN=127.0.0.1:{hub.port}", "/qn")
        assert r.returncode == 0, r.stderr[-2000:]
        log = data / "picketd.log"

        def said(text):
            return log.exists() and text in log.read_text()
        assert wait_for(lambda: said("hub: connected to 127.0.0.1"),
                        timeout=90, step=1), \
            log.read_text()[-3000:] if log.exists() else "no log"
        m = re.search(r"service: enrolled with 127\.0\.0\.1:\d+ as "
                      r"(a-[0-9a-f]{24})", log.read_text())
        assert m, log.read_text()[-3000:]
        aid = m.group(1)
        assert f"hub: shipping to 127.0.0.1:{hub.port} as {aid}" in \
            log.read_text()
        for f in ("agent.key", "agent.crt", "ca.crt"):
            assert (data / f).exists(), f
        q = run("reg", "query", r"HKLM\SOFTWARE\Picket", "/v", "Token")
        assert secret not in q.stdout
        q = run("reg", "query", r"HKLM\SOFTWARE\Picket", "/v", "Hub")
        assert f"127.0.0.1:{hub.api_port}" in q.stdout, q.stdout
        probe = ("import socket\n"
                 "for p in range(20000, 20040):\n"
                 "    s = socket.socket(); s.settimeout(1)\n"
                 "    s.connect_ex(('127.0.0.1', p)); s.close()\n")
        subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", probe],
                       check=True, timeout=60)

        def stored():
            return any(x["rule"]["id"] == "picket.scan.port" and
                       x["agent"]["id"] == aid for x in _stored(hub))
        assert wait_for(stored, timeout=60, step=1), \
            log.read_text()[-3000:]
        r = run("msiexec", "/x", msi, "/qn")
        assert r.returncode == 0, r.stderr[-2000:]
        assert _sc_state(run) is None
    finally:
        subprocess.run(["ip", "netns", "exec", ns, "wineserver", "-k"],
                       env=wine_copy, capture_output=True)
        if hub is not None:
            hub.stop()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _renew_ini(path, hub, d, spool, extra=""):
    """[hub] from an enrolled directory d, renew_before past the 397 days
    enrollment gives: the certificate is due for renewal at once."""
    pathlib.Path(path).write_text(
        "[rules]\n"
        f"paths = {REPO}/rules\n"
        "[hub]\n"
        f"address = 127.0.0.1:{hub.port}\n"
        f"ca = {d / 'ca.crt'}\ncert = {d / 'agent.crt'}\n"
        f"key = {d / 'agent.key'}\n"
        "backoff_base = 1\nbackoff_cap = 2\nrenew_before = 400d\n"
        f"{extra}"
        f"[spool]\ndir = {spool}\n")
    return str(path)


def test_renews_its_certificate(wine, exe, tmp_path):
    """An enrolled Windows agent whose certificate ends within
    renew_before asks the hub over its connection, checks and installs
    the new certificate itself (later end, same key, same subject,
    chains to the CA), reconnects with it at once and reports on under
    the same agent id; the next run asks again and is told "later"
    without losing its session."""
    from test_enroll import (audit, cert_end, cert_serial, check_renewed,
                             enroll, start_hub, stored, token)
    hub = start_hub(tmp_path / "h")
    try:
        secret, _ = token(hub)
        d = tmp_path / "agent"
        proc = enroll(hub, secret, d)
        assert proc.returncode == 0, proc.stderr
        aid = proc.stdout.strip()
        old_serial, old_end = cert_serial(d / "agent.crt"), \
            cert_end(d / "agent.crt")
        time.sleep(1.1)     # the new certificate must end later
        ini = _renew_ini(tmp_path / "agent.ini", hub, d, tmp_path / "spool")
        run = _run_windows(exe, wine, str(PCAPS / "nmap_synscan.pcap"), ini)
        err = run.stderr
        assert "it will be renewed" in err, err[-3000:]
        assert f"certificate renewed: {d / 'agent.crt'} is now serial" in \
            err, err[-3000:]
        assert "hub: certificate renewed: reconnecting with it" in err
        assert err.count("hub: connected to") >= 2, err[-3000:]
        new_serial = check_renewed(hub, d, aid, tmp_path / "spool",
                                   old_serial, old_end)
        st = parse_stats(err)
        # The session after the renewal asked again: "later".
        assert st["shipper.renewals"] == 2, st
        assert st["shipper.renewals_refused"] == 1, st
        assert "hub: every record up to seq 1 acknowledged" in err
        assert stored(hub, aid) == 1
        # Another run with the renewed certificate: reports under the
        # same id; asked within the hour, the hub says later.
        run = _run_windows(exe, wine, _scan_capture(tmp_path / "s.pcap", 5),
                           ini)
        err = run.stderr
        assert "certificate not renewed (later): renewed less than an " \
            "hour ago; asking again in an hour" in err, err[-3000:]
        assert "hub: every record up to seq 6 acknowledged" in err, \
            err[-3000:]
        assert stored(hub, aid) == 6
        assert cert_serial(d / "agent.crt") == new_serial
        results = [r[4] for r in audit(hub) if r[1] == "RENEW"]
        assert results == ["ok"] + \
            ["later: renewed less than an hour ago"] * 2, results
    finally:
        assert hub.stop()[0] == 0


def test_renewal_refused_keeps_reporting(wine, exe, tmp_path):
    """A certificate the CA signed by hand for the key's own id (so the
    agent asks) but of an agent that never enrolled: the hub refuses,
    the agent says so, keeps its certificate and reports with it."""
    import hashlib
    from test_enroll import openssl, start_hub, stored
    hub = start_hub(tmp_path / "h")
    try:
        d = tmp_path / "agent"
        d.mkdir()
        key = d / "agent.key"
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", str(key))
        der = openssl("pkey", "-in", str(key), "-pubout", "-outform", "DER")
        hid = "a-" + hashlib.sha256(der).hexdigest()[:24]
        csr = openssl("req", "-new", "-key", str(key), "-subj", f"/CN={hid}")
        (tmp_path / "ext.cnf").write_text("extendedKeyUsage = clientAuth\n")
        openssl("x509", "-req", "-CA", str(hub.data / "ca" / "ca.crt"),
                "-CAkey", str(hub.data / "ca" / "ca.key"), "-days", "2",
                "-extfile", str(tmp_path / "ext.cnf"), "-out",
                str(d / "agent.crt"), stdin=csr)
        shutil.copy(hub.certs / "ca.crt", d / "ca.crt")
        before = (d / "agent.crt").read_bytes()
        ini = _renew_ini(tmp_path / "agent.ini", hub, d, tmp_path / "spool")
        run = _run_windows(exe, wine, str(PCAPS / "nmap_synscan.pcap"), ini)
        err = run.stderr
        assert re.search(r"hub: certificate not renewed \(refused\): this "
                         r"agent did not enroll with this hub.*; asking "
                         r"again in a day", err), err[-3000:]
        assert "hub: every record up to seq 1 acknowledged" in err
        st = parse_stats(err)
        assert st["shipper.renewals"] == 1
        assert st["shipper.renewals_refused"] == 1
        assert st["shipper.protocol_errors"] == 0
        assert (d / "agent.crt").read_bytes() == before
        assert stored(hub, hid) == 1
    finally:
        assert hub.stop()[0] == 0


def test_reports_through_connect_proxy(wine, exe, hub, tmp_path):
    """[hub] proxy: the agent asks an HTTP proxy on 127.0.0.1 to CONNECT
    to the hub and runs TLS through the tunnel; the hub stores the run's
    indicators, and the proxy saw the CONNECT for the hub."""
    import hubrun
    from test_reporting import PROXY
    script = tmp_path / "proxy.py"
    script.write_text(PROXY)
    port = hubrun.free_port()
    proxy = subprocess.Popen(["/usr/bin/python3", str(script), "127.0.0.1",
                              str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert proxy.stdout.readline().strip() == "ready"
        ini = _hub_ini(tmp_path / "agent.ini", hub, tmp_path / "spool",
                       extra=f"proxy = 127.0.0.1:{port}\n")
        cap = _scan_capture(tmp_path / "scans.pcap", 30)
        run = _run_windows(exe, wine, cap, ini)
        assert "through proxy 127.0.0.1" in run.stderr, run.stderr[-3000:]
        assert "hub: every record up to seq 30 acknowledged" in \
            run.stderr, run.stderr[-3000:]
        assert proxy.stdout.readline().strip() == \
            f"CONNECT 127.0.0.1:{hub.port} HTTP/1.1"
        assert [r["picket"]["seq"] for r in _stored(hub)] == \
            list(range(1, 31))
        assert parse_stats(run.stderr)["shipper.connect_failures"] == 0
    finally:
        proxy.kill()
        proxy.wait()


# Shared-indicator bundles (docs/bundles.md, "The agent"): the Windows
# agent speaks protocol 2, applies the hub's bundle on its capture thread
# and reports what it runs, as the Linux agent does.

SHARED_IP = "192.0.2.10"	# what _scan_capture's SYNs go to


@pytest.fixture()
def bundle_hub(tmp_path):
    """A real hub with one approved shared indicator, SHARED_IP from peer
    state-a (inserted as the peering receiver keeps it, as
    test_bundles_hub.py does), its bundle version 1 built; the API."""
    import sqlite3
    import hubrun
    from apiclient import HttpsApi
    certs = hubrun.mkcerts(tmp_path / "certs")
    h = hubrun.Hub(tmp_path / "hub", certs,
                   sections={"bundles": {"check_interval": "1s"}})
    now = int(time.time() * 1e6)
    with sqlite3.connect(h.data / "hub.db", timeout=10) as c:
        sid = c.execute(
            "INSERT INTO shared_indicators (peer, origin, stix_id, kind, "
            "value, rule_ids, tlp, first_received_us, last_received_us, "
            "state) VALUES ('state-a', 'Member state-a', "
            "'indicator--00000000-0000-4000-8000-000000000001', 'ipv4', "
            "?, '[]', 1, ?, ?, 1)", (SHARED_IP, now, now)).lastrowid
    api = HttpsApi(h, certs, timeout=20)
    tok = h.token("viewer", "viewer-1")

    def get(path):
        st, b = api.json("GET", path, tok)
        assert st == 200, b
        return b
    deadline = time.monotonic() + 20
    while get("/api/v1/bundles")["current"] != 1:
        assert time.monotonic() < deadline, get("/api/v1/bundles")
        time.sleep(0.2)
    yield h, get, sid
    rc, _ = h.stop()
    assert rc == 0, h.stderr()[-2000:]


def _host_bundle(get, agent="agent-1"):
    for h in get("/api/v1/hosts")["hosts"]:
        if h["agent_id"] == agent:
            return h["bundle"]
    return None


def _run_until_bundle(exe, wine, cap, ini, get, outcome, tries=3):
    """`-r` until the hub's hosts API says what the agent answered (the
    first run may connect before the hub offers the bundle): the last
    run's stderr and the host's bundle."""
    for _ in range(tries):
        proc = _run_windows(exe, wine, cap, ini)
        assert "hub: every record up to seq" in proc.stderr, \
            proc.stderr[-3000:]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            b = _host_bundle(get)
            if b is not None and b["outcome"] == outcome:
                return proc, b
            time.sleep(0.2)
    raise AssertionError((_host_bundle(get), proc.stderr[-3000:]))


def test_applies_shared_bundle(wine, exe, bundle_hub, tmp_path):
    """The hub offers bundle 1 (one approved shared IPv4 address) in a
    version 2 session: the Windows agent files it in spool\\bundle,
    applies it on the capture thread and answers APPLIED, so the hosts
    API shows it running version 1; the next run (the bundle loaded again
    from spool\\bundle\\state at start) reports the flows to that address
    as picket.ioc.address with picket.shared naming the hub's shared
    indicator and its origin, and the hub stores it for agent-1."""
    hub, get, sid = bundle_hub
    cap = _scan_capture(tmp_path / "scan.pcap", 1)
    spool = tmp_path / "spool"
    ini = _hub_ini(tmp_path / "agent.ini", hub, spool)
    proc, b = _run_until_bundle(exe, wine, cap, ini, get, "applied")
    assert b["running"] == 1 and b["previous"] == 0, b
    assert "bundle: version 1 applied (1 entries" in proc.stderr, \
        proc.stderr[-3000:]
    st = parse_stats(proc.stderr)
    assert st["shipper.config_frames"] == 1
    assert st["shipper.applied_frames"] >= 2	# RUNNING, then APPLIED
    assert st["shipper.protocol_errors"] == 0
    assert st["bundle_running"] == 1 and st["bundles_applied"] == 1
    assert (spool / "bundle" / "1.bundle").is_file()
    assert (spool / "bundle" / "state").read_text() == \
        "running=1\nprevious=0\n"

    proc = _run_windows(exe, wine, cap, ini)
    assert "bundle: running version 1 (1 entries, 0 ignored)" in \
        proc.stderr, proc.stderr[-3000:]
    st = parse_stats(proc.stderr)
    assert st["shared_matches"] >= 1, proc.stderr[-3000:]
    assert st["shipper.config_frames"] == 0	# the hub knows it runs 1
    hits = [r for r in _stored(hub)
            if r["rule"]["id"] == "picket.ioc.address" and
            "shared" in r["picket"]]
    assert hits, [r["rule"]["id"] for r in _stored(hub)]
    for r in hits:
        assert r["agent"]["id"] == "agent-1"
        sh = r["picket"]["shared"]
        assert sh["ref"] == sid and sh["origin"] == "state-a", sh
        assert sh["kind"] == "ipv4" and sh["value"] == SHARED_IP, sh
        assert sh["bundle"] == 1, sh
    assert _host_bundle(get)["running"] == 1


def test_bundle_refused_when_turned_off(wine, exe, bundle_hub, tmp_path):
    """[bundle] accept = no: the CONFIG is answered REFUSED with the
    reason, which the hub records for the host; nothing is filed."""
    hub, get, _ = bundle_hub
    cap = _scan_capture(tmp_path / "scan.pcap", 1)
    spool = tmp_path / "spool"
    ini = _hub_ini(tmp_path / "agent.ini", hub, spool,
                   extra="[bundle]\naccept = no\n")
    proc, b = _run_until_bundle(exe, wine, cap, ini, get, "refused")
    assert b["running"] == 0, b
    assert b["reason"] == "bundles are turned off on this host " \
        "([bundle] accept = no)", b
    assert "hub: bundle 1 refused: bundles are turned off" in proc.stderr
    assert parse_stats(proc.stderr)["shipper.bundles_refused"] == 1
    assert not (spool / "bundle" / "1.bundle").exists()
