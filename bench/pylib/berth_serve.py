"""A `berth serve` of a benchmark's own, and the HTTP calls the Python benchmarks make to it
(bench/probe/probe.py, bench/swarm/swarm_bench.py, bench/soak/soak.py, bench/pause/pause_bench.py).
Standard library only.

BerthServe(binary, name, env, admin) starts berth on 127.0.0.1 (a free port) with a fresh data dir
(BERTH_DATA_DIR, removed by stop()), waits for its "listening on" line and, unless wait_ready is
false, for /api/ready to answer 200. Its standard error goes to a file in the data dir (log()).
Unless `env` says otherwise, berth's LLM gateway may connect to the private ranges (as in the
tests' harness, tests/support/berth_process.hpp): the benchmarks' fake LLMs listen on docker
bridge gateways, which berth refuses by default.
"""

import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


class BerthServe:
    def __init__(self, binary, name, env, admin, args=(), wait_ready=True, stop_timeout=60):
        self.name, self.admin, self.stop_timeout = name, admin, stop_timeout
        self.dir = tempfile.mkdtemp(prefix="berth-%s-" % name)
        full = {"PATH": os.environ.get("PATH", ""), "BERTH_DATA_DIR": self.dir,
                "BERTH_ADMIN_TOKEN": admin,
                "BERTH_PROVIDER_ALLOW": "172.16.0.0/12,192.168.0.0/16,10.0.0.0/8"}
        full.update(env)
        self.err = open(os.path.join(self.dir, "err"), "w+")
        self.proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", *args],
                                     env=full, stdout=subprocess.DEVNULL, stderr=self.err)
        self.port = None
        deadline = time.time() + 20
        while time.time() < deadline and self.port is None and self.alive():
            self.err.seek(0)
            m = re.search(r"listening on [^ ]*:(\d+)", self.err.read())
            if m:
                self.port = int(m.group(1))
            time.sleep(0.05)
        if self.port is None:
            log = self.log()
            self.stop()
            raise RuntimeError("%s berth did not start: %s" % (name, log))
        if wait_ready:
            deadline = time.time() + 60
            while time.time() < deadline and self.request("GET", "/api/ready")[0] != 200:
                time.sleep(0.2)
            if self.request("GET", "/api/ready")[0] != 200:
                log = self.log()
                self.stop()
                raise RuntimeError("%s berth not ready: %s" % (name, log))

    def alive(self):
        return self.proc.poll() is None

    def log(self, tail=3000):
        self.err.seek(0)
        return self.err.read()[-tail:]

    def _status_field(self, field):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def rss_mib(self):
        kib = self._status_field("VmRSS")
        return float("nan") if kib is None else kib / 1024.0

    def threads(self):
        return self._status_field("Threads")

    def open_fds(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.proc.pid))
        except OSError:
            return None

    def request(self, method, path, body=None, token=None, timeout=60, headers=None):
        """(status, body bytes, seconds); status 0 when nothing answered (refused, reset)."""
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                     method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read(), time.perf_counter() - start
        except urllib.error.HTTPError as e:
            return e.code, e.read(), time.perf_counter() - start
        except (OSError, urllib.error.URLError, http.client.HTTPException):
            return 0, b"", time.perf_counter() - start

    def user(self, name):
        status, body, _ = self.request("POST", "/api/admin/users", json.dumps({"name": name}),
                                       self.admin)
        assert status == 201, (status, body)
        j = json.loads(body)
        return j["user"]["id"], j["token"]

    def start_agent(self, token, timeout=180):
        status, body, seconds = self.request("POST", "/api/agent/start", b"", token, timeout)
        if status != 200:
            raise RuntimeError("%s start: %d %s\n%s" % (self.name, status, body[:500], self.log()))
        return seconds

    def stop_agent(self, token):
        status, body, _ = self.request("POST", "/api/agent/stop", b"", token)
        assert status == 200, (status, body)

    def delete_user(self, user_id):
        status, body, _ = self.request("DELETE", "/api/admin/users/" + user_id, None, self.admin)
        assert status in (200, 204), (status, body)

    def instance_id(self):
        """The database's instance id (every container berth makes carries it as a label)."""
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.dir, "berth.db"), uri=True)
        try:
            row = db.execute("SELECT value FROM berth_meta WHERE key = 'instance_id'").fetchone()
            return row[0] if row else ""
        finally:
            db.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def remove_instance(instance, network):
    """Removes every container and volume labelled with berth's `instance` id, then `network`
    (the benchmarks' cleanup, pass or fail; nothing else on the engine is touched)."""
    if instance:
        for ls, rm in ((["ps", "-aq"], ["rm", "-f"]),
                       (["volume", "ls", "-q"], ["volume", "rm", "-f"])):
            ids = subprocess.run(["docker", *ls, "--filter", "label=berth.instance=" + instance],
                                 capture_output=True, text=True).stdout.split()
            if ids:
                subprocess.run(["docker", *rm, *ids], capture_output=True)
    subprocess.run(["docker", "network", "rm", network], capture_output=True)
