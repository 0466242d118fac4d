#!/usr/bin/env python3
"""Issue 16's soak: one `berth serve` (embedded SQLite, the host's engine) under mixed load for
--minutes, its resident memory and open descriptors sampled every --sample-seconds; at the end
the slope of each (least squares over the samples after --warmup-minutes) and every error the load
did not provoke on purpose. Run it through bench/soak.sh, which checks the tools and builds the
agent image first.

The load, all through berth's public API (nothing talks to the engine but berth):
  - busy users (--busy), each owned by one worker thread so its calls never race each other:
    streamed chats (the agent is the bench upstream, berth/bench-upstream:local, answering at
    once), token lookups (GET /api/me, GET /api/agent), a provider edited (PATCH, which pushes a
    new config into the running agent), a token issued, used and revoked, the agent stopped and
    started;
    a request with a token that does not exist (401: the only error provoked on purpose);
  - sporadic users (--sporadic) with a 1-minute idle timeout: one chat every 70-150 s, so the
    reaper (BERTH_REAP_INTERVAL=5) stops their agents between chats and the next chat starts them
    again through berth;
  - an admin thread: the fleet view, /metrics and a health sweep every 15 s (the sweep also runs
    by itself, BERTH_HEALTH_INTERVAL=5).
Exit 0 when no unexpected error was seen, neither slope rises faster than --max-rss-slope
(MiB/min) and --max-fd-slope (fds/min), and the reaper stopped idle agents; 1 otherwise. Everything made on the engine (containers and volumes
labelled with the run's instance id, the agent network) is removed at the end, pass or fail.
"""

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from berth_serve import BerthServe, remove_instance  # noqa: E402

ADMIN = "soak-admin-token-0123456789abcdefghijklmnopq"
CHAT = json.dumps({"model": "openclaw", "stream": True, "bench": {"chunks": 8, "delayMs": 5},
                   "messages": [{"role": "user", "content": "soak"}]})


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = collections.Counter()
        self.errors = collections.Counter()
        self.examples = {}

    def ok(self, op):
        with self.lock:
            self.ops[op] += 1

    def check(self, op, status, body, expected=200, needle=None):
        good = status == expected and (needle is None or needle in body)
        with self.lock:
            self.ops[op] += 1
            if not good:
                key = "%s %d" % (op, status)
                self.errors[key] += 1
                self.examples.setdefault(key, body[:300].decode("utf-8", "replace"))
        return good


def slope(points):
    """Least-squares slope of (x, y) points; 0 for fewer than two."""
    if len(points) < 2:
        return 0.0
    n = float(len(points))
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def make_user(berth, name, idle_minutes=None):
    uid, token = berth.user(name)
    status, body, _ = berth.request("POST", "/api/providers", json.dumps({
        "name": "soak", "type": "custom", "baseUrl": "http://soak.invalid/v1",
        "apiKey": "sk-soak-not-a-real-key", "models": ["soak-1", "soak-2"]}), token)
    assert status == 201, (status, body)
    provider = json.loads(body)["provider"]["id"]
    if idle_minutes is not None:
        status, body, _ = berth.request("PATCH", "/api/admin/users/%s/agent" % uid,
                                        json.dumps({"idleTimeoutMin": idle_minutes}), ADMIN)
        assert status == 200, (status, body)
    return {"id": uid, "token": token, "provider": provider, "models": 0}


def token_churn(berth, u, tally):
    """An admin issues the user a second token; it is looked up, then the user revokes it and it
    is refused at once."""
    s, b, _ = berth.request("POST", "/api/admin/users/%s/tokens" % u["id"], b"", ADMIN)
    if not tally.check("token-issue", s, b, expected=201):
        return
    extra = json.loads(b)["token"]
    s, b, _ = berth.request("GET", "/api/me/tokens", None, extra)
    if not tally.check("token-list", s, b):
        return
    ids = [t["id"] for t in json.loads(b)["tokens"]
           if t.get("prefix") and extra.startswith(t["prefix"])]
    if len(ids) != 1:
        tally.check("token-list (one entry for the new token)", len(ids), b, expected=1)
        return
    s, b, _ = berth.request("DELETE", "/api/me/tokens/" + ids[0], None, extra)
    tally.check("token-revoke", s, b, expected=204)
    s, b, _ = berth.request("GET", "/api/me", None, extra)
    tally.check("revoked-token (401 on purpose)", s, b, expected=401)


def busy_worker(berth, users, tally, stop):
    rng = random.Random()
    while not stop.is_set():
        u = rng.choice(users)
        r = rng.random()
        if r < 0.55:
            s, b, _ = berth.request("POST", "/v1/chat/completions", CHAT, u["token"], 120)
            tally.check("chat", s, b, needle=b"data: [DONE]")
        elif r < 0.70:
            s, b, _ = berth.request("GET", "/api/me", None, u["token"])
            tally.check("me", s, b)
            s, b, _ = berth.request("GET", "/api/agent", None, u["token"])
            tally.check("agent", s, b)
        elif r < 0.75:
            s, b, _ = berth.request("GET", "/api/me", None, "bu_" + "%064x" % rng.getrandbits(256))
            tally.check("bad-token (401 on purpose)", s, b, expected=401)
        elif r < 0.85:
            u["models"] += 1
            models = ["soak-1", "soak-2"] + ["soak-%d" % (3 + u["models"] % 5)]
            s, b, _ = berth.request("PATCH", "/api/providers/" + u["provider"],
                                    json.dumps({"models": models}), u["token"])
            tally.check("provider-edit", s, b)
        elif r < 0.90:
            token_churn(berth, u, tally)
        elif r < 0.95:
            s, b, _ = berth.request("POST", "/api/agent/stop", b"", u["token"], 120)
            tally.check("agent-stop", s, b)
        else:
            s, b, _ = berth.request("POST", "/api/agent/start", b"", u["token"], 120)
            tally.check("agent-start", s, b)


def sporadic_worker(berth, users, tally, stop):
    rng = random.Random()
    due = {u["id"]: time.time() + rng.uniform(0, 60) for u in users}
    while not stop.is_set():
        for u in users:
            if time.time() >= due[u["id"]] and not stop.is_set():
                s, b, _ = berth.request("POST", "/v1/chat/completions", CHAT, u["token"], 120)
                tally.check("sporadic-chat", s, b, needle=b"data: [DONE]")
                due[u["id"]] = time.time() + rng.uniform(70, 150)
        stop.wait(1)


def admin_worker(berth, tally, stop):
    while not stop.wait(15):
        s, b, _ = berth.request("GET", "/api/admin/containers", None, ADMIN)
        tally.check("admin-fleet", s, b)
        s, b, _ = berth.request("GET", "/metrics", None, ADMIN)
        tally.check("metrics", s, b)
        s, b, _ = berth.request("POST", "/api/admin/health-check", b"", ADMIN, 120)
        tally.check("health-check", s, b)


def running_agents(instance):
    out = subprocess.run(["docker", "ps", "-q", "--filter", "label=berth.instance=" + instance],
                         capture_output=True, text=True)
    return len(out.stdout.split())


def start_berth(args, network):
    return BerthServe(args.berth, "soak", {
        "OPENCLAW_IMAGE": args.image, "OPENCLAW_NETWORK": network, "BERTH_LOG_LEVEL": "info",
        "BERTH_REAP_INTERVAL": "5", "BERTH_HEALTH_INTERVAL": "5", "BERTH_AGENT_MEMORY": "64m",
        "BERTH_START_TIMEOUT": "60",
        # Every user may be starting at once (stops are frequent): no 429 for starts.
        "BERTH_MAX_CONCURRENT_STARTS": str(args.busy + args.sporadic)}, ADMIN)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", required=True)
    ap.add_argument("--image", default="berth/bench-upstream:local")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--sample-seconds", type=float, default=60)
    ap.add_argument("--warmup-minutes", type=float, default=3)
    ap.add_argument("--busy", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--sporadic", type=int, default=8)
    ap.add_argument("--max-rss-slope", type=float, default=0.25)
    ap.add_argument("--max-fd-slope", type=float, default=0.1)
    args = ap.parse_args()

    network = "berth-soak-%d-%d" % (int(time.time()), os.getpid())
    berth = None
    instance = ""
    stop = threading.Event()
    tally = Tally()
    threads = []
    try:
        berth = start_berth(args, network)
        instance = berth.instance_id()
        busy = [make_user(berth, "busy%d" % i) for i in range(args.busy)]
        sporadic = [make_user(berth, "sporadic%d" % i, 1) for i in range(args.sporadic)]
        for w in range(args.workers):
            mine = busy[w::args.workers]
            if mine:
                threads.append(threading.Thread(target=busy_worker,
                                                args=(berth, mine, tally, stop)))
        threads.append(threading.Thread(target=sporadic_worker,
                                        args=(berth, sporadic, tally, stop)))
        threads.append(threading.Thread(target=admin_worker, args=(berth, tally, stop)))
        start = time.time()
        for t in threads:
            t.start()
        print("soak: berth pid %d, %d busy users over %d workers, %d sporadic users, %.0f min,"
              " sample every %.0f s" % (berth.proc.pid, args.busy, args.workers, args.sporadic,
                                        args.minutes, args.sample_seconds), flush=True)
        print("%7s %9s %5s %7s %7s %8s %6s" % ("minute", "rss_mib", "fds", "threads", "agents",
                                               "ops", "errors"), flush=True)
        samples = []
        end = start + args.minutes * 60
        next_sample = start
        while time.time() < end and berth.alive():
            if time.time() >= next_sample:
                minute = (time.time() - start) / 60
                rss, fds = berth.rss_mib(), berth.open_fds()
                with tally.lock:
                    ops, errors = sum(tally.ops.values()), sum(tally.errors.values())
                samples.append((minute, rss, fds))
                print("%7.1f %9.1f %5d %7d %7d %8d %6d" % (
                    minute, rss, fds, berth.threads() or 0, running_agents(instance), ops,
                    errors), flush=True)
                next_sample += args.sample_seconds
            time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(180)
        alive = berth.alive()
        after = [s for s in samples if s[0] >= args.warmup_minutes]
        rss_slope = slope([(m, r) for m, r, _ in after])
        fd_slope = slope([(m, f) for m, _, f in after])
        print("\nSOAK %.1f min: %d operations (%s)" % (
            (time.time() - start) / 60, sum(tally.ops.values()),
            ", ".join("%s %d" % kv for kv in sorted(tally.ops.items()))))
        print("  RSS: %.1f -> %.1f MiB; slope after minute %g: %+.3f MiB/min" % (
            samples[0][1], samples[-1][1], args.warmup_minutes, rss_slope))
        print("  open descriptors: %d -> %d; slope after minute %g: %+.3f per min" % (
            samples[0][2], samples[-1][2], args.warmup_minutes, fd_slope))
        print("  unexpected errors: %d %s" % (sum(tally.errors.values()), dict(tally.errors)))
        for key, body in tally.examples.items():
            print("    %s: %s" % (key, body))
        reaped = berth.log(tail=1 << 30).count("reaped idle agent")
        print("  idle agents the reaper stopped: %d" % reaped)
        # Growth is what leaks look like; a count that falls (agents reaped) is not one.
        ok = (alive and not tally.errors and rss_slope <= args.max_rss_slope
              and fd_slope <= args.max_fd_slope and reaped > 0)
        if not alive:
            print("  berth died: %s" % berth.log())
        print("SOAK %s" % ("PASS" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        stop.set()
        if berth is not None:
            berth.stop()
        remove_instance(instance, network)


if __name__ == "__main__":
    sys.exit(main())
