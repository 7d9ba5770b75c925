"""The picket-agent and picket-hub packages (issue 8, docs/operations.md).

`make check-packages` builds the debs and rpms into PKG_DIR (build/pkg)
and runs this file.  Static checks: lintian reports no errors, dpkg-deb
and rpm show the expected files, conffiles and dependencies.  Install
checks (root only): a Debian 12 root made with debootstrap (cached as a
tarball under /var/cache/picket, rebuilt from the mirror when absent);
the agent deb is installed there with apt (its dependencies from
deb.debian.org), upgraded to a second build with a higher version,
removed and purged; the hub deb is installed and its store opened as the
picket user.
"""
import os
import pathlib
import re
import shutil
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PKG_DIR = pathlib.Path(os.environ.get("PKG_DIR", REPO / "build" / "pkg"))
CACHE = pathlib.Path("/var/cache/picket/debootstrap-bookworm-v1.tar")
APT_ARCHIVES = pathlib.Path("/var/cache/picket/apt-archives-bookworm")
MIRROR = "http://deb.debian.org/debian"


def version():
    v = os.environ.get("PKG_VERSION")
    if v:
        return v
    return subprocess.run(["make", "-s", "print-VERSION"], cwd=REPO,
                          capture_output=True, text=True,
                          check=True).stdout.strip()


VERSION = version()
AGENT_DEB = PKG_DIR / f"picket-agent_{VERSION}_amd64.deb"
HUB_DEB = PKG_DIR / f"picket-hub_{VERSION}_amd64.deb"
AGENT_RPM = PKG_DIR / f"picket-agent-{VERSION.replace('-', '_')}-1.x86_64.rpm"
HUB_RPM = PKG_DIR / f"picket-hub-{VERSION.replace('-', '_')}-1.x86_64.rpm"


def sh(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(args, **kw)


@pytest.fixture(scope="module")
def debs():
    if not (AGENT_DEB.exists() and HUB_DEB.exists()):
        r = sh(["make", "deb", f"PKG_VERSION={VERSION}",
                f"PKG_DIR={PKG_DIR}"], cwd=REPO)
        assert r.returncode == 0, r.stdout + r.stderr
    return AGENT_DEB, HUB_DEB


@pytest.fixture(scope="module")
def rpms():
    if shutil.which("rpm") is None:
        pytest.skip("rpm not installed (packaging/deps.sh installs it)")
    if not (AGENT_RPM.exists() and HUB_RPM.exists()):
        r = sh(["make", "rpm", f"PKG_VERSION={VERSION}",
                f"PKG_DIR={PKG_DIR}"], cwd=REPO)
        assert r.returncode == 0, r.stdout + r.stderr
    return AGENT_RPM, HUB_RPM


# ------------------------------------------------------------------ debs

def test_lintian_no_errors(debs):
    if shutil.which("lintian") is None:
        pytest.skip("lintian not installed (packaging/deps.sh installs it)")
    r = sh(["lintian", "--allow-root", "--tag-display-limit", "0",
            *map(str, debs)])
    errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
    assert not errors, r.stdout
    # Warnings are allowed; print them so the log shows what they are.
    print(r.stdout)


def deb_files(deb):
    out = sh(["dpkg-deb", "-c", str(deb)], check=True).stdout
    files = {}
    for line in out.splitlines():
        f = line.split()
        files[f[5].lstrip(".")] = (f[0], f[1])
    return files


def deb_field(deb, field):
    return sh(["dpkg-deb", "-f", str(deb), field], check=True).stdout.strip()


def test_agent_deb_contents(debs):
    files = deb_files(debs[0])
    for path in ("/usr/sbin/picketd", "/lib/systemd/system/picketd.service",
                 "/etc/picket/agent.ini",
                 "/usr/share/picket/rules/worms.rules",
                 "/usr/share/picket/ioc/wannacry.txt",
                 "/usr/share/man/man8/picketd.8.gz",
                 "/usr/share/man/man5/picket-agent.ini.5.gz",
                 "/usr/share/doc/picket-agent/copyright",
                 "/usr/share/doc/picket-agent/changelog.gz"):
        assert path in files, f"{path} not in {debs[0].name}"
    assert files["/usr/sbin/picketd"] == ("-rwxr-xr-x", "root/root")
    info = sh(["dpkg-deb", "-I", str(debs[0])], check=True).stdout
    for part in ("conffiles", "md5sums", "postinst", "prerm", "postrm"):
        assert part in info, info
    conff = sh(["dpkg-deb", "-I", str(debs[0]), "conffiles"],
               check=True).stdout.split()
    assert conff == ["/etc/picket/agent.ini"]
    dep = deb_field(debs[0], "Depends")
    for lib in ("adduser", "libpcap0.8", "libinih1", "libssl3", "zlib1g",
                "libevent-2.1-7", "libbpf1", "libc6"):
        assert re.search(rf"\b{re.escape(lib)}\b", dep), dep
    assert deb_field(debs[0], "Version") == VERSION


def test_hub_deb_contents(debs):
    files = deb_files(debs[1])
    for path in ("/usr/sbin/picket-hub",
                 "/lib/systemd/system/picket-hub.service",
                 "/etc/picket/hub.ini",
                 "/usr/share/picket-hub/ui/index.html",
                 "/usr/share/man/man8/picket-hub.8.gz",
                 "/usr/share/man/man5/picket-hub.ini.5.gz",
                 "/usr/share/doc/picket-hub/copyright"):
        assert path in files, f"{path} not in {debs[1].name}"
    conff = sh(["dpkg-deb", "-I", str(debs[1]), "conffiles"],
               check=True).stdout.split()
    assert conff == ["/etc/picket/hub.ini"]
    dep = deb_field(debs[1], "Depends")
    for lib in ("adduser", "libsqlite3-0", "libpq5", "libjansson4",
                "libssl3", "libevent-2.1-7", "libinih1", "zlib1g", "libc6"):
        assert re.search(rf"\b{re.escape(lib)}\b", dep), dep


def test_binaries_in_debs_are_stripped(debs, tmp_path):
    for deb, binary in ((debs[0], "usr/sbin/picketd"),
                        (debs[1], "usr/sbin/picket-hub")):
        sh(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
        out = sh(["readelf", "-S", str(tmp_path / binary)],
                 check=True).stdout
        assert ".symtab" not in out and ".debug_info" not in out, binary


def test_shipped_configs_are_valid():
    r = sh([str(REPO / "build" / "picketd"), "-n", "-c",
            str(REPO / "packaging" / "agent.ini")])
    assert r.returncode == 0 and "configuration OK" in r.stderr, r.stderr


# ------------------------------------------------------------------ rpms

def rpm_q(rpm, *what):
    return sh(["rpm", "-qp", *what, str(rpm)], check=True).stdout


def test_rpm_files_and_requires(rpms):
    agent, hub = rpms
    files = rpm_q(agent, "-l").split()
    for path in ("/usr/sbin/picketd",
                 "/usr/lib/systemd/system/picketd.service",
                 "/etc/picket/agent.ini", "/usr/share/picket/rules/worms.rules",
                 "/usr/share/man/man8/picketd.8.gz"):
        assert path in files, path
    assert rpm_q(agent, "--configfiles").split() == ["/etc/picket/agent.ini"]
    req = rpm_q(agent, "--requires")
    for soname in ("libpcap.so.0.8()(64bit)", "libinih.so.1()(64bit)",
                   "libssl.so.3()(64bit)", "libbpf.so.1()(64bit)",
                   "libevent-2.1.so.7()(64bit)", "libz.so.1()(64bit)"):
        assert soname in req, req
    assert "%pre" in rpm_q(agent, "--scripts") or "useradd" in \
        rpm_q(agent, "--scripts")
    hfiles = rpm_q(hub, "-l").split()
    for path in ("/usr/sbin/picket-hub",
                 "/usr/lib/systemd/system/picket-hub.service",
                 "/etc/picket/hub.ini", "/usr/share/picket-hub/ui/index.html",
                 "/usr/share/man/man8/picket-hub.8.gz"):
        assert path in hfiles, path
    hreq = rpm_q(hub, "--requires")
    for soname in ("libsqlite3.so.0()(64bit)", "libpq.so.5()(64bit)",
                   "libjansson.so.4()(64bit)", "libssl.so.3()(64bit)"):
        assert soname in hreq, hreq


# --------------------------------------------------- install in a chroot

def make_cache():
    """debootstrap a minimal bookworm and keep it as a tarball."""
    if shutil.which("debootstrap") is None:
        pytest.skip("debootstrap not installed (packaging/deps.sh)")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    build = pathlib.Path(f"{CACHE}.build")
    shutil.rmtree(build, ignore_errors=True)
    r = sh(["debootstrap", "--variant=minbase", "bookworm", str(build),
            MIRROR], timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    tmp = pathlib.Path(f"{CACHE}.tmp")
    sh(["tar", "-C", str(build), "-cf", str(tmp), "."], check=True)
    os.replace(tmp, CACHE)
    shutil.rmtree(build, ignore_errors=True)


class Chroot:
    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.mounts = []

    def mount(self, what, where, *opts):
        target = self.root / where
        target.mkdir(parents=True, exist_ok=True)
        sh(["mount", *opts, what, str(target)], check=True)
        self.mounts.append(target)

    def umount_all(self):
        for target in reversed(self.mounts):
            sh(["umount", "-l", str(target)])
        self.mounts = []

    def run(self, cmd, check=True, env=None, timeout=300):
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
             "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
        e.update(env or {})
        r = sh(["chroot", str(self.root), "/bin/sh", "-c", cmd], env=e,
               timeout=timeout)
        if check:
            assert r.returncode == 0, \
                f"{cmd}: exit {r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
        return r

    def path(self, p):
        return self.root / p.lstrip("/")


@pytest.fixture(scope="module")
def chroot(tmp_path_factory, debs):
    if os.geteuid() != 0:
        pytest.skip("the install test needs root (debootstrap, chroot, mount)")
    if not CACHE.exists():
        make_cache()
    root = tmp_path_factory.mktemp("bookworm") / "root"
    root.mkdir()
    sh(["tar", "-C", str(root), "-xf", str(CACHE)], check=True)
    c = Chroot(root)
    try:
        (root / "etc/apt/sources.list").write_text(
            f"deb {MIRROR} bookworm main\n"
            f"deb {MIRROR} bookworm-updates main\n"
            "deb http://deb.debian.org/debian-security bookworm-security main\n")
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
        # No service may start in the chroot (there is no systemd anyway).
        rc = root / "usr/sbin/policy-rc.d"
        rc.write_text("#!/bin/sh\nexit 101\n")
        rc.chmod(0o755)
        # Downloaded .debs are kept between runs.
        APT_ARCHIVES.mkdir(parents=True, exist_ok=True)
        c.mount("proc", "proc", "-t", "proc")
        c.mount(str(APT_ARCHIVES), "var/cache/apt/archives", "--bind")
        c.run("apt-get update -q", timeout=300)
        pkgdir = root / "tmp/pkgs"
        pkgdir.mkdir(parents=True)
        for d in debs:
            shutil.copy(d, pkgdir)
        yield c
    finally:
        c.umount_all()


@pytest.fixture(scope="module")
def upgrade_deb(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg2")
    v2 = f"{VERSION}+test2"
    # The same binaries as the first build (what `make deb
    # PKG_VERSION=...` packs, without rebuilding them).
    r = sh(["sh", "packaging/deb/build-deb.sh", "agent", v2,
            os.environ.get("BUILD", "build"), str(out)], cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    return out / f"picket-agent_{v2}_amd64.deb", v2


def test_agent_install_upgrade_remove_purge(chroot, upgrade_deb):
    c = chroot
    t0 = time.monotonic()
    c.run(f"apt-get install -y -q --no-install-recommends "
          f"/tmp/pkgs/{AGENT_DEB.name}", timeout=600)
    print(f"install: {time.monotonic() - t0:.1f} s")

    # The unit, enabled the way deb-systemd-helper does it.
    assert c.path("/lib/systemd/system/picketd.service").is_file()
    wants = c.path("/etc/systemd/system/multi-user.target.wants/picketd.service")
    assert wants.is_symlink(), "picketd.service not enabled"
    # The user and the state directories.
    pw = c.run("getent passwd picket").stdout.split(":")
    assert pw[5] == "/var/lib/picket" and int(pw[2]) < 1000, pw
    c.run("getent group picket")
    st = c.run("stat -c '%U:%G %a' /var/lib/picket /var/lib/picket/spool"
               ).stdout.split("\n")
    assert st[0] == "picket:picket 750" and st[1] == "picket:picket 700", st
    # The conffile, as dpkg records it.
    conff = c.run("dpkg-query -W -f='${Conffiles}' picket-agent").stdout
    assert "/etc/picket/agent.ini" in conff, conff
    # The installed configuration checks out with the installed binary.
    r = c.run("picketd -n -c /etc/picket/agent.ini")
    assert "configuration OK" in r.stdout + r.stderr, r.stderr
    assert c.run("man -w picketd 2>/dev/null || ls /usr/share/man/man8/picketd.8.gz"
                 ).returncode == 0

    # Upgrade: a changed conffile and a spooled file survive.
    ini = c.path("/etc/picket/agent.ini")
    text = ini.read_text().replace("#snaplen = 4096", "snaplen = 2048")
    assert "snaplen = 2048" in text
    ini.write_text(text)
    seg = c.path("/var/lib/picket/spool/00000000000000000001.seg")
    seg.write_bytes(b"spooled indicator\n")
    deb2, v2 = upgrade_deb
    shutil.copy(deb2, c.path("/tmp/pkgs"))
    c.run(f"apt-get install -y -q /tmp/pkgs/{deb2.name}", timeout=600)
    assert c.run("dpkg-query -W -f='${Version}' picket-agent").stdout == v2
    assert "snaplen = 2048" in ini.read_text(), "modified conffile replaced"
    assert seg.read_bytes() == b"spooled indicator\n", "spool lost on upgrade"
    r = c.run("picketd -n -c /etc/picket/agent.ini")
    assert "configuration OK" in r.stdout + r.stderr

    # remove keeps the data and the configuration; purge deletes both.
    c.run("apt-get remove -y -q picket-agent")
    assert not c.path("/usr/sbin/picketd").exists()
    assert seg.exists(), "remove deleted the spool"
    assert ini.exists(), "remove deleted the conffile"
    c.run("apt-get purge -y -q picket-agent")
    assert not c.path("/var/lib/picket").exists(), "purge kept /var/lib/picket"
    assert not ini.exists(), "purge kept agent.ini"


def test_hub_install(chroot):
    c = chroot
    c.run(f"apt-get install -y -q --no-install-recommends "
          f"/tmp/pkgs/{HUB_DEB.name}", timeout=600)
    assert c.path("/lib/systemd/system/picket-hub.service").is_file()
    assert c.path("/etc/systemd/system/multi-user.target.wants/"
                  "picket-hub.service").is_symlink()
    assert "/etc/picket/hub.ini" in \
        c.run("dpkg-query -W -f='${Conffiles}' picket-hub").stdout
    assert c.run("stat -c '%U:%G %a' /var/lib/picket-hub").stdout.strip() \
        == "picket:picket 750"
    # The operator's first steps (picket-hub(8)): CA as root, then hand
    # the files to the service user, which opens the store.
    c.run("picket-hub ca init --hub-name hub.example.org")
    c.run("chown -R picket:picket /var/lib/picket-hub && "
          "chgrp picket /etc/picket/hub.key && chmod 0640 /etc/picket/hub.key")
    r = c.run("runuser -u picket -- picket-hub agent list")
    assert "ID" in r.stdout, r.stdout
    assert c.path("/var/lib/picket-hub/hub.db").exists()
    assert c.path("/usr/share/picket-hub/ui/index.html").exists()
    c.run("apt-get purge -y -q picket-hub")
    assert not c.path("/var/lib/picket-hub").exists()
