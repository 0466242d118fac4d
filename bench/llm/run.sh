#!/usr/bin/env bash
# LLM gateway benchmark (bench/README.md, "LLM gateway"): the same streamed
# POST /chat/completions, from an agent's side, sent directly to a fast fake provider
# (build/bench_sse_upstream on this machine's own address: berth never connects to loopback),
# through berth's LLM gateway (/api/internal/llm/<provider>, the agent's key, usage counted), and
# through nginx as a plain reverse proxy, in one run:
#   wrk rounds at 1 and at 64 connections, in rotating order; per path requests/s, p50/p99 and
#   CPU per request; added latency = path - direct of the same round; berth/nginx rate ratio; and
#   what usage accounting costs (build/bench_usage_meter, ns per call) as a share of berth's CPU
#   per request. A summary goes to stdout and a JSON file to $BENCH_RESULTS_DIR.
# Needs build/berth, build/bench_sse_upstream and build/bench_usage_meter (scripts/build.sh with
# -DBERTH_BUILD_BENCH=ON); installs wrk and nginx-light when missing. No Docker engine: the
# gateway needs only the agent's record. Everything it starts is stopped on exit, pass or fail.
#
# Settings (environment): DURATION (10s) WARMUP (2s) ROUNDS (3) CHUNKS (20) WORKERS (1: berth's
#   BERTH_THREADS and nginx's worker_processes), BENCH_RESULTS_DIR (bench/results), BUILD_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lib.sh
source "$REPO_DIR/bench/lib.sh"
BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
CHUNKS=${CHUNKS:-20}
WORKERS=${WORKERS:-1}
BENCH_RESULTS_DIR=${BENCH_RESULTS_DIR:-$REPO_DIR/bench/results}
LUA_SCRIPT=$HERE/chat.lua

say() { echo "llm-bench: $*" >&2; }
die() {
  say "$*"
  exit 2
}
for bin in berth bench_sse_upstream bench_usage_meter; do
  [[ -x $BUILD_DIR/$bin ]] || die "$BUILD_DIR/$bin is missing: scripts/build.sh -DBERTH_BUILD_BENCH=ON"
done
SUDO=""
[[ $(id -u) == 0 ]] || SUDO=sudo
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d "$(bench_tmpdir)/berth-llm-bench.XXXXXX")
UP_PID="" BERTH_PID="" NGINX_PID="" WRK_PID=""
cleanup() {
  stop_pid "$WRK_PID" TERM
  stop_pid "$NGINX_PID" QUIT
  stop_pid "$BERTH_PID" TERM
  stop_pid "$UP_PID" TERM
  rm -rf "$WORK"
}
trap cleanup EXIT

# This machine's own non-loopback IPv4 address, where the fake provider listens.
LOCAL=$(ip -4 -o addr show scope global | awk '{split($4, a, "/"); print a[1]; exit}')
[[ -n $LOCAL ]] || die "this machine has no non-loopback IPv4 address"
UP_PORT=$(free_port)
"$BUILD_DIR/bench_sse_upstream" --listen "$LOCAL:$UP_PORT" --threads 1 --chunks "$CHUNKS" \
  >"$WORK/upstream.log" 2>&1 &
UP_PID=$!
wait_http_ok "http://$LOCAL:$UP_PORT/readyz" 20 "$UP_PID" || die "the fake provider did not start"

ADMIN=$(hex32)
B_PORT=$(free_port)
mkdir -p "$WORK/berth"
env -i PATH="$PATH" BERTH_DATA_DIR="$WORK/berth" BERTH_ADMIN_TOKEN="$ADMIN" \
  MOSAIC_API_URL="http://127.0.0.1:$B_PORT/api" BERTH_PROVIDER_ALLOW="$LOCAL/32" \
  BERTH_THREADS="$WORKERS" BERTH_LOG_LEVEL=warn DOCKER_HOST="unix://$WORK/no-engine.sock" \
  "$BUILD_DIR/berth" serve --listen "127.0.0.1:$B_PORT" >"$WORK/berth.log" 2>&1 &
BERTH_PID=$!
wait_http_ok "http://127.0.0.1:$B_PORT/api/health" 30 "$BERTH_PID" || die "berth did not start: $(tail -5 "$WORK/berth.log")"
api() {  # method path token [body]
  curl -sf -X "$1" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' \
    ${4:+--data "$4"} "http://127.0.0.1:$B_PORT$2"
}
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }
user=$(api POST /api/admin/users "$ADMIN" '{"name":"bench"}')
user_id=$(json_get '["user"]["id"]' <<<"$user")
user_token=$(json_get '["token"]' <<<"$user")
api POST /api/providers "$user_token" "{\"name\":\"fast\",\"type\":\"custom\",\"baseUrl\":\"http://$LOCAL:$UP_PORT/v1\",\"apiKey\":\"sk-bench-upstream\",\"models\":[\"openclaw\"]}" >/dev/null
container=$(api POST "/api/admin/users/$user_id/container" "$ADMIN")
c_id=$(json_get '["id"]' <<<"$container")
c_token=$(json_get '["token"]' <<<"$container")
# The agent's key, as its openclaw.json carries it.
AGENT_KEY=$(api GET "/api/internal/agent-config/$c_id" "$c_token" |
  json_get '["models"]["providers"]["fast"]["apiKey"]')

N_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
{
  nginx_conf_head "$WORK/nginx" "$WORKERS" 4096
  cat <<NGINX
  upstream provider { server $LOCAL:$UP_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$N_PORT;
    location = /health { return 200 "ok"; }
    location / {
      proxy_pass http://provider;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
NGINX
} >"$WORK/nginx/nginx.conf"
start_nginx "$WORK/nginx" "http://127.0.0.1:$N_PORT/health" || die "nginx did not start"

url_of() {
  case $1 in
    direct) echo "http://$LOCAL:$UP_PORT/v1/chat/completions" ;;
    berth) echo "http://127.0.0.1:$B_PORT/api/internal/llm/fast/chat/completions" ;;
    nginx) echo "http://127.0.0.1:$N_PORT/v1/chat/completions" ;;
  esac
}
pids_of() {
  case $1 in
    direct) echo "" ;;
    berth) echo "$BERTH_PID" ;;
    nginx) pgrep -P "$NGINX_PID" || true ;;
  esac
}
# Every path answers a whole, unbuffered stream before anything is measured.
for t in direct berth nginx; do
  got=$(curl -sN -H "Authorization: Bearer $AGENT_KEY" -H 'Content-Type: application/json' \
    --data '{"model":"openclaw","stream":true}' "$(url_of $t)")
  [[ $got == *"[DONE]"* ]] || die "$t did not stream a whole answer: ${got:0:300}"
done

RESULT=""
run_wrk() {  # target duration connections
  local before=0 after=0 p
  for p in $(pids_of "$1"); do before=$((before + $(cpu_ticks "$p"))); done
  wrk -t1 -c"$3" -d"$2" --latency -s "$LUA_SCRIPT" "$(url_of "$1")" -- "$AGENT_KEY" "$CHUNKS" \
    >"$WORK/wrk.out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || die "wrk failed against $1: $(tail -5 "$WORK/wrk.out")"
  WRK_PID=""
  for p in $(pids_of "$1"); do after=$((after + $(cpu_ticks "$p"))); done
  local line
  line=$(grep '^BENCH_RESULT ' "$WORK/wrk.out") || die "no result from wrk: $(cat "$WORK/wrk.out")"
  RESULT=$(awk -v line="$line" -v cpu=$((after - before)) -v tck="$CLK_TCK" 'BEGIN {
    n = split(line, kv, " ")
    for (i = 2; i <= n; i++) { split(kv[i], q, "="); f[q[1]] = q[2] }
    req = f["requests"] > 0 ? f["requests"] : 1
    errors = f["err_connect"] + f["err_read"] + f["err_write"] + f["err_status"] + f["err_timeout"]
    printf "rps=%.1f p50=%d p99=%d errors=%d cpu_us=%.2f\n", f["requests"] / (f["duration_us"] / 1e6),
           f["p50_us"], f["p99_us"], errors, cpu * 1e6 / tck / req }')
}
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

meter_ns=$("$BUILD_DIR/bench_usage_meter" --benchmark_filter='/20/512' --benchmark_format=json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["benchmarks"][0]["cpu_time"])')
say "usage accounting: $meter_ns ns of CPU per streamed call ($CHUNKS events, 512-byte reads)"

rows=()
targets=(direct berth nginx)
for conns in 1 64; do
  for t in "${targets[@]}"; do run_wrk "$t" "$WARMUP" "$conns"; done
  for round in $(seq "$ROUNDS"); do
    order=("${targets[@]:$((round % 3))}" "${targets[@]:0:$((round % 3))}")
    for t in "${order[@]}"; do
      run_wrk "$t" "$DURATION" "$conns"
      say "c=$conns round $round $t: $RESULT"
      rows+=("$conns $round $t $RESULT")
    done
  done
done

# Medians over the rounds, the summary and the JSON file (bench/llm/summary.py).
mkdir -p "$BENCH_RESULTS_DIR"
result_file="$BENCH_RESULTS_DIR/llm_gateway-$(date -u +%Y%m%dT%H%M%SZ).json"
printf '%s\n' "${rows[@]}" | python3 "$HERE/summary.py" "$meter_ns" "$result_file"
say "results: $result_file"
