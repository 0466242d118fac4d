#!/usr/bin/env python3
"""Where a cold start's time goes (issue 15): a stopped agent of the real OpenClaw image, started
through berth under berth's default limits, timed step by step from one clock (this machine's).

Each round stops the agent, then at t0 opens GET /api/agent/events (which starts it) and sends a
streamed chat at once (it joins that start). Marks, in seconds after t0:
  engine_started   the container's State.StartedAt (berth's create-or-reuse and the engine start)
  entrypoint       the entrypoint's first log line (the container's init and /bin/sh)
  config_fetched   "starting the OpenClaw gateway" (node ran fetch-config.mjs against berth)
  first_gateway    the gateway's first log line (Node loaded OpenClaw's modules)
  gateway_ready    the gateway's "listening" line
  berth_running    the event stream's `running` (berth's /readyz probe saw 200)
  first_token      the chat's first streamed content (the first turn of a fresh gateway)
Log times are the engine's (docker logs -t). Prints each round and the medians.

  python3 bench/coldstart/coldstart_bench.py --berth build/berth [--image berth/openclaw:2026.9.6]
      [--rounds 3] [--env NAME=VALUE ...]   (extra environment for berth serve)

Everything berth makes carries its instance label and is removed at the end, pass or fail.
"""

import argparse
import datetime
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pause"))
from berth_serve import BerthServe  # noqa: E402
from pause_bench import first_token, shut_down, user_with_fake_llm  # noqa: E402

ADMIN = "bench-coldstart-admin-token-0123456789abcdef"
MARKS = ("engine_started", "entrypoint", "config_fetched", "first_gateway", "gateway_ready",
         "berth_running", "first_token")


def parse_time(text):
    """Docker's RFC 3339 time with nanoseconds → Unix seconds."""
    text = text.rstrip("Z")
    main, _, frac = text.partition(".")
    base = datetime.datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    return base + (float("0." + frac[:9]) if frac else 0.0)


def watch_events(port, token, marks, t0, done):
    """Reads the agent's event stream until `running` (or a failure), noting when it came."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("GET", "/api/agent/events", headers={"Authorization": "Bearer " + token})
    r = conn.getresponse()
    for raw in r:
        line = raw.decode(errors="replace").strip()
        if not line.startswith("data:"):
            continue
        event = json.loads(line[5:])
        status = event.get("status")
        if status == "running" and "berth_running" not in marks:
            marks["berth_running"] = time.time() - t0
            break
        if status == "failed":
            marks["failed"] = event.get("error", "")
            break
    conn.close()
    done.set()


def container_marks(instance, t0, marks):
    ids = subprocess.run(["docker", "ps", "-q", "--filter", "label=berth.instance=" + instance,
                          "--filter", "label=berth.kind=user"],
                         capture_output=True, text=True, check=True).stdout.split()
    if len(ids) != 1:
        raise RuntimeError("expected one running agent container, found %d" % len(ids))
    info = json.loads(subprocess.run(["docker", "inspect", ids[0]], capture_output=True,
                                     text=True, check=True).stdout)[0]
    marks["engine_started"] = parse_time(info["State"]["StartedAt"]) - t0
    since = datetime.datetime.fromtimestamp(t0 - 1, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S")
    logs = subprocess.run(["docker", "logs", "-t", "--since", since, ids[0]],
                          capture_output=True, text=True).stdout + subprocess.run(
        ["docker", "logs", "-t", "--since", since, ids[0]], capture_output=True,
        text=True).stderr
    lines = sorted(l.split(" ", 1) for l in logs.splitlines() if " " in l)
    gateway_lines = []
    for stamp, text in lines:
        at = parse_time(stamp) - t0
        if at < marks["engine_started"] - 0.5:
            continue  # an earlier run's lines
        if "berth-entrypoint" in text:
            marks.setdefault("entrypoint", at)
            if "starting the OpenClaw gateway" in text:
                marks["config_fetched"] = at
        elif "config_fetched" in marks:
            gateway_lines.append((at, text))
            marks.setdefault("first_gateway", at)
            if "listening" in text:
                marks.setdefault("gateway_ready", at)
    return gateway_lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", required=True)
    ap.add_argument("--image", default="berth/openclaw:2026.9.6")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--show-log", action="store_true", help="print the gateway's lines")
    args = ap.parse_args()
    # A SIGTERM (timeout, kill) still runs the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    network = "berth-bench-cold-%d" % os.getpid()
    berth, instance, llm = None, "", None
    rounds = []
    try:
        env = {"OPENCLAW_IMAGE": args.image, "OPENCLAW_NETWORK": network,
               "BERTH_LOG_LEVEL": "info"}
        env.update(e.split("=", 1) for e in args.env)
        berth = BerthServe(args.berth, "coldstart", env, ADMIN)
        instance = berth.instance_id()
        llm, token = user_with_fake_llm(berth, network, "coldstart-bench")
        berth.start_agent(token)  # the first start makes the container and its state
        print(("%5s" + " %14s" * len(MARKS) + "   (s after t0)") % (("round",) + MARKS),
              flush=True)
        for i in range(args.rounds):
            berth.stop_agent(token)
            marks, done = {}, threading.Event()
            t0 = time.time()
            threading.Thread(target=watch_events, args=(berth.port, token, marks, t0, done),
                             daemon=True).start()
            sent = time.time() - t0
            first, _ = first_token(berth.port, token)
            marks["first_token"] = sent + first
            done.wait(60)
            if "failed" in marks:
                raise RuntimeError("the start failed: %s" % marks["failed"])
            gateway_lines = container_marks(instance, t0, marks)
            if args.show_log:
                for at, text in gateway_lines:
                    print("   %8.3f %s" % (at, text[:160]))
            rounds.append(marks)
            print(("%5d" + " %14.3f" * len(MARKS)) % ((i + 1,) + tuple(
                marks.get(m, float("nan")) for m in MARKS)), flush=True)
        med = [statistics.median(r.get(m, float("nan")) for r in rounds) for m in MARKS]
        print(("median" + " %14.3f" * len(MARKS)) % tuple(med))
        steps = ("berth + engine start", "container to entrypoint", "config fetch (node + berth)",
                 "module load", "gateway start", "berth sees ready", "first turn to first token")
        for name, before, after in zip(steps, [0.0] + med, med):
            print("  %-30s %7.3f s" % (name, after - before))
    finally:
        shut_down(llm, berth, instance, network)


if __name__ == "__main__":
    main()
