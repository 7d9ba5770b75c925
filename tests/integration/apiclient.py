"""apiclient - clients of picket-hub's HTTPS JSON API for integration tests.

HttpsApi talks to a hub on this host's network (http.client over TLS,
the test CA trusted); NsCurl runs curl inside a network namespace the
test made, so the hub is reached at its namespace address under its
certificate's name (hub.test).  Used by test_incidents.py,
test_tasks_hub.py, test_tasks_e2e.py and test_incidents_e2e.py."""
import http.client
import json
import ssl
import subprocess


class HttpsApi:
    """The API of hub (a hubrun.Hub) at hub.host:hub.api_port.

    timeout: seconds for each request.  type_raw: a body given as bytes
    or str is sent with Content-Type: application/json too (otherwise only
    a body this class encodes as JSON is)."""

    def __init__(self, hub, certs, timeout=20, type_raw=False):
        self.host, self.port = hub.host, hub.api_port
        self.ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        self.timeout, self.type_raw = timeout, type_raw

    def raw(self, method, path, token=None, body=None):
        """(status, headers, body bytes)."""
        c = http.client.HTTPSConnection(self.host, self.port,
                                        context=self.ctx,
                                        timeout=self.timeout)
        h = {}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        elif body is not None and self.type_raw:
            h["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def call(self, method, path, token, body=None):
        """(status, JSON); the answer must be JSON."""
        st, h, data = self.raw(method, path, token, body)
        assert h.get("Content-Type", "").startswith("application/json"), h
        return st, json.loads(data)

    def json(self, method, path, token, body=None):
        """(status, JSON when the answer is JSON, else its bytes)."""
        st, h, data = self.raw(method, path, token, body)
        return st, json.loads(data) if h.get("Content-Type", "").startswith(
            "application/json") else data


class NsCurl:
    """curl inside network namespace ns, to the hub at ip:port under the
    name hub.test: (status, body bytes).  token is the default bearer."""

    def __init__(self, ns, certs, token, ip, port=8443, name="hub.test"):
        self.ns, self.certs, self.token = ns, certs, token
        self.ip, self.port, self.name = ip, port, name

    def call(self, method, path, body=None, token=None, out=None):
        """out: write the body to this file instead."""
        args = ["curl", "-s", "-m", "20", "--cacert",
                str(self.certs / "ca.crt"), "--resolve",
                f"{self.name}:{self.port}:{self.ip}", "-X", method,
                "-H", f"Authorization: Bearer {token or self.token}",
                "-w", "\n%{http_code}"]
        if body is not None:
            args += ["-H", "Content-Type: application/json",
                     "--data-binary", json.dumps(body)]
        if out is not None:
            args += ["-o", str(out)]
        r = subprocess.run(["ip", "netns", "exec", self.ns, *args,
                            f"https://{self.name}:{self.port}{path}"],
                           capture_output=True, timeout=60)
        text, _, code = r.stdout.rpartition(b"\n")
        return int(code), text

    def json(self, method, path, body=None, token=None):
        st, text = self.call(method, path, body, token)
        return st, json.loads(text) if text.strip() else None

    def ok(self, method, path, body=None, want=(200, 201)):
        """The JSON of an answer whose status is in want."""
        st, b = self.json(method, path, body)
        assert st in want, (method, path, st, b)
        return b
