#!/usr/bin/env python3
"""Time to the first streamed token through berth, for an agent that is stopped (cold), taken
from the warm pool (BERTH_WARM_POOL=1), paused (BERTH_IDLE_PAUSE) and running, in one run
(issue 15). The agent is the real OpenClaw image by default, under berth's default limits; its
provider is a fake OpenAI-compatible LLM served here on the agent network's gateway, answering at
once, so the figures are berth's and the agent's own time. Each round: a chat on the returning
user's stopped agent (cold: their first start, before the rounds, may have taken a pooled agent,
which is theirs since), one right after (running), and, once the reaper has paused it, one more
(paused); then, with that agent stopped and once the pool has a ready agent, a new user's first
chat (pool; that agent is then stopped, and the refill awaited, so no gateway boots during the
next round). Prints each round and the medians.

  python3 bench/pause/pause_bench.py --berth build/berth [--image berth/openclaw:2026.9.6]
      [--rounds 3] [--no-pool] [--keep-warm SECONDS]

Everything berth makes carries its instance label and is removed at the end, pass or fail.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from berth_serve import BerthServe, remove_instance  # noqa: E402

ADMIN = "bench-pause-admin-token-0123456789abcdefghij"
MODEL = "fake-model-1"


class FakeLlm(BaseHTTPRequestHandler):
    """POST /v1/chat/completions: three SSE chunks and [DONE] when streamed, JSON otherwise."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        base = {"id": "c1", "object": "chat.completion.chunk", "created": 1,
                "model": body.get("model", MODEL)}
        if not body.get("stream"):
            answer = dict(base, object="chat.completion", choices=[{
                "index": 0, "message": {"role": "assistant", "content": "pong"},
                "finish_reason": "stop"}],
                usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(payload):
            line = ("data: %s\n\n" % payload).encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
        for piece in ("po", "ng", ""):
            delta = {"content": piece} if piece else {}
            chunk(json.dumps(dict(base, choices=[{"index": 0, "delta": delta,
                                                  "finish_reason": None if piece else "stop"}])))
        chunk(json.dumps(dict(base, choices=[], usage={
            "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})))
        chunk("[DONE]")
        self.wfile.write(b"0\r\n\r\n")


def first_token(port, token, timeout=180):
    """Seconds from sending a streamed chat to its first content delta, and the whole chat."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    body = json.dumps({"model": "fakellm/" + MODEL, "stream": True,
                       "messages": [{"role": "user", "content": "ping"}]})
    start = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body,
                 {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse()
    if r.status != 200:
        raise RuntimeError("chat: %d %s" % (r.status, r.read()[:300]))
    first = None
    for raw in r:
        line = raw.decode(errors="replace").strip()
        if first is None and line.startswith("data:") and '"content"' in line:
            event = json.loads(line[5:])
            if any(c.get("delta", {}).get("content") for c in event.get("choices", [])):
                first = time.perf_counter() - start
        if line == "data: [DONE]":
            break
    conn.close()
    if first is None:
        raise RuntimeError("the chat streamed no content")
    return first, time.perf_counter() - start


def user_with_fake_llm(berth, network, name):
    """A fake LLM served on the agent network's gateway and a new user whose one provider it is:
    (the server, to shut down; the user's token)."""
    gateway = json.loads(subprocess.run(
        ["docker", "network", "inspect", network], capture_output=True, text=True,
        check=True).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    llm = ThreadingHTTPServer((gateway, 0), FakeLlm)
    threading.Thread(target=llm.serve_forever, daemon=True).start()
    try:
        return llm, another_user(berth, llm, name)
    except Exception:
        llm.shutdown()
        raise


def another_user(berth, llm, name):
    """A new user whose one provider is the fake LLM `llm`: their token."""
    _, token = berth.user(name)
    status, body, _ = berth.request("POST", "/api/providers", json.dumps({
        "name": "fakellm", "type": "custom", "apiKey": "sk-bench",
        "baseUrl": "http://%s:%d/v1" % llm.server_address, "models": [MODEL]}), token)
    if status != 201:
        raise RuntimeError("provider: %d %s" % (status, body[:300]))
    return token


def pool_ready(berth, timeout=300):
    """Waits until /metrics counts a ready pooled agent."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        _, body, _ = berth.request("GET", "/metrics")
        for line in body.decode(errors="replace").splitlines():
            if line.startswith('berth_warm_pool_agents{state="ready"}') and \
                    float(line.split()[-1]) >= 1:
                return
        time.sleep(0.5)
    raise RuntimeError("no pooled agent became ready in %d s" % timeout)


def shut_down(llm, berth, instance, network):
    """The benches' cleanup, pass or fail: the fake LLM, berth, and all that berth made."""
    if llm:
        llm.shutdown()
    if berth:
        berth.stop()
    remove_instance(instance, network)


def agent_status(berth, token):
    status, body, _ = berth.request("GET", "/api/agent", None, token)
    return json.loads(body).get("status") if status == 200 else "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", required=True)
    ap.add_argument("--image", default="berth/openclaw:2026.9.6")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle-pause", type=int, default=2)
    ap.add_argument("--no-pool", action="store_true", help="leave the warm pool out")
    ap.add_argument("--keep-warm", type=int, default=None,
                    help="BERTH_POOL_KEEP_WARM (seconds; 0 = never); berth's default if absent")
    ap.add_argument("--show-log", action="store_true", help="print berth's lifecycle log at the end")
    args = ap.parse_args()

    network = "berth-bench-pause-%d" % os.getpid()
    berth, instance, llm = None, "", None
    columns = ("cold",) + (() if args.no_pool else ("pool",)) + ("paused", "running")
    results = {name: [] for name in columns}
    try:
        berth = BerthServe(args.berth, "pause", {
            "OPENCLAW_IMAGE": args.image, "OPENCLAW_NETWORK": network, "BERTH_LOG_LEVEL": "info",
            "BERTH_IDLE_PAUSE": str(args.idle_pause), "BERTH_REAP_INTERVAL": "1",
            "BERTH_WARM_POOL": "0" if args.no_pool else "1",
            **({} if args.keep_warm is None else {"BERTH_POOL_KEEP_WARM": str(args.keep_warm)})},
            ADMIN)
        instance = berth.instance_id()
        llm, token = user_with_fake_llm(berth, network, "pause-bench")
        first_token(berth.port, token)  # its first start: from here on a returning user
        print("%5s" % "round" + "".join("%12s" % c for c in columns) +
              "   (first streamed token, s)", flush=True)
        for i in range(args.rounds):
            measured = {}
            berth.stop_agent(token)
            cold = first_token(berth.port, token)
            running = first_token(berth.port, token)
            deadline = time.time() + args.idle_pause + 30
            while agent_status(berth, token) != "paused" and time.time() < deadline:
                time.sleep(0.2)
            if agent_status(berth, token) != "paused":
                raise RuntimeError("the agent was not paused: %s" % agent_status(berth, token))
            paused = first_token(berth.port, token)
            measured.update(cold=cold, running=running, paused=paused)
            if not args.no_pool:
                # Alone on the machine: the returning user's gateway, just cold-started, does
                # seconds of background work (its first minute also has the start's CPU burst).
                berth.stop_agent(token)
                pool_ready(berth)
                newcomer = another_user(berth, llm, "pool-bench-%d" % i)
                measured["pool"] = first_token(berth.port, newcomer)
                berth.stop_agent(newcomer)
                pool_ready(berth)  # the refill has booted: nothing else boots from here
            for name in columns:
                results[name].append(measured[name][0])
            print("%5d" % (i + 1) + "".join("%12.3f" % measured[c][0] for c in columns),
                  flush=True)
        med = {k: statistics.median(v) for k, v in results.items()}
        print("median" + "".join("%12.3f" % med[c] for c in columns))
        print("paused / running: %.2fx; cold / paused: %.1fx" % (
            med["paused"] / med["running"], med["cold"] / med["paused"]))
        if args.show_log:
            print("\n".join(line for line in berth.log(200000).splitlines()
                            if "lifecycle" in line or "chat" in line))
        if "pool" in med:
            print("pool / running: %.2fx; cold / pool: %.1fx" % (
                med["pool"] / med["running"], med["cold"] / med["pool"]))
    finally:
        shut_down(llm, berth, instance, network)


if __name__ == "__main__":
    main()
