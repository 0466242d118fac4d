#!/usr/bin/env python3
"""The outside probe of issue 10, repeated as measurements against a built berth.

Usage: bench/probe/probe.py [--berth build/berth] [--only deep,metrics,bodies,idle,heavy]

Each probe starts its own `berth serve` on 127.0.0.1 with a fresh data dir (no engine: agent
routes are not needed), runs what the probe ran, prints one `PROBE <name> key=value ...` line, and
stops berth. Point --berth at an older binary to measure it the same way (the deep probe crashes
berth before issue 10; the others then report what they see). Standard library only; nothing
leaves 127.0.0.1; every process and directory it makes is removed at the end.
"""

import argparse
import json
import os
import random
import socket
import string
import sys
import threading
import time

ADMIN = "probe-admin-token-0123456789abcdefghijklmnop"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from berth_serve import BerthServe  # noqa: E402


def Berth(binary, env=None):
    """A `berth serve` of the probe's own (bench/pylib/berth_serve.py): no engine, so not waited
    for until ready (the agent routes are not needed)."""
    full = {"BERTH_LOG_LEVEL": "warn", "DOCKER_HOST": "unix:///nonexistent/no-engine.sock",
            "MOSAIC_API_URL": "http://berth.probe:3000/api"}
    full.update(env or {})
    return BerthServe(binary, "probe", full, ADMIN, args=("--log-level", "info"),
                      wait_ready=False, stop_timeout=15)


def report(name, **fields):
    print("PROBE %s %s" % (name, " ".join("%s=%s" % kv for kv in fields.items())), flush=True)


def probe_deep(binary):
    b = Berth(binary)
    try:
        _, token = b.user("deep")
        status, body, _ = b.request("POST", "/api/providers", json.dumps(
            {"name": "p", "type": "openai", "baseUrl": "http://127.0.0.1:9/v1", "models": ["m"]}),
            token)
        pid = json.loads(body)["provider"]["id"] if status == 201 else "x"
        deep_arrays = "[" * 90000 + "]" * 90000
        deep_messages = "[" * 60000 + "]" * 60000
        results = {}
        results["post"] = b.request("POST", "/api/providers",
                                    '{"name":"q","type":"openai","models":%s}' % deep_arrays,
                                    token)[0]
        results["patch"] = b.request("PATCH", "/api/providers/" + pid,
                                     '{"models":%s}' % deep_arrays, token)[0]
        results["chat"] = b.request("POST", "/v1/chat/completions",
                                    '{"model":"p/m","messages":%s}' % deep_messages, token)[0]
        time.sleep(0.3)
        report("deep", post=results["post"], patch=results["patch"], chat=results["chat"],
               alive=b.alive(), health=b.request("GET", "/api/health")[0])
    finally:
        b.stop()


def raw_request(port, data, read=True, timeout=30):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    if read:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and (b"Content-Length: 0" in out or out.endswith(b"}")):
                    break
        except socket.timeout:
            pass
    s.close()
    return out


def probe_metrics(binary, requests=5000, length=8000):
    b = Berth(binary)
    try:
        rng = random.Random(1)
        start = time.time()
        for _ in range(requests):
            method = "".join(rng.choice(string.ascii_uppercase) for _ in range(length))
            raw_request(b.port, ("%s /api/health HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
                                 % method).encode())
        sent = time.time() - start
        rss_before = b.rss_mib()
        status, body, took = b.request("GET", "/metrics")
        report("metrics", requests=requests, method_chars=length, send_s="%.1f" % sent,
               scrape_status=status, metrics_bytes=len(body), scrape_s="%.3f" % took,
               rss_mib="%.1f" % b.rss_mib(), rss_before_scrape_mib="%.1f" % rss_before)
    finally:
        b.stop()


def probe_bodies(binary, connections=200, size=1 << 20):
    b = Berth(binary)
    try:
        time.sleep(0.5)
        base = b.rss_mib()
        socks = []
        statuses = {}
        payload = b"{" + b"x" * (size - 2) + b"}"
        head = ("POST /api/providers HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\n\r\n" % size).encode()
        start = time.time()
        for _ in range(connections):
            s = socket.create_connection(("127.0.0.1", b.port), timeout=30)
            s.setblocking(True)
            try:
                s.sendall(head)
                s.settimeout(0.05)
                s.sendall(payload[:-1])  # all but the last byte: held until the read timeout
            except (socket.timeout, OSError):
                pass
            socks.append(s)
        time.sleep(2)
        held = b.rss_mib()
        for s in socks:
            s.settimeout(0.2)
            try:
                answer = s.recv(64)
                code = answer[9:12].decode() if answer.startswith(b"HTTP/1.1 ") else "none"
            except (socket.timeout, OSError):
                code = "none"
            statuses[code] = statuses.get(code, 0) + 1
            s.close()
        report("bodies", connections=connections, body_bytes=size,
               rss_idle_mib="%.1f" % base, rss_held_mib="%.1f" % held,
               answers=",".join("%s:%d" % kv for kv in sorted(statuses.items())),
               seconds="%.1f" % (time.time() - start))
    finally:
        b.stop()


def probe_idle(binary, cap=50, idle=60, checks=10):
    b = Berth(binary, {"BERTH_MAX_CONNECTIONS": str(cap)})
    try:
        socks = [socket.create_connection(("127.0.0.1", b.port)) for _ in range(idle)]
        time.sleep(0.5)
        worst = 0.0
        failed = 0
        for _ in range(checks):
            status, _, took = b.request("GET", "/api/health", timeout=60)
            failed += status != 200
            worst = max(worst, took)
        report("idle", cap=cap, idle_connections=idle, checks=checks, failed=failed,
               worst_health_s="%.3f" % worst)
        for s in socks:
            s.close()
    finally:
        b.stop()


def probe_heavy(binary, providers=20, models=256, parallel=32, seconds=10):
    b = Berth(binary, {"BERTH_MAX_PROVIDERS_PER_USER": str(providers),
                       "BERTH_MAX_MODELS_PER_PROVIDER": str(models)})
    try:
        uid, token = b.user("heavy")
        _, light = b.user("light")
        db = os.path.join(b.dir, "berth.db")

        def db_size():  # the file and its write-ahead log
            return sum(os.path.getsize(db + ext) for ext in ("", "-wal") if os.path.exists(db + ext))
        size0 = db_size()
        refused = {}
        for p in range(providers + 1):
            ids = ["model-%d-%s" % (i, "x" * 20) for i in range(models)]
            status, _, _ = b.request("POST", "/api/providers", json.dumps(
                {"name": "p%d" % p, "type": "openai", "baseUrl": "http://127.0.0.1:9/v1",
                 "models": ids}), token)
            refused[status] = refused.get(status, 0) + 1
        over = b.request("POST", "/api/providers", json.dumps(
            {"name": "big", "type": "openai", "baseUrl": "http://127.0.0.1:9/v1",
             "models": ["m%d" % i for i in range(models + 1)]}), token)[0]
        status, body, models_s = b.request("GET", "/v1/models", token=token)
        listed = len(json.loads(body)["data"]) if status == 200 else 0
        prov = b.request("POST", "/api/admin/users/%s/container" % uid, "", ADMIN)
        cid, ctoken = json.loads(prov[1])["id"], json.loads(prov[1])["token"]
        _, config, config_s = b.request("GET", "/api/internal/agent-config/" + cid, token=ctoken)
        stop = threading.Event()

        def load():
            while not stop.is_set():
                b.request("GET", "/v1/models", token=token)
        threads = [threading.Thread(target=load) for _ in range(parallel)]
        for t in threads:
            t.start()
        time.sleep(1)
        worst_health = worst_light = 0.0
        end = time.time() + seconds
        while time.time() < end:
            worst_health = max(worst_health, b.request("GET", "/api/health")[2])
            worst_light = max(worst_light, b.request("GET", "/api/me", token=light)[2])
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join()
        report("heavy", providers_created=refused.get(201, 0),
               provider_over_limit=",".join("%d:%d" % kv for kv in sorted(refused.items())
                                            if kv[0] != 201),
               models_over_limit=over, db_growth_mib="%.1f" % ((db_size() - size0) / 2**20),
               models_listed=listed, models_s="%.3f" % models_s, config_bytes=len(config),
               config_s="%.3f" % config_s, parallel=parallel,
               worst_health_s="%.3f" % worst_health, worst_other_user_s="%.3f" % worst_light)
    finally:
        b.stop()


def main():
    parser = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--berth", default=os.path.join(here, "..", "..", "build", "berth"))
    parser.add_argument("--only", default="deep,metrics,bodies,idle,heavy")
    args = parser.parse_args()
    probes = {"deep": probe_deep, "metrics": probe_metrics, "bodies": probe_bodies,
              "idle": probe_idle, "heavy": probe_heavy}
    for name in args.only.split(","):
        probes[name](os.path.abspath(args.berth))


if __name__ == "__main__":
    sys.exit(main())
