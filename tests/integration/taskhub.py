"""taskhub - a scripted hub for the agent's side of targeted collection.

It speaks picket/1 as a hub does (docs/protocol.md, docs/tasks.md): TLS
1.3 with the hub certificate from packaging/mkcerts.sh and a required
client certificate, HELLO -> WELCOME, ACK for every BATCH, and the task
frames: TASK START/CANCEL/FORGET out, RESULT STATE/DATA in.  Like the
real hub it appends a DATA chunk only at the offset it expects, re-sends
START (with resume = the bytes it holds) for every unfinished task each
time the agent connects, and sends FORGET once a task is done and every
byte is here.  Tests drive it with start()/cancel() and read what came
back with wait_state()/data().

The listening socket can be made inside a network namespace (ns=NAME):
a helper thread enters it with setns(2) just to create the socket, so
the rest of the test stays in the root namespace.  Reusable by the
end-to-end tests: nothing here is specific to one test.
"""
import ctypes
import json
import os
import socket
import ssl
import struct
import threading
import time
import zlib

import hubproto as hp

CLONE_NEWNET = 0x40000000
STATES = {3: "running", 4: "done", 5: "failed", 6: "refused",
          8: "cancelled"}
START, CANCEL, FORGET = 1, 2, 3


def listen_in_ns(ns, host, port):
    """A listening TCP socket created inside network namespace ns."""
    out = {}

    def make():
        try:
            if ns is not None:
                libc = ctypes.CDLL("libc.so.6", use_errno=True)
                fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
                try:
                    if libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns")
                finally:
                    os.close(fd)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
            s.listen(8)
            out["sock"] = s
        except Exception as e:      # reported to the caller
            out["err"] = e

    t = threading.Thread(target=make)
    t.start()
    t.join()
    if "err" in out:
        raise out["err"]
    return out["sock"]


def task_frame(tid, op, resume=0, spec=b""):
    if isinstance(spec, str):
        spec = spec.encode()
    return hp.frame(hp.TASK, struct.pack(">QBQ", tid, op, resume) + spec)


class Task:
    def __init__(self, tid, spec):
        self.id, self.spec = tid, spec
        self.data = bytearray()
        self.states = []        # (monotonic time, name, bytes, rows, reason)
        self.started_at = None  # monotonic time START was first sent
        self.final = None
        self.forgotten = False
        self.bad_offsets = 0
        self.chunks = 0
        self.deflated = 0


class TaskHub:
    def __init__(self, certs, host="127.0.0.1", port=7443, ns=None,
                 max_frame=hp.MAX_PAYLOAD, heartbeat_s=30):
        self.certs = certs
        self.max_frame, self.heartbeat_s = max_frame, heartbeat_s
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(str(certs / "hub.crt"),
                                 str(certs / "hub.key"))
        self.ctx.load_verify_locations(str(certs / "ca.crt"))
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx.set_alpn_protocols([hp.ALPN])
        self.lsock = listen_in_ns(ns, host, port)
        self.lock = threading.Condition()
        self.tasks = {}
        self.conn = None
        self.outq = []
        self.connections = 0
        self.errors = []        # ERROR frames from the agent
        self.records = 0
        self.stop_flag = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    # ------------------------------------------------------------ control

    def start(self, tid, spec):
        """Order a task (spec: dict, or str/bytes sent as they are)."""
        if isinstance(spec, dict):
            spec = json.dumps(spec)
        with self.lock:
            t = self.tasks[tid] = Task(tid, spec)
            self._send_start(t)

    def cancel(self, tid):
        with self.lock:
            self._send(task_frame(tid, CANCEL))

    def forget(self, tid):
        with self.lock:
            self._send(task_frame(tid, FORGET))

    def wait_connected(self, timeout=30):
        with self.lock:
            return self.lock.wait_for(lambda: self.conn is not None,
                                      timeout)

    def wait_state(self, tid, *names, timeout=30):
        """The first state record of tid whose name is one of names."""
        def seen():
            t = self.tasks.get(tid)
            for s in (t.states if t else []):
                if s[1] in names:
                    return s
            return None
        with self.lock:
            self.lock.wait_for(seen, timeout)
            return seen()

    def wait_forgotten(self, tid, timeout=30):
        with self.lock:
            return self.lock.wait_for(
                lambda: self.tasks[tid].forgotten, timeout)

    def data(self, tid):
        with self.lock:
            return bytes(self.tasks[tid].data)

    def close(self):
        self.stop_flag = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            if self.conn is not None:
                try:
                    self.conn.close()
                except OSError:
                    pass

    # ------------------------------------------------------------ inside

    def _send(self, data, task=None):
        """Queue a frame for the session thread, the one thread that
        uses the TLS socket (OpenSSL objects are not for two threads)."""
        if self.conn is None:
            return False
        self.outq.append((data, task))
        return True

    def _flush(self, s):
        with self.lock:
            q, self.outq = self.outq, []
        for data, task in q:
            s.sendall(data)
            if task is not None and task.started_at is None:
                task.started_at = time.monotonic()

    def _send_start(self, t):
        if t.final is not None and t.final != "done":
            return
        self._send(task_frame(t.id, START, len(t.data), t.spec), t)

    def _welcome(self):
        payload = struct.pack(">HIQQIIIIH", 1, 0, 0,
                              int(time.time() * 1e6), self.max_frame,
                              10000, 8 * 1024 * 1024, 64, self.heartbeat_s)
        return hp.frame(hp.WELCOME, payload + hp.pstr("taskhub"))

    def _serve(self):
        self.lsock.settimeout(0.5)
        while not self.stop_flag:
            try:
                raw, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                s = self.ctx.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()
                continue
            self._session(s)

    def _session(self, s):
        dec = hp.Decoder()
        s.settimeout(0.02)
        hello = False
        try:
            while not self.stop_flag:
                if hello:
                    self._flush(s)
                try:
                    data = s.recv(65536)
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                if not data:
                    break
                for f in dec.feed(data):
                    if not hello:
                        if f.type != hp.HELLO:
                            return
                        hello = True
                        with self.lock:
                            s.sendall(self._welcome())
                            self.outq = []
                            self.conn = s
                            self.connections += 1
                            # like the real hub: every unfinished task
                            for t in self.tasks.values():
                                if t.final is None or (
                                        t.final == "done" and
                                        not t.forgotten):
                                    self._send_start(t)
                            self.lock.notify_all()
                        continue
                    self._frame(s, f)
        except (ssl.SSLError, OSError):
            pass
        finally:
            with self.lock:
                if self.conn is s:
                    self.conn = None
            try:
                s.close()
            except OSError:
                pass

    def _frame(self, s, f):
        if f.type == hp.BATCH:
            first, count = struct.unpack_from(">QI", f.payload)
            with self.lock:
                self.records += count
                s.sendall(hp.ack(first + count - 1))
        elif f.type == hp.HEARTBEAT:
            with self.lock:
                s.sendall(hp.heartbeat())
        elif f.type == hp.ERROR:
            self.errors.append(hp.decode_error(f.payload))
        elif f.type == hp.RESULT:
            self._result(s, f)

    def _result(self, s, f):
        tid, kind = struct.unpack_from(">QB", f.payload)
        with self.lock:
            t = self.tasks.get(tid)
            if t is None:
                t = self.tasks[tid] = Task(tid, "")
            if kind == 2:
                (off,) = struct.unpack_from(">Q", f.payload, 9)
                chunk = f.payload[17:]
                if f.flags & hp.FLAG_DEFLATE:
                    d = zlib.decompressobj()
                    chunk = d.decompress(chunk, 256 * 1024)
                    assert d.eof and not d.unconsumed_tail
                    t.deflated += 1
                assert 1 <= len(chunk) <= 256 * 1024
                if off == len(t.data):
                    t.data += chunk
                    t.chunks += 1
                else:
                    t.bad_offsets += 1
            else:
                c = hp._Cursor(f.payload[9:])
                state, nbytes, rows = c.unpack(">BQQ")
                reason = c.string(512)
                c.end()
                name = STATES[state]
                t.states.append((time.monotonic(), name, nbytes, rows,
                                 reason))
                if name != "running":
                    t.final = name
                if name == "done" and nbytes == len(t.data) and \
                        not t.forgotten:
                    self.outq.append((task_frame(tid, FORGET), None))
                    t.forgotten = True
            self.lock.notify_all()
