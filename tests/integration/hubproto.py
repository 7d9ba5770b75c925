"""hubproto - a small picket/1 client for tests (docs/protocol.md).

It speaks to a real picket-hub the way an agent does: TLS 1.3 with a client
certificate and ALPN "picket/1" (Python's ssl module), then frames.  It is
deliberately plain and permissive on the sending side: encoders take any
field values (so tests can send out-of-range ones) and `raw()` sends any
bytes.  The receiving side is strict: it checks lengths exactly as the hub
must.

Typical use::

    ctx = hubproto.client_context(certs / "ca.crt",
                                  certs / "agents/agent-1.crt",
                                  certs / "agents/agent-1.key")
    with hubproto.Conn("127.0.0.1", port, ctx) as c:
        w = c.hello("agent-1")                 # -> Welcome
        c.send(hubproto.batch(w.stored_seq + 1, lines))
        assert c.expect(hubproto.ACK).seq == w.stored_seq + len(lines)

Frames on the wire: a 6-byte header (u32 payload length, u8 type, u8
flags, big-endian) and the payload; layouts follow transport/frame.c.

HELLO offers protocol versions 1..1 unless the caller passes ver_min /
ver_max (or versions=(lo, hi)): existing tests speak version 1, where the
hub never sends CONFIG.  A test of bundles offers (1, PROTO_BUNDLES) and
then, like an agent, sends applied(..., AO_RUNNING) right after WELCOME.
"""
import collections
import socket
import ssl
import struct
import time
import zlib

ALPN = "picket/1"
HDR = struct.Struct(">IBB")
MAX_PAYLOAD = 1024 * 1024

# Frame types.
HELLO, WELCOME, BATCH, ACK, HEARTBEAT, ERROR, TASK, RESULT, CONFIG = \
    range(1, 10)
RENEW, CERT, APPLIED = 10, 11, 12
TYPE_NAMES = {HELLO: "HELLO", WELCOME: "WELCOME", BATCH: "BATCH",
              ACK: "ACK", HEARTBEAT: "HEARTBEAT", ERROR: "ERROR",
              TASK: "TASK", RESULT: "RESULT", CONFIG: "CONFIG",
              RENEW: "RENEW", CERT: "CERT", APPLIED: "APPLIED"}
# Protocol versions (transport/frame.h): 2 adds CONFIG and APPLIED.
PROTO_MIN, PROTO_MAX, PROTO_BUNDLES = 1, 2, 2
# CERT results
CERT_ISSUED, CERT_REFUSED, CERT_LATER = range(3)
FLAG_DEFLATE = 0x01

# ERROR codes (docs/protocol.md) and the names the hub's counters use
# (closed_by_error_<name>).
E_PROTOCOL, E_TOOLARGE, E_TYPE, E_VERSION, E_STATE, E_BATCH, E_LIMIT, \
    E_AUTH, E_TIMEOUT, E_INTERNAL, E_SHUTDOWN = range(1, 12)
ERROR_NAMES = {E_PROTOCOL: "protocol", E_TOOLARGE: "toolarge",
               E_TYPE: "type", E_VERSION: "version", E_STATE: "state",
               E_BATCH: "batch", E_LIMIT: "limit", E_AUTH: "auth",
               E_TIMEOUT: "timeout", E_INTERNAL: "internal",
               E_SHUTDOWN: "shutdown"}

Frame = collections.namedtuple("Frame", "type flags payload")
Welcome = collections.namedtuple(
    "Welcome", "version dicts stored_seq server_time_us max_frame "
    "max_batch_records max_batch_bytes max_inflight heartbeat_s hub_id")
Ack = collections.namedtuple("Ack", "seq")
Heartbeat = collections.namedtuple("Heartbeat", "time_us")
Error = collections.namedtuple("Error", "code message")
Cert = collections.namedtuple("Cert", "result message pem")
# Targeted collection (docs/tasks.md): TASK ops, RESULT kinds and states.
TOP_START, TOP_CANCEL, TOP_FORGET = 1, 2, 3
TOP_NAMES = {TOP_START: "START", TOP_CANCEL: "CANCEL", TOP_FORGET: "FORGET"}
RK_STATE, RK_DATA = 1, 2
TS_QUEUED, TS_SENT, TS_RUNNING, TS_DONE, TS_FAILED, TS_REFUSED, \
    TS_EXPIRED, TS_CANCELLED = range(1, 9)
Task = collections.namedtuple("Task", "id op resume spec")
# Shared-indicator bundles (docs/bundles.md): CONFIG ops, APPLIED outcomes.
COP_APPLY, COP_ROLLBACK = 1, 2
COP_NAMES = {COP_APPLY: "APPLY", COP_ROLLBACK: "ROLLBACK"}
AO_RUNNING, AO_APPLIED, AO_REFUSED, AO_ROLLED_BACK = range(4)
AO_NAMES = {AO_RUNNING: "RUNNING", AO_APPLIED: "APPLIED",
            AO_REFUSED: "REFUSED", AO_ROLLED_BACK: "ROLLED_BACK"}
BUNDLE_RAW_MAX = 4 * 1024 * 1024
CONFIG_MIN, APPLIED_MIN = 13, 27
# text: the bundle's text (inflated when the frame was deflated), None
# for ROLLBACK; data: the payload's bytes as sent.
Config = collections.namedtuple("Config", "version op flags raw_len data text")
Applied = collections.namedtuple("Applied",
                                 "running previous version outcome reason")


class ProtocolError(Exception):
    """The peer sent something this client does not accept."""


class HubError(Exception):
    """The hub answered ERROR where something else was expected."""

    def __init__(self, err):
        super().__init__(f"hub sent ERROR {err.code} "
                         f"({ERROR_NAMES.get(err.code, '?')}): "
                         f"{err.message}")
        self.error = err


# ------------------------------------------------------------ encoders

def frame(ftype, payload=b"", flags=0):
    """A whole frame: header and payload."""
    return HDR.pack(len(payload), ftype, flags) + bytes(payload)


def pstr(s):
    """A protocol string: u16 length and the bytes."""
    b = s.encode() if isinstance(s, str) else bytes(s)
    return struct.pack(">H", len(b)) + b


def hello(agent_id, host_name="test-host", agent_version="hubproto/1",
          ver_min=1, ver_max=1, next_seq=1, oldest_seq=None, dropped=0,
          dicts=0, flags=0, versions=None):
    """HELLO frame; oldest_seq defaults to next_seq (empty spool).

    The offered range is ver_min..ver_max (1..1 unless given); versions
    (lo, hi) is the same thing in one argument and wins when given."""
    if versions is not None:
        ver_min, ver_max = versions
    if oldest_seq is None:
        oldest_seq = next_seq
    payload = struct.pack(">HHQQQI", ver_min, ver_max, next_seq,
                          oldest_seq, dropped, dicts)
    payload += pstr(agent_version) + pstr(agent_id) + pstr(host_name)
    return frame(HELLO, payload, flags)


def ndjson(records):
    """Records (str or bytes, no newline) as the NDJSON batch data."""
    return b"".join((r.encode() if isinstance(r, str) else bytes(r)) +
                    b"\n" for r in records)


def batch(first_seq, records, deflate=False, count=None, raw_len=None,
          dict_id=0, data=None, flags=None):
    """BATCH frame of records starting at first_seq.

    Plain NDJSON (flags 0, dict_id 0) by default; deflate=True sends a
    zlib stream without a preset dictionary.  count, raw_len, data and
    flags override the honest values, for malformed-batch tests.
    """
    raw = ndjson(records)
    if data is None:
        data = zlib.compress(raw, 6) if deflate else raw
    if flags is None:
        flags = FLAG_DEFLATE if deflate else 0
    payload = struct.pack(">QIIB", first_seq,
                          len(records) if count is None else count,
                          len(raw) if raw_len is None else raw_len, dict_id)
    return frame(BATCH, payload + data, flags)


def heartbeat(time_us=None):
    if time_us is None:
        time_us = int(time.time() * 1e6)
    return frame(HEARTBEAT, struct.pack(">Q", time_us))


def ack(seq):
    """An ACK (a hub's frame: agents must not send it)."""
    return frame(ACK, struct.pack(">Q", seq))


def error(code, message=""):
    return frame(ERROR, struct.pack(">H", code) + pstr(message))


def applied(running, previous, version, outcome, reason="", flags=0):
    """APPLIED (v2): the bundle this agent runs, the one it keeps for
    rollback, the CONFIG version answered (0 with RUNNING), the outcome
    and a reason.  Any values: tests send inconsistent ones on purpose."""
    return frame(APPLIED, struct.pack(">QQQB", running, previous, version,
                                      outcome) + pstr(reason), flags)


def config(version, op=COP_APPLY, text=b"", deflate=False, raw_len=None,
           data=None, flags=None):
    """CONFIG (v2), a hub's frame (agents must not send it; fake hubs
    and malformed-frame tests do).  APPLY carries text (plain, or one zlib
    stream with deflate=True), raw_len its size; ROLLBACK nothing.
    raw_len, data and flags override the honest values."""
    raw = text.encode() if isinstance(text, str) else bytes(text)
    if data is None:
        if op != COP_APPLY:
            data = b""
        else:
            data = zlib.compress(raw, 6) if deflate else raw
    if raw_len is None:
        raw_len = len(raw) if op == COP_APPLY else 0
    if flags is None:
        flags = FLAG_DEFLATE if deflate and op == COP_APPLY else 0
    return frame(CONFIG, struct.pack(">QBI", version, op, raw_len) + data,
                 flags)


# ------------------------------------------------------------ decoders

class _Cursor:
    def __init__(self, payload):
        self.p = payload
        self.off = 0

    def take(self, n):
        if self.off + n > len(self.p):
            raise ProtocolError("payload too short")
        b = self.p[self.off:self.off + n]
        self.off += n
        return b

    def unpack(self, fmt):
        s = struct.Struct(fmt)
        return s.unpack(self.take(s.size))

    def string(self, maxlen):
        (n,) = self.unpack(">H")
        if n > maxlen:
            raise ProtocolError("string too long")
        b = self.take(n)
        if any(c < 0x20 or c == 0x7F for c in b):
            raise ProtocolError("control bytes in string")
        return b.decode()

    def end(self):
        if self.off != len(self.p):
            raise ProtocolError("bytes after the last field")


def decode_welcome(payload):
    c = _Cursor(payload)
    fixed = c.unpack(">HIQQIIIIH")
    hub_id = c.string(64)
    c.end()
    return Welcome(*fixed, hub_id)


def decode_ack(payload):
    if len(payload) != 8:
        raise ProtocolError("ACK is 8 bytes")
    return Ack(struct.unpack(">Q", payload)[0])


def decode_heartbeat(payload):
    if len(payload) != 8:
        raise ProtocolError("HEARTBEAT is 8 bytes")
    return Heartbeat(struct.unpack(">Q", payload)[0])


def decode_error(payload):
    c = _Cursor(payload)
    (code,) = c.unpack(">H")
    msg = c.string(512)
    c.end()
    return Error(code, msg)


def decode_cert(payload):
    c = _Cursor(payload)
    (result,) = c.unpack(">B")
    msg = c.string(512)
    pem = c.take(len(payload) - c.off).decode()
    if result > CERT_LATER or (result == CERT_ISSUED) != (pem != ""):
        raise ProtocolError(f"CERT result {result} with {len(pem)} bytes")
    return Cert(result, msg, pem)


def renew(csr_pem):
    """RENEW: the PEM text of a certificate request."""
    return frame(RENEW, csr_pem if isinstance(csr_pem, bytes)
                 else csr_pem.encode())


def result_state(task_id, state, nbytes=0, rows=0, reason=""):
    """RESULT STATE: the task's state on this agent, its result size so
    far (with done: the final size), rows and a reason."""
    return frame(RESULT, struct.pack(">QBBQQ", task_id, RK_STATE, state,
                                     nbytes, rows) + pstr(reason))


def result_data(task_id, offset, data, deflate=False, flags=None):
    """RESULT DATA: bytes of the result at offset; deflate=True sends
    one zlib stream (flag bit 0)."""
    body = zlib.compress(bytes(data), 6) if deflate else bytes(data)
    if flags is None:
        flags = FLAG_DEFLATE if deflate else 0
    return frame(RESULT, struct.pack(">QBQ", task_id, RK_DATA, offset) +
                 body, flags)


def decode_task(payload):
    """TASK: (id, op, resume, spec bytes or None); strict as the agent's
    decoder (transport/frame.c)."""
    if len(payload) < 17:
        raise ProtocolError("TASK shorter than 17 bytes")
    tid, op, resume = struct.unpack(">QBQ", payload[:17])
    spec = payload[17:]
    if tid == 0 or op not in TOP_NAMES:
        raise ProtocolError(f"TASK id {tid} op {op}")
    if op == TOP_START:
        if not spec:
            raise ProtocolError("START without a specification")
        return Task(tid, op, resume, spec.decode())
    if spec or resume:
        raise ProtocolError(f"{TOP_NAMES[op]} with resume or bytes")
    return Task(tid, op, resume, None)


def _inflate_capped(data, cap):
    """One whole zlib stream inflated to at most cap bytes, nothing
    after it (as the agent inflates a bundle)."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, cap + 1)
    except zlib.error as e:
        raise ProtocolError(f"CONFIG: bad zlib stream: {e}") from e
    if len(out) > cap or d.unconsumed_tail:
        raise ProtocolError(f"CONFIG: inflates past raw_len {cap}")
    if not d.eof or d.unused_data:
        raise ProtocolError("CONFIG: zlib stream truncated or followed "
                            "by bytes")
    return out


def decode_config(payload, flags=0):
    """CONFIG: a Config; strict as the agent's decoder (transport/frame.c),
    and for a deflated APPLY also inflates and checks raw_len."""
    if len(payload) < CONFIG_MIN:
        raise ProtocolError(f"CONFIG shorter than {CONFIG_MIN} bytes")
    version, op, raw_len = struct.unpack(">QBI", payload[:CONFIG_MIN])
    data = payload[CONFIG_MIN:]
    if op == COP_APPLY:
        if flags & ~FLAG_DEFLATE:
            raise ProtocolError(f"CONFIG APPLY flags {flags:#x}")
        if version == 0 or not 1 <= raw_len <= BUNDLE_RAW_MAX or not data:
            raise ProtocolError(f"CONFIG APPLY version {version} raw_len "
                                f"{raw_len} with {len(data)} bytes")
        if flags & FLAG_DEFLATE:
            text = _inflate_capped(data, raw_len)
        else:
            text = data
        if len(text) != raw_len:
            raise ProtocolError(f"CONFIG APPLY raw_len {raw_len}, text of "
                                f"{len(text)} bytes")
        return Config(version, op, flags, raw_len, data, text)
    if op == COP_ROLLBACK:
        if flags or raw_len or data:
            raise ProtocolError("CONFIG ROLLBACK with flags, raw_len or "
                                "bytes")
        return Config(version, op, flags, raw_len, data, None)
    raise ProtocolError(f"CONFIG op {op}")


def decode_applied(payload):
    """APPLIED: an Applied, with the consistency rules of
    transport/frame.c (for fake hubs reading a real agent)."""
    c = _Cursor(payload)
    running, previous, version, outcome = c.unpack(">QQQB")
    reason = c.string(512)
    c.end()
    ok = {AO_RUNNING: version == 0,
          AO_APPLIED: version != 0 and running == version,
          AO_REFUSED: True,
          AO_ROLLED_BACK: running == version}.get(outcome, False)
    if not ok:
        raise ProtocolError(f"APPLIED {AO_NAMES.get(outcome, outcome)} "
                            f"running {running} version {version}")
    return Applied(running, previous, version, outcome, reason)


DECODERS = {WELCOME: decode_welcome, ACK: decode_ack,
            HEARTBEAT: decode_heartbeat, ERROR: decode_error,
            CERT: decode_cert, TASK: decode_task,
            APPLIED: decode_applied}


def decode(f):
    """The typed value of a hub frame (Welcome, Ack, Heartbeat, Error,
    Cert, Task, Config; Applied for a fake hub's use)."""
    if f.type == CONFIG:
        return decode_config(f.payload, f.flags)
    if f.flags != 0:
        raise ProtocolError(f"flags {f.flags:#x} on {TYPE_NAMES.get(f.type)}")
    if f.type not in DECODERS:
        raise ProtocolError(f"unexpected frame type {f.type} from the hub")
    return DECODERS[f.type](f.payload)


class Decoder:
    """Incremental frame splitter: feed() bytes, get whole Frames."""

    def __init__(self, max_payload=MAX_PAYLOAD):
        self.buf = b""
        self.max = max_payload

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= HDR.size:
            length, ftype, flags = HDR.unpack_from(self.buf)
            if length > self.max:
                raise ProtocolError(f"frame of {length} bytes")
            if len(self.buf) < HDR.size + length:
                break
            out.append(Frame(ftype, flags,
                             self.buf[HDR.size:HDR.size + length]))
            self.buf = self.buf[HDR.size + length:]
        return out

    def pending(self):
        return len(self.buf)


# ------------------------------------------------------------ TLS

def client_context(ca, cert=None, key=None, alpn=(ALPN,), tls13=True):
    """An agent's TLS context: trusts only ca, presents cert/key (None:
    no client certificate), offers alpn (None or (): no ALPN)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if tls13:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key))
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


class Conn:
    """One agent connection.  Blocking socket with a timeout; the TLS
    handshake runs in connect().  recv_frame() returns None at EOF."""

    def __init__(self, host, port, ctx, server_hostname="localhost",
                 timeout=5.0, connect=True, source=None):
        self.host, self.port = host, port
        self.source = source        # local address to connect from
        self.ctx = ctx
        self.server_hostname = server_hostname
        self.timeout = timeout
        self.sock = None
        self.dec = Decoder()
        self.frames = collections.deque()
        self.eof = False
        self.close_reason = None
        if connect:
            self.connect()

    def connect(self):
        raw = socket.create_connection(
            (self.host, self.port), timeout=self.timeout,
            source_address=(self.source, 0) if self.source else None)
        try:
            self.sock = self.ctx.wrap_socket(
                raw, server_hostname=self.server_hostname)
        except BaseException:
            raw.close()
            raise
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def send(self, data):
        self.sock.sendall(data)

    def recv_frame(self, timeout=None):
        """The next frame, or None when the hub closed the connection
        (EOF, close_notify, or a TLS alert).  socket.timeout if nothing
        whole arrives in time."""
        deadline = time.monotonic() + (timeout if timeout is not None
                                       else self.timeout)
        while not self.frames:
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no frame from the hub")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (ssl.SSLError, ConnectionError) as e:
                self.eof = True
                self.close_reason = e
                return None
            if not data:
                self.eof = True
                self.close_reason = None
                continue
            self.frames.extend(self.dec.feed(data))
        return self.frames.popleft()

    def expect(self, ftype, timeout=None):
        """The next frame must be ftype: its decoded value.  An ERROR
        instead raises HubError, EOF raises ProtocolError."""
        f = self.recv_frame(timeout)
        if f is None:
            raise ProtocolError(f"connection closed, wanted "
                                f"{TYPE_NAMES.get(ftype)}")
        v = decode(f)
        if f.type == ERROR and ftype != ERROR:
            raise HubError(v)
        if f.type != ftype:
            raise ProtocolError(f"got {TYPE_NAMES.get(f.type, f.type)}, "
                                f"wanted {TYPE_NAMES.get(ftype)}")
        return v

    def expect_error_and_close(self, timeout=None, skip=(HEARTBEAT,)):
        """The hub's ERROR (skipping heartbeats), then EOF: the Error."""
        while True:
            f = self.recv_frame(timeout)
            if f is None:
                raise ProtocolError("closed without ERROR")
            if f.type not in skip:
                break
        if f.type != ERROR:
            raise ProtocolError(f"got {TYPE_NAMES.get(f.type, f.type)}, "
                                "wanted ERROR")
        err = decode(f)
        self.expect_closed(timeout)
        return err

    def expect_closed(self, timeout=None, skip=(HEARTBEAT,)):
        """Read until the hub closes; frames other than skip are errors.
        Returns the close reason (None: plain EOF, or the SSL error)."""
        while True:
            f = self.recv_frame(timeout)
            if f is None:
                return self.close_reason
            if f.type not in skip:
                raise ProtocolError(f"unexpected "
                                    f"{TYPE_NAMES.get(f.type, f.type)}")

    def hello(self, agent_id, **kw):
        """Send HELLO, return the WELCOME (HubError if refused)."""
        self.send(hello(agent_id, **kw))
        return self.expect(WELCOME)

    def expect_task(self, timeout=None, skip=(HEARTBEAT, ACK)):
        """The next TASK frame (skipping heartbeats and ACKs): a Task."""
        while True:
            f = self.recv_frame(timeout)
            if f is None:
                raise ProtocolError("connection closed, wanted TASK")
            if f.type in skip:
                continue
            v = decode(f)
            if f.type == ERROR:
                raise HubError(v)
            if f.type != TASK:
                raise ProtocolError(f"got {TYPE_NAMES.get(f.type)}, "
                                    "wanted TASK")
            return v

    def expect_config(self, timeout=None, skip=(HEARTBEAT, ACK)):
        """The next CONFIG frame (skipping heartbeats and ACKs): a
        Config (HubError if the hub sends ERROR instead)."""
        while True:
            f = self.recv_frame(timeout)
            if f is None:
                raise ProtocolError("connection closed, wanted CONFIG")
            if f.type in skip:
                continue
            v = decode(f)
            if f.type == ERROR:
                raise HubError(v)
            if f.type != CONFIG:
                raise ProtocolError(f"got {TYPE_NAMES.get(f.type)}, "
                                    "wanted CONFIG")
            return v

    def send_applied(self, running, previous, version, outcome,
                     reason=""):
        """Send one APPLIED."""
        self.send(applied(running, previous, version, outcome, reason))

    def send_batch(self, first_seq, records, **kw):
        """Send one BATCH, return the ACK's seq."""
        self.send(batch(first_seq, records, **kw))
        return self.expect(ACK).seq
