"""bench/llm/run.sh's summary: reads "<connections> <round> <path> rps=.. p50=.. p99=.. errors=..
cpu_us=.." lines on stdin, writes medians over the rounds (of each path's figures and of the
per-round differences and ratios) to the JSON file argv[2] and prints them.
Usage: summary.py <usage meter ns per call> <result file>"""
import json
import statistics
import sys

meter_ns = float(sys.argv[1])
runs = {}
for line in sys.stdin:
    if not line.strip():
        continue
    c, r, t, *kv = line.split()
    runs.setdefault(int(c), {}).setdefault(int(r), {})[t] = {
        k: float(v) for k, v in (x.split("=") for x in kv)
    }

med = statistics.median
out = {"meter_ns_per_call": meter_ns, "connections": {}}
for c, rounds in sorted(runs.items()):
    rs = list(rounds.values())
    s = {
        t: {k: med(x[t][k] for x in rs) for k in ("rps", "p50", "p99", "cpu_us", "errors")}
        for t in ("direct", "berth", "nginx")
    }
    s["added_p50_us"] = {t: med(x[t]["p50"] - x["direct"]["p50"] for x in rs) for t in ("berth", "nginx")}
    s["added_p99_us"] = {t: med(x[t]["p99"] - x["direct"]["p99"] for x in rs) for t in ("berth", "nginx")}
    s["berth_over_nginx_rps"] = med(x["berth"]["rps"] / x["nginx"]["rps"] for x in rs)
    cpu = s["berth"]["cpu_us"]
    s["accounting_share_of_berth_cpu"] = meter_ns / 1000 / cpu if cpu else None
    out["connections"][c] = s
with open(sys.argv[2], "w") as f:
    json.dump(out, f, indent=1)

for c, x in out["connections"].items():
    print(f"connections {c}:")
    for t in ("direct", "berth", "nginx"):
        y = x[t]
        print(f"  {t:7} {y['rps']:9.0f} req/s  p50 {y['p50'] / 1000:7.3f} ms  "
              f"p99 {y['p99'] / 1000:7.3f} ms  cpu/request {y['cpu_us']:6.1f} us  errors {y['errors']:.0f}")
    a50, a99 = x["added_p50_us"], x["added_p99_us"]
    print(f"  added p50: berth {a50['berth'] / 1000:.3f} ms, nginx {a50['nginx'] / 1000:.3f} ms; "
          f"added p99: berth {a99['berth'] / 1000:.3f} ms, nginx {a99['nginx'] / 1000:.3f} ms")
    share = x["accounting_share_of_berth_cpu"]
    print(f"  berth/nginx requests/s {x['berth_over_nginx_rps']:.2f}"
          + (f"; usage accounting {meter_ns / 1000:.1f} us = {100 * share:.1f} % of berth's CPU "
             "per request" if share else ""))
