#!/usr/bin/python3
"""Write the packet-analysis benchmark capture (issue 9): a fixed-seed,
realistic mix of traffic for `picketd -r`, Suricata and a bare libpcap loop
to read side by side (tests/bench/throughput.py).

    /usr/bin/python3 tests/bench/mkbench.py [--smoke] [--size MB]
                                            [--seed N] [--out FILE]

prints the path of the capture.  Without --out the file is cached under
/var/cache/picket/bench/ keyed by generator version (GEN_VERSION plus a
hash of this file and wormgen.py) and size, so a second call returns at
once.  Default size 300 MB; --smoke 5 MB.

The mix, interleaved over up to 64 concurrent conversations: TCP flows
with handshake and FIN (some end in RST), HTTP requests and responses,
TLS ClientHello (with SNI) / ServerHello / Certificate and application
data, DNS queries and answers, SMB sessions, some generic TCP (SSH-like),
port scans and address scans, and the worm conversations of
tests/integration/wormgen.py (trigger and near-miss, with fresh addresses
for each copy).  Addresses: 10/8 inside; 192.0.2/24, 198.51.100/24 and
203.0.113/24 outside (documentation ranges).  Nothing is ever sent: the
packets go to a file.

The records are written with struct, not scapy (scapy only builds the
worm conversations once): the generator does about 100,000 packets/s.
"""
import argparse
import hashlib
import os
import random
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

GEN_VERSION = 1
CACHE_DIR = "/var/cache/picket/bench"
MSS = 1448
T0 = 1700000000.0
LINK_BPS = 200e6		# capture clock: the mix as seen on a 200 Mbit/s link

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


# ------------------------------------------------------------ raw frames

def _csum_sum(data):
    """Ones'-complement sum of 16-bit words: 2^16 = 1 (mod 0xFFFF), so the
    big-endian integer modulo 0xFFFF is the folded sum (0 read as 0xFFFF)."""
    if len(data) & 1:
        data += b"\0"
    s = int.from_bytes(data, "big") % 0xFFFF
    return s or 0xFFFF


def _ip(src, dst, proto, l4, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident & 0xFFFF,
                      0x4000, 64, proto, 0, src, dst)
    c = 0xFFFF - _csum_sum(hdr)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + l4


def tcp_frame(src, dst, sp, dp, seq, ack, flags, payload=b"", ident=0):
    hdr = struct.pack("!HHIIBBHHH", sp, dp, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, 0x50, flags, 64240, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, 20 + len(payload))
    c = 0xFFFF - _csum_sum(pseudo + hdr + payload)
    l4 = hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload
    return MAC_A + MAC_B + b"\x08\x00" + _ip(src, dst, 6, l4, ident)


def udp_frame(src, dst, sp, dp, payload, ident=0):
    hdr = struct.pack("!HHHH", sp, dp, 8 + len(payload), 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, 8 + len(payload))
    c = 0xFFFF - _csum_sum(pseudo + hdr + payload)
    l4 = hdr[:6] + struct.pack("!H", c or 0xFFFF) + payload
    return MAC_A + MAC_B + b"\x08\x00" + _ip(src, dst, 17, l4, ident)


def refresh(frame, amap):
    """A wormgen frame (Ethernet/IPv4/TCP or UDP, no options) with its
    addresses mapped through amap and both checksums recomputed."""
    ip = frame[14:34]
    src, dst = ip[12:16], ip[16:20]
    src, dst = amap.get(src, src), amap.get(dst, dst)
    proto = ip[9]
    l4 = bytearray(frame[34:])
    off = 16 if proto == 6 else 6
    l4[off:off + 2] = b"\0\0"
    pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
    c = 0xFFFF - _csum_sum(pseudo + bytes(l4))
    if proto == 17:
        c = c or 0xFFFF
    l4[off:off + 2] = struct.pack("!H", c)
    ident = struct.unpack("!H", ip[4:6])[0]
    return frame[:14] + _ip(src, dst, proto, bytes(l4), ident)


# ------------------------------------------------------------ conversations

class Tcp:
    """Yields the frames of one TCP conversation: handshake, messages cut
    into MSS segments (the receiver ACKs every second segment), then FIN
    both ways or an RST."""

    def __init__(self, rng, c, cp, s, sp):
        self.rng, self.c, self.cp, self.s, self.sp = rng, c, cp, s, sp
        self.cseq = rng.getrandbits(32)
        self.sseq = rng.getrandbits(32)
        self.ident = rng.getrandbits(16)

    def _f(self, fromc, flags, payload=b""):
        self.ident += 1
        if fromc:
            f = tcp_frame(self.c, self.s, self.cp, self.sp, self.cseq,
                          self.sseq, flags, payload, self.ident)
            self.cseq += len(payload) + (1 if flags & (SYN | FIN) else 0)
        else:
            f = tcp_frame(self.s, self.c, self.sp, self.cp, self.sseq,
                          self.cseq, flags, payload, self.ident)
            self.sseq += len(payload) + (1 if flags & (SYN | FIN) else 0)
        return f

    def run(self, messages, rst=False):
        yield self._f(True, SYN)
        yield self._f(False, SYN | ACK)
        yield self._f(True, ACK)
        for fromc, data in messages:
            n = 0
            for off in range(0, len(data), MSS):
                yield self._f(fromc, PSH | ACK, data[off:off + MSS])
                n += 1
                if n % 2 == 0:
                    yield self._f(not fromc, ACK)
            if n % 2:
                yield self._f(not fromc, ACK)
        if rst:
            yield self._f(True, RST | ACK)
            return
        yield self._f(True, FIN | ACK)
        yield self._f(False, FIN | ACK)
        yield self._f(True, ACK)


WORDS = ("the of and to in is for on that with as by this are from at be "
         "or an was it not have which we can all will more about has one "
         "news data report home contact search login account service page "
         "update server client network system policy council county state "
         "agency public office water road permit tax budget meeting "
         "minutes agenda notice form library park school health").split()


class Mix:
    """Payload templates built once, and one generator per conversation."""

    def __init__(self, rng):
        self.rng = rng
        self.text = self._text(1 << 20)
        self.noise = rng.randbytes(1 << 20)
        self.inside = [bytes([10, rng.randrange(0, 4), rng.randrange(256),
                              rng.randrange(1, 255)]) for _ in range(2000)]
        self.outside = [bytes([a, b, c, d]) for a, b, c in
                        ((192, 0, 2), (198, 51, 100), (203, 0, 113))
                        for d in range(1, 255)]
        self.servers_in = [bytes([10, 0, 1, d]) for d in range(10, 40)]
        self.resolvers = [bytes([10, 0, 0, 53]), bytes([10, 0, 0, 54])]
        self.hosts = [f"{rng.choice(WORDS)}{i}.{rng.choice(WORDS)}.example."
                      f"{rng.choice(('com', 'net', 'org'))}"
                      for i in range(400)]
        self.http_req = [self._http_req(h) for h in self.hosts[:200]]
        self.hello = [self._client_hello(h) for h in self.hosts]
        self.server_hello = self._server_hello()
        self.dns_pairs = [(self._dns_q(i, h), self._dns_a(i, h))
                    for i, h in enumerate(self.hosts)]
        self.ports = {}
        self._worms()

    def _text(self, n):
        out, size = [], 0
        while size < n:
            w = self.rng.choice(WORDS)
            out.append(w)
            size += len(w) + 1
            if self.rng.random() < 0.05:
                out.append("</p>\n<p class=\"c\">")
        return " ".join(out).encode()[:n]

    def slice(self, pool, n):
        off = self.rng.randrange(0, len(pool) - n)
        return pool[off:off + n]

    def cport(self, ip):
        p = self.ports.get(ip, 32768 + self.rng.randrange(28000))
        p = 32768 if p >= 60999 else p + 1
        self.ports[ip] = p
        return p

    # --- templates
    def _http_req(self, host):
        r = self.rng
        path = "/" + "/".join(r.choice(WORDS)
                              for _ in range(r.randrange(1, 4)))
        return (f"GET {path}.html HTTP/1.1\r\nHost: {host}\r\n"
                "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) "
                "Gecko/20100101 Firefox/115.0\r\nAccept: text/html,"
                "application/xhtml+xml\r\nAccept-Encoding: identity\r\n"
                "Connection: close\r\n\r\n").encode()

    def _client_hello(self, host):
        name = host.encode()
        sni = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
        exts = (struct.pack("!HH", 0, len(sni)) + sni +
                bytes.fromhex("000a000800060017001800190"
                              "00b00020100002b0003020304"
                              "000d0008000604030503080400170000"))
        body = (b"\x03\x03" + self.rng.randbytes(32) + b"\x20" +
                self.rng.randbytes(32) +
                bytes.fromhex("0006130113021303") + b"\x01\x00" +
                struct.pack("!H", len(exts)) + exts)
        hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
        return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs

    def _server_hello(self):
        body = (b"\x03\x03" + self.rng.randbytes(32) + b"\x20" +
                self.rng.randbytes(32) + b"\x13\x01\x00" +
                bytes.fromhex("002e002b0002030400330024001d0020") +
                self.rng.randbytes(32))
        hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
        rec = b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs
        enc = self.rng.randbytes(2900)
        return (rec + b"\x14\x03\x03\x00\x01\x01" + b"\x17\x03\x03" +
                struct.pack("!H", len(enc)) + enc)

    def _dns_q(self, i, host):
        q = b"".join(bytes([len(p)]) + p.encode() for p in host.split("."))
        return struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + q + \
            b"\x00\x00\x01\x00\x01"

    def _dns_a(self, i, host):
        q = self._dns_q(i, host)
        ans = b"".join(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04" +
                       self.rng.choice(self.outside) for _ in range(2))
        return (struct.pack("!HHHHHH", i, 0x8180, 1, 2, 0, 0) + q[12:] + ans)

    def _worms(self):
        """Every wormgen case, trigger and near miss, built by scapy once
        and kept as raw frames; each copy gets fresh addresses."""
        import wormgen
        self.worms = []
        for name, (build, _) in wormgen.CASES.items():
            trig, near = build(wormgen.Clock())
            for pkts in (trig, near):
                self.worms.append((name, [bytes(p) for p in pkts]))
        w = __import__("socket").inet_aton
        self.worm_out = [w(wormgen.OUTSIDE), w(wormgen.OUTSIDE2)]
        self.worm_in = [w(wormgen.INSIDE), w(wormgen.INSIDE2)]

    # --- conversations (generators of frames)
    def http(self):
        r = self.rng
        c = r.choice(self.inside)
        s = r.choice(self.outside)
        if r.random() < 0.15:			# inbound to a web server here
            c, s = r.choice(self.outside), r.choice(self.servers_in)
        body = self.slice(self.text, min(int(r.expovariate(1 / 10000)) + 200,
                                         400000))
        resp = (b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/"
                b"html; charset=utf-8\r\nContent-Length: %d\r\nConnection: "
                b"close\r\n\r\n<html><body><p>" % len(body)) + body
        msgs = [(True, r.choice(self.http_req)), (False, resp)]
        return Tcp(r, c, self.cport(c), s, 80).run(msgs)

    def tls(self):
        r = self.rng
        c, s = r.choice(self.inside), r.choice(self.outside)
        msgs = [(True, r.choice(self.hello)), (False, self.server_hello),
                (True, b"\x14\x03\x03\x00\x01\x01\x17\x03\x03\x00\x35" +
                 self.slice(self.noise, 53))]
        for _ in range(r.randrange(1, 5)):
            n = min(int(r.expovariate(1 / 8000)) + 100, 300000)
            msgs.append((True, b"\x17\x03\x03\x01\x00" +
                         self.slice(self.noise, 256)))
            recs = []
            for off in range(0, n, 16384):
                m = min(16384, n - off)
                recs.append(b"\x17\x03\x03" + struct.pack("!H", m) +
                            self.slice(self.noise, m))
            msgs.append((False, b"".join(recs)))
        return Tcp(r, c, self.cport(c), s, 443).run(msgs,
                                                    rst=r.random() < 0.1)

    def dns(self):
        r = self.rng
        c = r.choice(self.inside)
        s = r.choice(self.resolvers)
        i = r.randrange(len(self.dns_pairs))
        q, a = self.dns_pairs[i]
        sp = self.cport(c)
        yield udp_frame(c, s, sp, 53, q, r.getrandbits(16))
        yield udp_frame(s, c, 53, sp, a, r.getrandbits(16))

    def smb(self):
        import wormgen
        r = self.rng
        c, s = r.choice(self.inside), r.choice(self.servers_in)
        neg_resp = wormgen.nbss(b"\xfeSMB" + struct.pack(
            "<HHIHHIIQIIQ", 64, 0, 0, 0, 1, 1, 0, 0, 0xFEFF, 0, 0) +
            b"\x41\x00\x01\x00\x11\x03" + self.slice(self.noise, 180))
        msgs = [(True, wormgen.smb_negotiate()), (False, neg_resp)]
        for i in range(r.randrange(2, 12)):
            hdr = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", 64, 1, 0, 8, 1, 0,
                                           0, i + 5, 0xFEFF, 1, 0x1000)
            msgs.append((True, wormgen.nbss(hdr + b"\x31\x00\x50\x00" +
                                            struct.pack("<IQ", 65536, i *
                                                        65536) +
                                            b"\x00" * 32)))
            msgs.append((False, wormgen.nbss(hdr + b"\x11\x00\x50\x00" +
                                             self.slice(self.text, r.randrange(
                                                 4000, 65536)))))
        return Tcp(r, c, self.cport(c), s, 445).run(msgs)

    def ssh(self):
        r = self.rng
        c, s = r.choice(self.inside), r.choice(self.outside + self.servers_in)
        msgs = [(False, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
                (True, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")]
        for _ in range(r.randrange(2, 20)):
            msgs.append((r.random() < 0.5,
                         self.slice(self.noise, r.randrange(48, 3000))))
        return Tcp(r, c, self.cport(c), s, 22).run(msgs)

    def port_scan(self):
        r = self.rng
        a, v = r.choice(self.outside), r.choice(self.inside)
        sp = r.randrange(40000, 60000)
        ports = r.sample(range(1, 65536), 1000)
        for i, p in enumerate(ports):
            seq = r.getrandbits(32)
            yield tcp_frame(a, v, sp, p, seq, 0, SYN, b"", i)
            if p in (22, 80, 443, 445) or r.random() < 0.01:
                yield tcp_frame(v, a, p, sp, r.getrandbits(32), seq + 1,
                                SYN | ACK, b"", i)
                yield tcp_frame(a, v, sp, p, seq + 1, 0, RST, b"", i)
            else:
                yield tcp_frame(v, a, p, sp, 0, seq + 1, RST | ACK, b"", i)

    def addr_scan(self):
        r = self.rng
        a = r.choice(self.inside + self.outside)
        net = bytes([10, r.randrange(4, 200), r.randrange(256)])
        port = r.choice((445, 22, 3389, 23))
        for d in range(1, 255):
            v = net + bytes([d])
            seq = r.getrandbits(32)
            sp = self.cport(a)
            yield tcp_frame(a, v, sp, port, seq, 0, SYN, b"", d)
            if r.random() < 0.05:
                yield tcp_frame(v, a, port, sp, 0, seq + 1, RST | ACK, b"", d)

    def worm(self):
        r = self.rng
        _, frames = r.choice(self.worms)
        amap = {self.worm_out[0]: r.choice(self.outside),
                self.worm_out[1]: r.choice(self.outside),
                self.worm_in[0]: r.choice(self.inside),
                self.worm_in[1]: r.choice(self.inside)}
        for f in frames:
            yield refresh(f, amap)


# conversation kind -> weight (per conversation started)
KINDS = (("http", 30), ("tls", 30), ("dns", 40), ("ssh", 6), ("smb", 3),
         ("worm", 1.5), ("port_scan", 0.05), ("addr_scan", 0.15))


def generate(path, size, seed):
    rng = random.Random(seed)
    mix = Mix(rng)
    names = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    active = []
    now = T0
    written = 0
    packets = 0
    counts = dict.fromkeys(names, 0)
    buf = []
    with open(path, "wb", buffering=1 << 20) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        while written < size or active:
            while written < size and len(active) < 64:
                k = rng.choices(names, weights)[0]
                counts[k] += 1
                active.append(getattr(mix, k)())
            if not active:
                break
            i = rng.randrange(len(active))
            frame = next(active[i], None)
            if frame is None:
                active[i] = active[-1]
                active.pop()
                continue
            now += len(frame) * 8 / LINK_BPS + rng.random() * 2e-6
            sec = int(now)
            buf.append(struct.pack("<IIII", sec, int((now - sec) * 1e6),
                                   len(frame), len(frame)))
            buf.append(frame)
            written += 16 + len(frame)
            packets += 1
            if len(buf) >= 4096:
                f.write(b"".join(buf))
                buf.clear()
        f.write(b"".join(buf))
    return packets, counts


def cache_path(size, seed):
    h = hashlib.sha256()
    for p in (__file__, os.path.join(REPO, "tests", "integration",
                                      "wormgen.py")):
        with open(p, "rb") as f:
            h.update(f.read())
    key = f"v{GEN_VERSION}-{h.hexdigest()[:10]}-{size // 1000000}MB-s{seed}"
    d = CACHE_DIR
    try:
        os.makedirs(d, exist_ok=True)
        if not os.access(d, os.W_OK):
            raise PermissionError(d)
    except OSError:
        d = os.path.join(tempfile.gettempdir(), "picket-bench")
        os.makedirs(d, exist_ok=True)
    return os.path.join(d, f"bench-{key}.pcap")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="5 MB")
    ap.add_argument("--size", type=float, help="MB (default 300)")
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--out", help="write here instead of the cache")
    o = ap.parse_args()
    size = int((o.size or (5 if o.smoke else 300)) * 1000000)
    path = o.out or cache_path(size, o.seed)
    if not o.out and os.path.exists(path):
        print(path)
        return 0
    tmp = path + f".tmp{os.getpid()}"
    try:
        packets, counts = generate(tmp, size, o.seed)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"mkbench: {packets} packets, {os.path.getsize(path)} bytes; "
          "conversations: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
          file=sys.stderr)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
