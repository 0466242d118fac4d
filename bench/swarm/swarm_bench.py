#!/usr/bin/env python3
"""Issue 13's benchmarks: an agent's cold start through Docker Swarm against one on a single
engine, measured in the same run, and the health sweep over a swarm's agents (engine calls per
sweep and its time).

Usage: bench/swarm/swarm_bench.py [--rounds 10] [--sweep-agents 12] [--sweeps 5]

Needs root (it brings up the three-node test swarm of scripts/swarm-cluster.sh in a temp dir and
takes it down at the end; BENCH_SWARM_DIR names one that is already up instead), build/berth
(BERTH_BINARY), and the test agent image on the host's engine (BERTH_TEST_AGENT_IMAGE, default
berth/test-agent:0.1.0; the cluster's registry serves the same image to the nodes by digest).

Two `berth serve`s run side by side, with fresh data dirs and the same settings but the runtime:
  single: BERTH_RUNTIME=docker on the host's engine (DOCKER_HOST or the default socket);
  swarm:  BERTH_RUNTIME=swarm, DOCKER_HOST = the manager, BERTH_SWARM_NODE_ENGINES = the nodes.
Each round makes a new user on both and times `POST /api/agent/start` (it answers once the agent
answered /readyz) on each, in alternating order: "fresh" (no service/container yet: placement,
create, start, ready), then "stopped" (after POST /api/agent/stop: scale 0 -> 1 or engine start).
The user is deleted afterwards (untimed), which removes its agent and volume.

The sweep: --sweep-agents agents started on the swarm berth, then --sweeps timed
`POST /api/admin/health-check` calls. The manager's socket is reached through a counting proxy
(this script), so the engine calls each sweep made are counted by method and path, at the wire.

Nothing leaves this machine; everything made is removed by id or by its data dir at the end.
"""

import argparse
import collections
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ADMIN = "swarm-bench-admin-token-0123456789abcdefghijkl"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench", "pylib"))
from berth_serve import BerthServe  # noqa: E402


class CountingProxy:
    """A unix-socket proxy in front of an engine's socket, counting HTTP requests by method and
    path (ids and query strings folded), as the client writes them."""

    REQUEST = re.compile(rb"(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD) (/[^ ?]*)[^ ]* HTTP/1\.[01]\r\n")

    def __init__(self, target, path):
        self.target, self.path = target, path
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src, dst, count):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:
                    for method, path in self.REQUEST.findall(data):
                        key = method.decode() + " " + re.sub(r"/[0-9a-z]{20,}", "/{id}",
                                                             re.sub(r"^/v[0-9.]+", "", path.decode()))
                        with self.lock:
                            self.counts[key] += 1
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def take(self):
        with self.lock:
            counts, self.counts = self.counts, collections.Counter()
        return counts

    def close(self):
        self.server.close()


def berth(binary, name, env):
    """A `berth serve` of the benchmark (bench/pylib/berth_serve.py), with the settings both use."""
    full = {"BERTH_LOG_LEVEL": "info", "BERTH_AGENT_MEMORY": "128m", "BERTH_START_TIMEOUT": "120",
            "BERTH_HEALTH_INTERVAL": "3600", "BERTH_REAP_INTERVAL": "3600"}
    full.update(env)
    return BerthServe(binary, name, full, ADMIN)


def read_env(path):
    out = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v
    return out


def docker(host, *args):
    return subprocess.run(["docker", "-H", host, *args], capture_output=True, text=True)


def remove_network_everywhere(cluster, name):
    """The swarm network on the manager, then each node's config-only network it came from."""
    for _ in range(60):
        r = docker(cluster["MANAGER_HOST"], "network", "rm", name)
        if r.returncode == 0 or "No such network" in r.stderr or "not found" in r.stderr:
            break
        time.sleep(0.5)
    for i in range(int(cluster["NODES"])):
        host = cluster["NODE%d_HOST" % i]
        listed = docker(host, "network", "ls", "--format", "{{.ID}} {{.Name}}").stdout.split("\n")
        for line in listed:
            parts = line.split()
            if len(parts) == 2 and parts[1].startswith(name) and parts[1] != name:
                docker(host, "network", "rm", parts[0])


def summary(values):
    values = sorted(values)
    return "median %.3f s (min %.3f, max %.3f, n=%d)" % (
        statistics.median(values), values[0], values[-1], len(values))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--sweep-agents", type=int, default=12)
    ap.add_argument("--sweeps", type=int, default=5)
    args = ap.parse_args()
    binary = os.environ.get("BERTH_BINARY", os.path.join(REPO, "build", "berth"))
    image = os.environ.get("BERTH_TEST_AGENT_IMAGE", "berth/test-agent:0.1.0")
    script = os.path.join(REPO, "scripts", "swarm-cluster.sh")

    own_dir = None
    cluster_dir = os.environ.get("BENCH_SWARM_DIR")
    if not cluster_dir:
        own_dir = tempfile.mkdtemp(prefix="berth-swarm-bench-cluster-")
        cluster_dir = os.path.join(own_dir, "cluster")
        subprocess.run(["bash", script, "up", cluster_dir], check=True)
    work = tempfile.mkdtemp(prefix="berth-swarm-bench-")
    berths, proxy = [], None
    suffix = "%x" % int(time.time() * 1000 % 0xffffff)
    try:
        cluster = read_env(os.path.join(cluster_dir, "cluster.env"))
        manager = cluster["MANAGER_HOST"].replace("unix://", "")
        proxy = CountingProxy(manager, os.path.join(work, "manager.sock"))
        nodes = ",".join(cluster["NODE%d_HOST" % i] for i in range(int(cluster["NODES"])))
        swarm_net = cluster["PREFIX"] + "-bench-" + suffix
        single = berth(binary, "single", {
            "BERTH_RUNTIME": "docker", "OPENCLAW_IMAGE": image,
            "OPENCLAW_NETWORK": "berth-swarm-bench-" + suffix, "BERTH_INTERNAL_LISTEN": ":0",
            "DOCKER_HOST": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")})
        berths.append(single)
        swarm = berth(binary, "swarm", {
            "BERTH_RUNTIME": "swarm", "DOCKER_HOST": "unix://" + proxy.path,
            "BERTH_SWARM_NODE_ENGINES": nodes, "OPENCLAW_IMAGE": cluster["TEST_AGENT_IMAGE"],
            "OPENCLAW_NETWORK": swarm_net,
            "BERTH_INTERNAL_LISTEN": cluster["HOST_ADDR"] + ":0"})
        berths.append(swarm)

        # One untimed warm-up start on each (network creation, image checks, first connections).
        for b in berths:
            uid, token = b.user("warmup")
            b.start_agent(token)
            b.delete_user(uid)

        times = {(b.name, kind): [] for b in berths for kind in ("fresh", "stopped")}
        for r in range(args.rounds):
            order = berths if r % 2 == 0 else list(reversed(berths))
            users = {b.name: b.user("round%d" % r) for b in berths}
            for kind in ("fresh", "stopped"):
                if kind == "stopped":
                    for b in berths:
                        b.stop_agent(users[b.name][1])
                for b in order:
                    times[(b.name, kind)].append(b.start_agent(users[b.name][1]))
            for b in berths:
                b.delete_user(users[b.name][0])
            print("round %d: " % r + ", ".join(
                "%s/%s %.3f s" % (n, k, v[-1]) for (n, k), v in sorted(times.items())),
                flush=True)

        print("\nCOLD START (%d rounds, alternating order)" % args.rounds)
        for kind in ("fresh", "stopped"):
            s, d = times[("swarm", kind)], times[("single", kind)]
            ratios = [a / b for a, b in zip(s, d)]
            print("  %-7s single: %s" % (kind, summary(d)))
            print("  %-7s swarm:  %s" % (kind, summary(s)))
            print("  %-7s swarm/single: ratio of medians %.3f, median of per-round ratios %.3f"
                  % (kind, statistics.median(s) / statistics.median(d), statistics.median(ratios)))

        users = [swarm.user("sweep%d" % i) for i in range(args.sweep_agents)]
        for _, token in users:
            swarm.start_agent(token)
        proxy.take()
        sweep_times, per_sweep = [], []
        for _ in range(args.sweeps):
            status, body, seconds = swarm.request("POST", "/api/admin/health-check", b"", ADMIN)
            assert status == 200, (status, body)
            healthy = sum(1 for r in json.loads(body)["results"] if r["healthy"])
            sweep_times.append(seconds)
            per_sweep.append((proxy.take(), healthy))
        print("\nSWEEP over %d swarm agents on %s nodes (%d sweeps)" % (
            args.sweep_agents, cluster["NODES"], args.sweeps))
        print("  time: %s" % summary(sweep_times))
        for counts, healthy in per_sweep[:1]:
            print("  engine calls in one sweep: %d (%s); healthy %d" % (
                sum(counts.values()), ", ".join("%s x%d" % kv for kv in sorted(counts.items())),
                healthy))
        print("  engine calls per sweep, each: %s" % [sum(c.values()) for c, _ in per_sweep])
        for uid, _ in users:
            swarm.delete_user(uid)
    finally:
        for b in berths:
            b.stop()
        if proxy:
            proxy.close()
        if cluster_dir and os.path.exists(os.path.join(cluster_dir, "cluster.env")):
            remove_network_everywhere(read_env(os.path.join(cluster_dir, "cluster.env")),
                                      cluster["PREFIX"] + "-bench-" + suffix)
        r = subprocess.run(["docker", "network", "rm", "berth-swarm-bench-" + suffix],
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
        if own_dir:
            subprocess.run(["bash", script, "down", cluster_dir])
            shutil.rmtree(own_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
