#!/usr/bin/env bash
# Chat proxy benchmark (bench/README.md, "Chat proxy"): the same streamed
# POST /v1/chat/completions sent directly to a fast SSE upstream, through berth, through nginx as
# a reverse proxy and through configurable-http-proxy (JupyterHub's proxy), in one run:
# With the target berth-pg, a second berth on a throwaway PostgreSQL cluster is measured in the same
# rounds (issue 12: PostgreSQL against SQLite), with its own user and agent.
#   1. installs what is missing: wrk and nginx-light (apt-get), configurable-http-proxy (npm, into
#      $CHP_HOME outside the repo); starts a Docker engine when none answers;
#   2. packages build/bench_sse_upstream as an agent image (`berth image build test-agent
#      --binary`, tag $PROXY_IMAGE);
#   3. one upstream for every path: with berth among the targets, the agent container berth
#      starts for a bench user from that image (POST /api/agent/start); else a container of the
#      image on a network of this run; reached at its bridge address, port 18789;
#   4. nginx (generated config: upstream keepalive, HTTP/1.1, proxy_buffering off) and CHP on
#      127.0.0.1, each checked for a complete, unbuffered stream;
#   5. wrk rounds in rotating order (requests/s, p50/p99, CPU per request), a light-load round,
#      and the open-streams phase ($STREAMS long-lived streams; peak RSS of the proxy, open
#      connections counted with ss);
#   6. a summary (added latency = proxy − direct of the same round, berth/nginx and berth/CHP
#      rate ratios, the issue's goals) and a JSON file in $BENCH_RESULTS_DIR.
# Everything it starts (processes, containers, volumes, networks) is removed on exit, pass or
# fail; the image stays unless PROXY_KEEP_IMAGE=0. Builds nothing: expects berth and bench_sse_upstream in
# BUILD_DIR. Exits 2 on setup errors and 1 when berth died during the run; a missed goal is
# reported, not an error.
#
# Settings (environment):
#   BENCH_TARGETS     paths to measure, from "direct berth berth-pg nginx chp" (default: "direct
#                     berth nginx chp"); berth-pg needs berth too, and PostgreSQL's server
#                     binaries (the newest /usr/lib/postgresql/*/bin, or PG_BIN)
#   THREADS (2) CONNECTIONS (64) DURATION (10s) WARMUP (2s) ROUNDS (3)   wrk rounds
#   CHUNKS (20)       content events per stream in the rounds (no delay between them)
#   LIGHT_CONNECTIONS (1; 0 skips)                                       light-load round
#   STREAMS (10000; 0 skips) STREAM_SECONDS (60) STREAM_EVENT_MS (1000)  open-streams phase
#   STREAMS_TARGETS   where the open-streams phase runs (default: berth if it is a target)
#   WORKERS (auto)    event loops of each proxy: berth's BERTH_THREADS and nginx's worker_processes
#                     get the same number ("auto": one per core for both); CHP is one Node process
#   PROXY_IMAGE (berth/bench-upstream:local), PROXY_KEEP_IMAGE (1; 0 removes the
#   image at the end when this run built it first and nothing uses it),
#   CHP_HOME (/var/cache/berth/chp), CHP_VERSION (5.3.0), BENCH_RESULTS_DIR (bench/results),
#   BENCH_TMPDIR, BUILD_DIR, DOCKER_HOST
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}

BENCH_TARGETS=${BENCH_TARGETS:-direct berth nginx chp}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
CHUNKS=${CHUNKS:-20}
LIGHT_CONNECTIONS=${LIGHT_CONNECTIONS:-1}
WORKERS=${WORKERS:-auto}
STREAMS=${STREAMS:-10000}
STREAM_SECONDS=${STREAM_SECONDS:-60}
STREAM_EVENT_MS=${STREAM_EVENT_MS:-1000}
PROXY_IMAGE=${PROXY_IMAGE:-berth/bench-upstream:local}
# Kept by default: other work on the machine runs berth with this tag as its agent image, and an
# image removed between its runs would fail their next agent start.
PROXY_KEEP_IMAGE=${PROXY_KEEP_IMAGE:-1}
CHP_HOME=${CHP_HOME:-/var/cache/berth/chp}
CHP_VERSION=${CHP_VERSION:-5.3.0}
BENCH_RESULTS_DIR=${BENCH_RESULTS_DIR:-$REPO_DIR/bench/results}
LUA_SCRIPT=$SCRIPT_DIR/chat_stream.lua
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/../lib.sh"
UPSTREAM_PORT=18789

# Goals from the issue.
GOAL_NGINX_RATIO=1
GOAL_CHP_RATIO=3
GOAL_ADDED_P99_MS=1
GOAL_STREAMS=10000
GOAL_RSS_MIB=1024
GOAL_PG_RATIO=0.67  # issue 12: PostgreSQL within 1.5x of SQLite's rate

die() {
  echo "proxy/run.sh: $*" >&2
  exit 2
}
say() { echo "$*"; }
is_target() { [[ " $BENCH_TARGETS " == *" $1 "* ]]; }

for t in $BENCH_TARGETS; do
  [[ $t =~ ^(direct|berth|berth-pg|nginx|chp)$ ]] || die "unknown target '$t' in BENCH_TARGETS"
done
if is_target berth-pg; then
  # berth's agent is the upstream of direct, nginx and CHP; berth-pg has its own.
  is_target berth || die "berth-pg is measured against berth: BENCH_TARGETS must name both"
  for tool in psql setpriv; do
    command -v "$tool" >/dev/null || die "berth-pg needs $tool (Debian: postgresql-client, util-linux)"
  done
fi
if [[ -z ${STREAMS_TARGETS+x} ]]; then
  STREAMS_TARGETS=""
  is_target berth && STREAMS_TARGETS=berth
fi
for t in $STREAMS_TARGETS; do
  is_target "$t" || die "STREAMS_TARGETS names '$t', which is not in BENCH_TARGETS"
  [[ $t != berth-pg ]] || die "the open-streams phase does not run on berth-pg"
done
((STREAMS > 0)) || STREAMS_TARGETS=""
[[ $WORKERS == auto || $WORKERS =~ ^[1-9][0-9]?$ ]] || die "WORKERS must be auto or a number of 1 to 99"
((STREAM_EVENT_MS > 0 && STREAM_SECONDS * 1000 % STREAM_EVENT_MS == 0 && STREAM_SECONDS >= 10)) ||
  die "STREAM_SECONDS must be >= 10 and a whole number of STREAM_EVENT_MS"
NEED_BERTH=0
is_target berth && NEED_BERTH=1

BERTH=$BUILD_DIR/berth
UPSTREAM_BINARY=$BUILD_DIR/bench_sse_upstream
[[ -x $BERTH ]] || die "no berth binary at $BERTH (build it, or set BUILD_DIR)"
[[ -x $UPSTREAM_BINARY ]] ||
  die "no bench_sse_upstream in $BUILD_DIR (configure with -DBERTH_BUILD_BENCH=ON and build it)"
[[ -r $LUA_SCRIPT ]] || die "missing $LUA_SCRIPT"

# ---- 1. tools ----------------------------------------------------------------------------------
SUDO=""
[[ $(id -u) == 0 ]] || SUDO=sudo
APT_UPDATED=0
apt_install() {  # packages...
  if ((APT_UPDATED == 0)); then
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
for tool in curl ss awk docker; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
command -v wrk >/dev/null || apt_install wrk
NGINX=$(command -v nginx || true)
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
if [[ -z $NGINX ]] && is_target nginx; then
  apt_install nginx-light
  NGINX=/usr/sbin/nginx
fi
CHP_BIN=$CHP_HOME/node_modules/.bin/configurable-http-proxy
if is_target chp; then
  command -v node >/dev/null && command -v npm >/dev/null ||
    die "configurable-http-proxy needs node and npm (Debian: apt-get install nodejs npm)"
  installed=""
  [[ -r $CHP_HOME/node_modules/configurable-http-proxy/package.json ]] &&
    installed=$(node -p "require('$CHP_HOME/node_modules/configurable-http-proxy/package.json').version")
  if [[ $installed != "$CHP_VERSION" ]]; then
    say "installing configurable-http-proxy@$CHP_VERSION into $CHP_HOME"
    mkdir -p "$CHP_HOME"
    npm install --prefix "$CHP_HOME" --no-audit --no-fund --loglevel=error \
      "configurable-http-proxy@$CHP_VERSION" >/dev/null || die "npm install failed"
  fi
  [[ -x $CHP_BIN ]] || die "no configurable-http-proxy at $CHP_BIN"
fi
"$REPO_DIR/scripts/start-dockerd.sh" || die "no Docker engine answers"

# Each open stream costs a proxy two descriptors (client and upstream side).
ulimit -n "$(ulimit -Hn)"
FILE_LIMIT=$(ulimit -n)

BENCH_TMPDIR=$(bench_tmpdir)
WORK=$(mktemp -d "$BENCH_TMPDIR/berth-bench-proxy.XXXXXX")
RUN_ID=$(date +%s)-$$
PREFIX=berth-bench-proxy-$RUN_ID

# ---- cleanup -------------------------------------------------------------------------------------
BERTH_PID=""
BERTH_PG_PID=""
PG_DIR=""              # the PostgreSQL cluster's directory (owned by the OS user postgres)
NGINX_PID=""
CHP_PID=""
WRK_PID=""
SAMPLER_PID=""
UPSTREAM_CONTAINER=""  # ours, when berth does not run the agent
NETWORK_ID=""          # ours, or the one berth created under our name
BERTH_INSTANCE=""      # berth's label on what it created
BERTH_PG_INSTANCE=""   # berth-pg's (its database is fresh too: another id)
IMAGE_ID=""
IMAGE_EXISTED=1

cleanup() {
  local status=$?
  set +e
  trap - INT TERM
  stop_pid "$SAMPLER_PID" TERM
  stop_pid "$WRK_PID" TERM
  local workers=""
  [[ -n $NGINX_PID ]] && workers=$(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null)
  stop_pid "$NGINX_PID" QUIT
  for w in $workers; do kill -KILL "$w" 2>/dev/null; done
  stop_pid "$CHP_PID" TERM
  stop_pid "$BERTH_PID" TERM
  stop_pid "$BERTH_PG_PID" TERM
  pg_stop
  # Only what this run made, by id: berth's agents carry its instance label (a fresh database's
  # random id), our own container and network the run's label.
  local ids="" instances="$BERTH_INSTANCE $BERTH_PG_INSTANCE" instance
  if ((NEED_BERTH)) && [[ -z $NETWORK_ID ]]; then
    NETWORK_ID=$(docker network inspect -f '{{.Id}}' "$PREFIX" 2>/dev/null)
  fi
  if ((NEED_BERTH)) && [[ -n $NETWORK_ID ]]; then
    # Interrupted before an agent was inspected: its container is on the run's network.
    ids=$(docker ps -aq --filter "network=$NETWORK_ID")
    # shellcheck disable=SC2086  # one id per word
    [[ -n $ids ]] && instances+=" $(docker inspect -f '{{index .Config.Labels "berth.instance"}}' \
      $ids | sort -u | tr '\n' ' ')"
  fi
  for instance in $(tr ' ' '\n' <<<"$instances" | sort -u); do
    ids=$(docker ps -aq --filter "label=berth.instance=$instance")
    [[ -n $ids ]] && docker rm -f $ids >/dev/null
    ids=$(docker volume ls -q --filter "label=berth.instance=$instance")
    [[ -n $ids ]] && docker volume rm $ids >/dev/null
  done
  [[ -n $UPSTREAM_CONTAINER ]] && docker rm -f "$UPSTREAM_CONTAINER" >/dev/null
  [[ -n $NETWORK_ID ]] && docker network rm "$NETWORK_ID" >/dev/null
  if [[ -n $IMAGE_ID && $IMAGE_EXISTED == 0 && $PROXY_KEEP_IMAGE != 1 ]]; then
    # Never forced: a container of someone else's that uses the image keeps it.
    docker rmi "$IMAGE_ID" >/dev/null 2>&1 ||
      echo "proxy/run.sh: kept $PROXY_IMAGE ($IMAGE_ID): a container uses it" >&2
  fi
  rm -rf "$WORK"
  [[ -n $PG_DIR ]] && rm -rf "$PG_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- helpers -------------------------------------------------------------------------------------
# A process that is gone, or a zombie (no VmRSS), counts 0.
rss_kib() { awk '/^VmRSS:/ { v = $2 } END { print v + 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }


# ---- 2. the upstream image ---------------------------------------------------------------------
docker image inspect "$PROXY_IMAGE" >/dev/null 2>&1 || IMAGE_EXISTED=0
built=$("$BERTH" image build test-agent --binary "$UPSTREAM_BINARY" --tag "$PROXY_IMAGE" \
  2>"$WORK/image.err") || die "berth image build failed: $(tail -5 "$WORK/image.err")"
IMAGE_ID=$(awk '{print $2}' <<<"$built")
[[ -n $IMAGE_ID ]] || die "berth image build printed no image id: $built"

say "== chat proxy benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), run $RUN_ID"
say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), open files limit $FILE_LIMIT"
if commit=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null); then
  say "commit: $commit$(git -C "$REPO_DIR" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
fi
say "targets: $BENCH_TARGETS; wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds," \
  "$CHUNKS events per stream; proxy workers $WORKERS; image $PROXY_IMAGE ($IMAGE_ID)"

# ---- 3. berth and the upstream -------------------------------------------------------------------
UPSTREAM_IP=""
UPSTREAM_INIT_PID=""
USER_TOKEN=bench-no-berth
# Starts `berth serve` named $1 on database URL $2 (empty: SQLite in its data dir) with its
# internal listener on $3 (empty: berth's default), creates a bench user and starts its agent.
# Sets STARTED_PID, STARTED_URL, STARTED_TOKEN, STARTED_CONTAINER, STARTED_INSTANCE, STARTED_IP
# and STARTED_INIT_PID. Runs in this shell (not in $(…)) so that cleanup knows the pid.
start_berth() {
  local name=$1 database=$2 internal=$3 port
  mkdir -p "$WORK/data-$name"
  chmod 700 "$WORK/data-$name"
  port=$(free_port) || die "no free port for $name"
  # A clean environment: no BERTH_* setting of the caller's leaks in.
  local berth_env=(PATH="$PATH" BERTH_DATA_DIR="$WORK/data-$name" BERTH_ENCRYPTION_KEY="$KEY"
    BERTH_ADMIN_TOKEN="$ADMIN_TOKEN" BERTH_LOG_LEVEL=warn OPENCLAW_IMAGE="$PROXY_IMAGE"
    OPENCLAW_NETWORK="$PREFIX" BERTH_AGENT_CPUS="$(nproc)"
    # One bench user holds every stream: lift the per-user bound (32 by default) above them.
    BERTH_CHAT_MAX_PER_USER=$((STREAMS + CONNECTIONS + 100))
    BERTH_CHAT_MAX_TOTAL=$((STREAMS + CONNECTIONS + 100))
    # Every stream comes from 127.0.0.1, as through a proxy: no per-address connection limit.
    BERTH_MAX_CONNECTIONS_PER_ADDRESS=0)
  [[ -n $database ]] && berth_env+=(BERTH_DATABASE_URL="$database")
  [[ -n $internal ]] && berth_env+=(BERTH_INTERNAL_LISTEN="$internal")
  [[ -n ${DOCKER_HOST:-} ]] && berth_env+=(DOCKER_HOST="$DOCKER_HOST")
  [[ $WORKERS != auto ]] && berth_env+=(BERTH_THREADS="$WORKERS")
  env -i "${berth_env[@]}" "$BERTH" serve --listen "127.0.0.1:$port" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  STARTED_PID=$!
  [[ $name == berth ]] && BERTH_PID=$STARTED_PID
  [[ $name == berth-pg ]] && BERTH_PG_PID=$STARTED_PID
  wait_http_ok "http://127.0.0.1:$port/api/health" 60 "$STARTED_PID" ||
    die "$name did not answer /api/health: $(tail -5 "$WORK/$name.err")"
  STARTED_URL=http://127.0.0.1:$port
  # Ready once the store and the engine answer; agents cannot be started before.
  wait_http_ok "$STARTED_URL/api/ready" 60 "$STARTED_PID" ||
    die "$name did not get ready: $(curl -s "$STARTED_URL/api/ready") $(tail -5 "$WORK/$name.err")"
  local created
  created=$(curl -s -XPOST "$STARTED_URL/api/admin/users" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"bench"}')
  STARTED_TOKEN=$(sed -n 's/.*"token":"\(bu_[^"]*\)".*/\1/p' <<<"$created")
  [[ -n $STARTED_TOKEN ]] || die "$name: creating the bench user failed: $created"
  # berth creates the network at its first start of an agent, under our run's name.
  local code
  code=$(curl -s -o "$WORK/agent.json" -w '%{http_code}' --max-time 120 -XPOST \
    "$STARTED_URL/api/agent/start" -H "Authorization: Bearer $STARTED_TOKEN")
  NETWORK_ID=$(docker network inspect -f '{{.Id}}' "$PREFIX" 2>/dev/null || true)
  [[ $code == 200 ]] || die "$name: POST /api/agent/start answered $code: $(cat "$WORK/agent.json")"
  STARTED_CONTAINER=$(sed -n 's/.*"containerName":"\([^"]*\)".*/\1/p' "$WORK/agent.json")
  [[ -n $STARTED_CONTAINER ]] || die "$name: no containerName in $(cat "$WORK/agent.json")"
  local inspected
  inspected=$(docker inspect -f "{{index .Config.Labels \"berth.instance\"}} \
{{(index .NetworkSettings.Networks \"$PREFIX\").IPAddress}} {{.State.Pid}}" "$STARTED_CONTAINER") ||
    die "cannot inspect $name's agent container $STARTED_CONTAINER"
  read -r STARTED_INSTANCE STARTED_IP STARTED_INIT_PID <<<"$inspected"
}
if ((NEED_BERTH)); then
  KEY=$(hex32)
  ADMIN_TOKEN=ba_$(hex32)
  start_berth berth "" ""
  BERTH_URL=$STARTED_URL
  USER_TOKEN=$STARTED_TOKEN
  BERTH_INSTANCE=$STARTED_INSTANCE
  UPSTREAM_IP=$STARTED_IP
  UPSTREAM_INIT_PID=$STARTED_INIT_PID
  say "$("$BERTH" version 2>/dev/null || echo berth) on ${BERTH_URL#http://};" \
    "its agent $STARTED_CONTAINER runs the upstream at $UPSTREAM_IP:$UPSTREAM_PORT"
  if is_target berth-pg; then
    PG_DIR=$(mktemp -d "$BENCH_TMPDIR/berth-bench-pg.XXXXXX")
    pg_start "$PG_DIR" || die "PostgreSQL did not start"
    pg_sql postgres "CREATE DATABASE berth" || die "cannot create the database"
    # Both berths' agents are on the run's network, so each needs its own internal listener port
    # on the gateway (berth has the default, 3001).
    internal_port=$(free_port) || die "no free port for berth-pg's internal listener"
    [[ $internal_port == 3001 ]] && internal_port=$(free_port)
    start_berth berth-pg "$PG_URL/berth?sslmode=disable" ":$internal_port"
    BERTH_PG_URL=$STARTED_URL
    PG_USER_TOKEN=$STARTED_TOKEN
    BERTH_PG_INSTANCE=$STARTED_INSTANCE
    PG_UPSTREAM_IP=$STARTED_IP
    PG_UPSTREAM_INIT_PID=$STARTED_INIT_PID
    wait_http_ok "http://$PG_UPSTREAM_IP:$UPSTREAM_PORT/readyz" 30 ||
      die "berth-pg's agent does not answer $PG_UPSTREAM_IP:$UPSTREAM_PORT/readyz"
    say "berth-pg on ${BERTH_PG_URL#http://}, database PostgreSQL" \
      "$("$(pg_bin)/postgres" -V | awk '{print $3}') on 127.0.0.1:$PG_PORT (data in" \
      "$BENCH_TMPDIR); its agent $STARTED_CONTAINER at $PG_UPSTREAM_IP:$UPSTREAM_PORT"
  fi
else
  NETWORK_ID=$(docker network create --label "berth.bench-run=$RUN_ID" "$PREFIX")
  UPSTREAM_CONTAINER=$(docker run -d --init --name "$PREFIX-upstream" \
    --label "berth.bench-run=$RUN_ID" --network "$NETWORK_ID" "$PROXY_IMAGE")
  inspected=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$PREFIX\").IPAddress}} \
{{.State.Pid}}" "$UPSTREAM_CONTAINER") || die "cannot inspect the upstream container"
  read -r UPSTREAM_IP UPSTREAM_INIT_PID <<<"$inspected"
  say "upstream container ${UPSTREAM_CONTAINER:0:12} at $UPSTREAM_IP:$UPSTREAM_PORT"
fi
[[ -n $UPSTREAM_IP ]] || die "the upstream container has no address"
DIRECT_URL=http://$UPSTREAM_IP:$UPSTREAM_PORT
wait_http_ok "$DIRECT_URL/readyz" 30 || die "the upstream does not answer $DIRECT_URL/readyz"
# The container's processes (the init and the upstream) for CPU accounting: target $1's upstream
# (berth-pg has its own; every other path has berth's agent or the run's container).
upstream_pids() {
  local init=$UPSTREAM_INIT_PID
  [[ ${1:-} == berth-pg ]] && init=$PG_UPSTREAM_INIT_PID
  echo "$init $(ps -o pid= --ppid "$init" 2>/dev/null)"
}

# ---- 4. nginx and configurable-http-proxy --------------------------------------------------------
if is_target nginx; then
  NGINX_PORT=$(free_port) || die "no free port for nginx"
  mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
  {
    nginx_conf_head "$WORK/nginx" "$WORKERS" "$FILE_LIMIT"
    cat <<EOF
  upstream agent {
    server $UPSTREAM_IP:$UPSTREAM_PORT;
    keepalive 256;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://agent;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;
    }
  }
}
EOF
  } >"$WORK/nginx/nginx.conf"
  NGINX_URL=http://127.0.0.1:$NGINX_PORT
  start_nginx "$WORK/nginx" "$NGINX_URL/readyz" ||
    die "nginx did not start: $(tail -5 "$WORK/nginx/logs/error.log" "$WORK/nginx/logs/stdout.log")"
  say "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') on 127.0.0.1:$NGINX_PORT"
fi
if is_target chp; then
  CHP_PORT=$(free_port) || die "no free port for configurable-http-proxy"
  CHP_API_PORT=$(free_port) || die "no free port for configurable-http-proxy's API"
  CONFIGPROXY_AUTH_TOKEN=$(hex32) "$CHP_BIN" --ip 127.0.0.1 --port "$CHP_PORT" \
    --api-ip 127.0.0.1 --api-port "$CHP_API_PORT" --default-target "$DIRECT_URL" \
    --log-level warn >"$WORK/chp.out" 2>"$WORK/chp.err" &
  CHP_PID=$!
  CHP_URL=http://127.0.0.1:$CHP_PORT
  wait_http_ok "$CHP_URL/readyz" 30 "$CHP_PID" ||
    die "configurable-http-proxy did not start: $(tail -5 "$WORK/chp.err" "$WORK/chp.out")"
  say "configurable-http-proxy $CHP_VERSION (node $(node -v)) on 127.0.0.1:$CHP_PORT"
fi

target_url() {
  case $1 in
    direct) echo "$DIRECT_URL" ;;
    berth) echo "$BERTH_URL" ;;
    berth-pg) echo "$BERTH_PG_URL" ;;
    nginx) echo "$NGINX_URL" ;;
    chp) echo "$CHP_URL" ;;
  esac
}
# The proxy's processes (none for the direct path); for berth-pg also PostgreSQL's, whose work
# SQLite does inside berth.
target_pids() {
  case $1 in
    berth) echo "$BERTH_PID" ;;
    berth-pg) echo "$BERTH_PG_PID $(pg_pids)" ;;
    nginx) echo "$NGINX_PID $(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null)" ;;
    chp) echo "$CHP_PID" ;;
  esac
}
target_port() { local url; url=$(target_url "$1"); echo "${url##*:}"; }
# The bearer token of target $1's requests: berth-pg's own user on its own database.
target_token() {
  if [[ $1 == berth-pg ]]; then echo "$PG_USER_TOKEN"; else echo "$USER_TOKEN"; fi
}

# ---- checks: a complete stream, and events as they come (not buffered to the end) -------------
# The streamed chat request with `chunks` events `delay` ms apart, asked for in headers and in the
# body (berth forwards the body only), as chat_stream.lua does.
chat() {  # url token chunks delay [extra curl args...]
  local url=$1 token=$2 chunks=$3 delay=$4
  shift 4
  curl -s -X POST "$url/v1/chat/completions" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -H "x-bench-chunks: $chunks" \
    -H "x-bench-delay-ms: $delay" "$@" -d "{\"model\":\"openclaw\",\"stream\":true,\
\"bench\":{\"chunks\":$chunks,\"delayMs\":$delay},\"messages\":[{\"role\":\"user\",\
\"content\":\"Say tok, as often as you like.\"}]}"
}
check_target() {
  local name=$1 url token
  url=$(target_url "$name")
  token=$(target_token "$name")
  local code
  code=$(chat "$url" "$token" 5 0 -D "$WORK/check.headers" -o "$WORK/check.body" -w '%{http_code}' \
    --max-time 20 || true)
  if [[ $code != 200 ]]; then
    local hint=""
    [[ $name == berth* ]] && hint=" (a berth without its chat proxy answers 404; BENCH_TARGETS=\"direct nginx chp\" measures the others)"
    die "$name: POST /v1/chat/completions answered ${code:-nothing}:" \
      "$(head -c 300 "$WORK/check.body" 2>/dev/null)$hint"
  fi
  grep -qi '^content-type: text/event-stream' "$WORK/check.headers" ||
    die "$name: the response is not text/event-stream"
  local content done_events
  content=$(grep -c '^data: {.*"delta":{"content":"tok"}' "$WORK/check.body" || true)
  done_events=$(grep -c '^data: \[DONE\]$' "$WORK/check.body" || true)
  [[ $content == 5 && $done_events == 1 ]] ||
    die "$name: expected 5 content events and [DONE], got $content and $done_events"
  # Three events 300 ms apart: the first must arrive about 300 ms in, not at the end (≥ 900 ms).
  local start=$EPOCHREALTIME first="" line
  while IFS= read -r line; do
    [[ -z $first && $line == 'data: {'* ]] && first=$EPOCHREALTIME
  done < <(chat "$url" "$token" 3 300 -N --max-time 20)
  local end=$EPOCHREALTIME
  [[ -n $first ]] || die "$name: no event in the delayed stream"
  local timing
  timing=$(awk -v s="$start" -v f="$first" -v e="$end" \
    'BEGIN { printf "first event %.0f ms, end %.0f ms", (f - s) * 1000, (e - s) * 1000 }')
  awk -v s="$start" -v f="$first" 'BEGIN { exit !((f - s) < 0.7) }' ||
    die "$name buffers the stream ($timing)"
  say "  $name: 200 text/event-stream, 5 events + usage + [DONE]; 3 events 300 ms apart: $timing"
}
say "checks"
for t in $BENCH_TARGETS; do check_target "$t"; done

# ---- 5. load ------------------------------------------------------------------------------------
# Runs wrk against target $1 for $2 with $3 threads and $4 connections; sets RESULT to the
# BENCH_RESULT fields plus proxy_cpu_us, upstream_cpu_us and wrk_cpu_us per request. Runs in
# this shell (not a command substitution) so that WRK_PID is known to cleanup.
RESULT=""
run_wrk() {
  local name=$1 duration=$2 threads=$3 connections=$4
  local url pids upids before=0 ubefore=0 after=0 uafter=0 p
  url=$(target_url "$name")
  pids=$(target_pids "$name")
  upids=$(upstream_pids "$name")
  for p in $pids; do before=$((before + $(cpu_ticks "$p"))); done
  for p in $upids; do ubefore=$((ubefore + $(cpu_ticks "$p"))); done
  local wrk_before
  wrk_before=$(children_ticks)
  wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$LUA_SCRIPT" "$url" -- \
    "$(target_token "$name")" "$CHUNKS" 0 >"$WORK/wrk.out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || die "wrk failed against $name: $(tail -5 "$WORK/wrk.out")"
  WRK_PID=""
  for p in $pids; do after=$((after + $(cpu_ticks "$p"))); done
  for p in $upids; do uafter=$((uafter + $(cpu_ticks "$p"))); done
  local wrk_ticks=$(($(children_ticks) - wrk_before))
  local line
  line=$(grep '^BENCH_RESULT ' "$WORK/wrk.out") || die "no result from wrk: $(cat "$WORK/wrk.out")"
  RESULT=$(awk -v line="$line" -v proxy=$((after - before)) -v up=$((uafter - ubefore)) \
    -v client="$wrk_ticks" -v tck="$CLK_TCK" '
    BEGIN {
      n = split(line, kv, " ")
      for (i = 2; i <= n; i++) { split(kv[i], p, "="); f[p[1]] = p[2] }
      req = f["requests"] > 0 ? f["requests"] : 1
      errors = f["err_connect"] + f["err_read"] + f["err_write"] + f["err_status"] + f["err_timeout"]
      printf "%s rps=%.1f errors=%d proxy_cpu_us=%.1f upstream_cpu_us=%.1f wrk_cpu_us=%.1f\n",
             line, f["requests"] / (f["duration_us"] / 1e6), errors, proxy * 1e6 / tck / req,
             up * 1e6 / tck / req, client * 1e6 / tck / req
    }')
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
describe() {  # name result
  awk -v name="$1" -v rps="$(field rps "$2")" -v p50="$(field p50_us "$2")" \
    -v p99="$(field p99_us "$2")" -v errs="$(field errors "$2")" \
    -v pcpu="$(field proxy_cpu_us "$2")" -v ucpu="$(field upstream_cpu_us "$2")" \
    -v wcpu="$(field wrk_cpu_us "$2")" '
    BEGIN {
      printf "  %-8s %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms  errors %d  cpu/request: proxy %.1f us, upstream %.1f us, wrk %.1f us\n",
             name, rps, p50 / 1000, p99 / 1000, errs, pcpu, ucpu, wcpu
    }'
}

declare -A RPS P50 P99 ERRS PCPU UCPU
record() {  # key result
  RPS[$1]=$(field rps "$2")
  P50[$1]=$(field p50_us "$2")
  P99[$1]=$(field p99_us "$2")
  ERRS[$1]=$(field errors "$2")
  PCPU[$1]=$(field proxy_cpu_us "$2")
  UCPU[$1]=$(field upstream_cpu_us "$2")
}

read -r -a TARGET_LIST <<<"$BENCH_TARGETS"
N_TARGETS=${#TARGET_LIST[@]}
say "warm-up ($WARMUP each)"
for t in "${TARGET_LIST[@]}"; do
  run_wrk "$t" "$WARMUP" "$THREADS" "$CONNECTIONS"
  describe "$t" "$RESULT"
done
for round in $(seq "$ROUNDS"); do
  # Rotate the order, so no path always runs first or right after the same one.
  order=()
  for i in $(seq 0 $((N_TARGETS - 1))); do
    order+=("${TARGET_LIST[$(((i + round - 1) % N_TARGETS))]}")
  done
  say "round $round/$ROUNDS (${order[*]}; $DURATION each)"
  for t in "${order[@]}"; do
    run_wrk "$t" "$DURATION" "$THREADS" "$CONNECTIONS"
    describe "$t" "$RESULT"
    record "$t,$round" "$RESULT"
  done
done
if ((LIGHT_CONNECTIONS > 0)); then
  say "light load (wrk -t1 -c$LIGHT_CONNECTIONS -d$DURATION)"
  for t in "${TARGET_LIST[@]}"; do
    run_wrk "$t" "$DURATION" 1 "$LIGHT_CONNECTIONS"
    describe "$t" "$RESULT"
    record "$t,light" "$RESULT"
  done
fi

# ---- open streams --------------------------------------------------------------------------------
# STREAMS connections each open one stream of STREAM_SECONDS (STREAM_CHUNKS events
# STREAM_EVENT_MS apart), all at once. wrk runs for STREAM_SECONDS + STREAM_MARGIN (half of
# STREAM_SECONDS): a stream it saw complete started within the margin and lasted STREAM_SECONDS,
# so every completed stream was open during [margin, STREAM_SECONDS] — the count of completed
# streams is a lower bound of the streams held open at once, provided the proxy starts them
# within the margin (berth took about 10 s to start 9,000). A sampler records every second the proxy's RSS (all its processes),
# the upstream's own count of streams in flight (GET /bench/stats), and the established
# connections (ss): clients → the path's port, host → upstream (which includes the proxies' idle
# pooled connections; for the direct path both are the clients').
declare -A S_OPEN S_UPSTREAM S_INFLIGHT S_RSS S_BASE S_DONE S_ERRS S_ERRDETAIL S_CORES S_RAMP
STREAM_CHUNKS=$((STREAM_SECONDS * 1000 / STREAM_EVENT_MS))
STREAM_MARGIN=$((STREAM_SECONDS / 2))
path_processes() { target_pids "$1"; [[ $1 != direct ]] || upstream_pids; }
path_rss() {  # name: KiB over the path's processes (the upstream's for the direct path)
  local rss=0 p
  for p in $(path_processes "$1"); do rss=$((rss + $(rss_kib "$p"))); done
  echo "$rss"
}
path_alive() {  # name: 1 when every process of the path still runs
  local p
  for p in $(path_processes "$1"); do
    # The state follows the command name, which is in parentheses and may hold spaces.
    [[ $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1) =~ ^[RSDI]$ ]] ||
      { echo 0; return; }
  done
  echo 1
}
path_ticks() {  # name: CPU ticks of the path's processes
  local ticks=0 p
  for p in $(path_processes "$1"); do ticks=$((ticks + $(cpu_ticks "$p"))); done
  echo "$ticks"
}
sample_loop() {  # name port out
  local name=$1 port=$2 out=$3 open up inflight
  while true; do
    open=$(ss -Htn state established "( dport = :$port )" 2>/dev/null | wc -l)
    up=$(ss -Htn state established "( dst $UPSTREAM_IP and dport = :$UPSTREAM_PORT )" \
      2>/dev/null | wc -l)
    inflight=$(curl -s --max-time 1 "$DIRECT_URL/bench/stats" |
      sed -n 's/.*"openStreams":\([0-9]*\).*/\1/p')
    echo "$(date +%s) $(path_rss "$name") $open $up ${inflight:-0}" >>"$out"
    sleep 1
  done
}
# Waits until the upstream has no stream in flight (those of an earlier phase, cut off when its
# wrk stopped, end at their next write): each phase's samples are its own.
wait_upstream_idle() {
  local deadline=$((SECONDS + STREAM_SECONDS + 10)) open=""
  while ((SECONDS < deadline)); do
    open=$(curl -s --max-time 2 "$DIRECT_URL/bench/stats" |
      sed -n 's/.*"openStreams":\([0-9]*\).*/\1/p')
    [[ $open == 0 ]] && return 0
    sleep 0.5
  done
  say "  note: the upstream still had ${open:-?} streams in flight from before this phase"
}
column_max() { awk -v c="$1" 'BEGIN { m = 0 } $c > m { m = $c } END { print m }' "$2"; }
if [[ -n $STREAMS_TARGETS ]]; then
  if ((FILE_LIMIT < 2 * STREAMS + 100)); then
    say "note: open files limit $FILE_LIMIT (hard) < 2 × $STREAMS + 100: a one-process proxy" \
      "(berth, CHP) needs a descriptor per client and per upstream connection, so it cannot" \
      "hold $STREAMS streams here; nginx spreads them over its worker processes"
  fi
  for t in $STREAMS_TARGETS; do
    say "open streams: $t, $STREAMS connections, streams of ${STREAM_SECONDS} s" \
      "($STREAM_CHUNKS events ${STREAM_EVENT_MS} ms apart), wrk for $((STREAM_SECONDS + STREAM_MARGIN)) s"
    wait_upstream_idle
    samples=$WORK/samples-$t.txt
    : >"$samples"
    S_BASE[$t]=$(path_rss "$t")
    ticks_before=$(path_ticks "$t")
    phase_start=$EPOCHREALTIME
    sample_loop "$t" "$(target_port "$t")" "$samples" &
    SAMPLER_PID=$!
    wrk -t"$THREADS" -c"$STREAMS" -d"$((STREAM_SECONDS + STREAM_MARGIN))s" \
      --timeout "$((STREAM_SECONDS + 60))s" -s "$LUA_SCRIPT" "$(target_url "$t")" -- \
      "$USER_TOKEN" "$STREAM_CHUNKS" "$STREAM_EVENT_MS" >"$WORK/wrk-streams.out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || die "wrk failed against $t: $(tail -5 "$WORK/wrk-streams.out")"
    WRK_PID=""
    # A process that died during the phase took its CPU time with it: no figure then.
    S_CORES[$t]=$(awk -v t=$(($(path_ticks "$t") - ticks_before)) -v tck="$CLK_TCK" \
      -v s="$phase_start" -v e="$EPOCHREALTIME" -v alive="$(path_alive "$t")" \
      'BEGIN { if (alive && t >= 0) printf "%.2f", t / tck / (e - s); else print "null" }')
    stop_pid "$SAMPLER_PID" TERM
    SAMPLER_PID=""
    line=$(grep '^BENCH_RESULT ' "$WORK/wrk-streams.out") ||
      die "no result from wrk: $(cat "$WORK/wrk-streams.out")"
    S_RSS[$t]=$(column_max 2 "$samples")
    S_OPEN[$t]=$(column_max 3 "$samples")
    S_UPSTREAM[$t]=$(column_max 4 "$samples")
    S_INFLIGHT[$t]=$(column_max 5 "$samples")
    # Seconds from the phase's start until 99 % of the peak was in flight upstream.
    S_RAMP[$t]=$(awk -v peak="${S_INFLIGHT[$t]}" 'NR == 1 { t0 = $1 }
      $5 >= 0.99 * peak && peak > 0 { print $1 - t0; exit }' "$samples")
    # wrk counts non-2xx answers (refusals) among its requests: only the others held a stream.
    S_DONE[$t]=$(($(field requests "$line") - $(field err_status "$line")))
    S_ERRS[$t]=$(($(field err_connect "$line") + $(field err_read "$line") + \
      $(field err_write "$line") + $(field err_status "$line") + $(field err_timeout "$line")))
    S_ERRDETAIL[$t]="connect $(field err_connect "$line"), read $(field err_read "$line"),"
    S_ERRDETAIL[$t]+=" write $(field err_write "$line"), status $(field err_status "$line"),"
    S_ERRDETAIL[$t]+=" timeout $(field err_timeout "$line")"
    awk -v name="$t" -v base="${S_BASE[$t]}" -v peak="${S_RSS[$t]}" -v open="${S_OPEN[$t]}" \
      -v up="${S_UPSTREAM[$t]}" -v inflight="${S_INFLIGHT[$t]}" -v done_="${S_DONE[$t]}" \
      -v errs="${S_ERRS[$t]}" -v detail="${S_ERRDETAIL[$t]}" -v cores="${S_CORES[$t]}" \
      -v ramp="${S_RAMP[$t]:-?}" '
      BEGIN {
        printf "  %-6s %d streams completed with 200 (all open at once), %d errors (%s)\n", name,
               done_, errs, detail
        printf "         peak: %d streams in flight at the upstream (99 %% of them after %s s), %d client and %d upstream connections\n",
               inflight, ramp, open, up
        printf "         RSS %.1f MiB before, peak %.1f MiB", base / 1024, peak / 1024
        if (inflight > 0) printf " (%.1f KiB over the base per stream in flight)", (peak - base) / inflight
        if (cores == "null") printf "; CPU unknown (a process died)\n"
        else printf "; CPU %.2f cores on average\n", cores
      }'
  done
fi
# berth dying under load is a result, not a setup error: reported, with its last words.
BERTH_DIED=""
if ((NEED_BERTH)) && [[ $(path_alive berth) != 1 ]]; then
  berth_status=0
  wait "$BERTH_PID" 2>/dev/null || berth_status=$?
  BERTH_PID=""
  BERTH_DIED="exit status $berth_status: $(grep -vi 'warn' "$WORK/berth.err" | tail -3 |
    tr '\n\t' '  ' | tr -d '"\\\000-\037')"
fi
if is_target berth-pg && ! kill -0 "$BERTH_PG_PID" 2>/dev/null; then
  berth_status=0
  wait "$BERTH_PG_PID" 2>/dev/null || berth_status=$?
  BERTH_PG_PID=""
  BERTH_DIED+="${BERTH_DIED:+; }berth-pg: exit status $berth_status: $(grep -vi 'warn' \
    "$WORK/berth-pg.err" | tail -3 | tr '\n\t' '  ' | tr -d '"\\\000-\037')"
fi

# ---- 6. summary ----------------------------------------------------------------------------------
median() {  # of the numbers on stdin, one per line
  awk 'NF' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
two_places() { awk '{ printf "%.2f\n", $1 }'; }
values() {  # array-name target: the rounds' values
  local -n arr=$1
  local r
  for r in $(seq "$ROUNDS"); do echo "${arr[$2,$r]}"; done
}
# Per round proxy − direct (µs) or proxy / other, then their median.
round_diffs() {  # array-name target
  local -n arr=$1
  local r
  for r in $(seq "$ROUNDS"); do echo $((${arr[$2,$r]} - ${arr[direct,$r]})); done
}
round_ratios() {  # target other
  local r
  for r in $(seq "$ROUNDS"); do
    awk -v a="${RPS[$1,$r]}" -v b="${RPS[$2,$r]}" 'BEGIN { printf "%.2f\n", a / b }'
  done
}

declare -A M_RPS M_P50 M_P99 M_PCPU M_UCPU A_P50 A_P99 L_A_P50 L_A_P99
TOTAL_ERRORS=0
for t in "${TARGET_LIST[@]}"; do
  M_RPS[$t]=$(values RPS "$t" | median)
  M_P50[$t]=$(values P50 "$t" | median)
  M_P99[$t]=$(values P99 "$t" | median)
  M_PCPU[$t]=$(values PCPU "$t" | median)
  M_UCPU[$t]=$(values UCPU "$t" | median)
  for r in $(seq "$ROUNDS"); do TOTAL_ERRORS=$((TOTAL_ERRORS + ${ERRS[$t,$r]})); done
  if is_target direct && [[ $t != direct ]]; then
    A_P50[$t]=$(round_diffs P50 "$t" | median)
    A_P99[$t]=$(round_diffs P99 "$t" | median)
    if ((LIGHT_CONNECTIONS > 0)); then
      L_A_P50[$t]=$((${P50[$t,light]} - ${P50[direct,light]}))
      L_A_P99[$t]=$((${P99[$t,light]} - ${P99[direct,light]}))
    fi
  fi
done

say
say "== summary: POST /v1/chat/completions, $CHUNKS events per stream, wrk -t$THREADS" \
  "-c$CONNECTIONS -d$DURATION, median of $ROUNDS rounds"
printf '  %-8s %10s %9s %9s %12s %12s %11s %11s\n' path "req/s" "p50 ms" "p99 ms" \
  "added p50" "added p99" "proxy cpu" "upstr. cpu"
for t in "${TARGET_LIST[@]}"; do
  awk -v t="$t" -v rps="${M_RPS[$t]}" -v p50="${M_P50[$t]}" -v p99="${M_P99[$t]}" \
    -v a50="${A_P50[$t]:-}" -v a99="${A_P99[$t]:-}" -v pcpu="${M_PCPU[$t]}" \
    -v ucpu="${M_UCPU[$t]}" '
    function ms(v) { return v == "" ? "-" : sprintf("%+.3f ms", v / 1000) }
    BEGIN {
      printf "  %-8s %10.0f %9.3f %9.3f %12s %12s %8.1f us %8.1f us\n", t, rps, p50 / 1000,
             p99 / 1000, ms(a50), ms(a99), pcpu, ucpu
    }'
done
if ((LIGHT_CONNECTIONS > 0)); then
  say "  light load (-c$LIGHT_CONNECTIONS), added latency p50 / p99:"
  for t in "${TARGET_LIST[@]}"; do
    [[ $t == direct || -z ${L_A_P50[$t]:-} ]] && continue
    awk -v t="$t" -v a50="${L_A_P50[$t]}" -v a99="${L_A_P99[$t]}" -v p50="${P50[$t,light]}" \
      -v p99="${P99[$t,light]}" 'BEGIN { printf "    %-6s %+.3f / %+.3f ms (p50 %.3f, p99 %.3f ms)\n",
                                 t, a50 / 1000, a99 / 1000, p50 / 1000, p99 / 1000 }'
  done
fi
RATIO_NGINX="" RATIO_CHP="" ROUNDS_NGINX="" ROUNDS_CHP=""
if is_target berth && is_target nginx; then
  ROUNDS_NGINX=$(round_ratios berth nginx | tr '\n' ' ')
  RATIO_NGINX=$(round_ratios berth nginx | median | two_places)
  say "  berth/nginx rate ratio: $RATIO_NGINX (median of rounds: $ROUNDS_NGINX)"
fi
if is_target berth && is_target chp; then
  ROUNDS_CHP=$(round_ratios berth chp | tr '\n' ' ')
  RATIO_CHP=$(round_ratios berth chp | median | two_places)
  say "  berth/CHP rate ratio: $RATIO_CHP (median of rounds: $ROUNDS_CHP)"
fi
if is_target nginx && is_target chp; then
  say "  nginx/CHP rate ratio: $(round_ratios nginx chp | median | two_places)"
fi
RATIO_PG="" ROUNDS_PG=""
if is_target berth-pg; then
  ROUNDS_PG=$(round_ratios berth-pg berth | tr '\n' ' ')
  RATIO_PG=$(round_ratios berth-pg berth | median | two_places)
  say "  berth-pg/berth (PostgreSQL/SQLite) rate ratio: $RATIO_PG (median of rounds: $ROUNDS_PG)"
fi
((TOTAL_ERRORS == 0)) ||
  say "  WARNING: $TOTAL_ERRORS socket errors or non-2xx responses in the measured rounds"
[[ -z $BERTH_DIED ]] || say "  WARNING: berth exited during the run ($BERTH_DIED)"

# The issue's goals, for berth; "n/a" when a path they compare with was not measured.
verdict() {  # description pass(0/1) value
  say "  goal: $1: $([[ $2 == 1 ]] && echo PASS || echo FAIL) ($3)"
}
if is_target berth; then
  [[ -n $RATIO_NGINX ]] && verdict "berth req/s >= nginx's" \
    "$(awk -v r="$RATIO_NGINX" -v g="$GOAL_NGINX_RATIO" 'BEGIN { print (r >= g) }')" "×$RATIO_NGINX"
  [[ -n $RATIO_CHP ]] && verdict "berth req/s >= ${GOAL_CHP_RATIO}× CHP's" \
    "$(awk -v r="$RATIO_CHP" -v g="$GOAL_CHP_RATIO" 'BEGIN { print (r >= g) }')" "×$RATIO_CHP"
  [[ -n $RATIO_PG ]] && verdict "berth on PostgreSQL req/s >= ${GOAL_PG_RATIO}× on SQLite's" \
    "$(awk -v r="$RATIO_PG" -v g="$GOAL_PG_RATIO" 'BEGIN { print (r >= g) }')" "×$RATIO_PG"
  if [[ -n ${A_P99[berth]:-} ]]; then
    verdict "berth added p99 < ${GOAL_ADDED_P99_MS} ms (-c$CONNECTIONS)" \
      "$(awk -v a="${A_P99[berth]}" -v g="$GOAL_ADDED_P99_MS" 'BEGIN { print (a / 1000 < g) }')" \
      "$(awk -v a="${A_P99[berth]}" 'BEGIN { printf "%+.3f ms", a / 1000 }')"
  fi
  if [[ -n ${L_A_P99[berth]:-} ]]; then
    verdict "berth added p99 < ${GOAL_ADDED_P99_MS} ms (-c$LIGHT_CONNECTIONS)" \
      "$(awk -v a="${L_A_P99[berth]}" -v g="$GOAL_ADDED_P99_MS" 'BEGIN { print (a / 1000 < g) }')" \
      "$(awk -v a="${L_A_P99[berth]}" 'BEGIN { printf "%+.3f ms", a / 1000 }')"
  fi
fi
for t in $STREAMS_TARGETS; do
  awk -v t="$t" -v inflight="${S_INFLIGHT[$t]}" -v base="${S_BASE[$t]}" -v peak="${S_RSS[$t]}" \
    -v done_="${S_DONE[$t]}" -v errs="${S_ERRS[$t]}" -v streams="$STREAMS" '
    BEGIN {
      printf "  open streams, %s: %d of %d held at once (completed), peak %d in flight upstream, peak RSS %.1f MiB (%.1f before), %d errors\n",
             t, done_, streams, inflight, peak / 1024, base / 1024, errs
    }'
done
if [[ " $STREAMS_TARGETS " == *" berth "* ]]; then
  verdict "berth holds $GOAL_STREAMS streams under $GOAL_RSS_MIB MiB" \
    "$(awk -v o="${S_DONE[berth]}" -v r="${S_RSS[berth]}" -v gs="$GOAL_STREAMS" -v gr="$GOAL_RSS_MIB" \
      'BEGIN { print (o >= gs && r / 1024 < gr) }')" \
    "${S_DONE[berth]} held, $(awk -v r="${S_RSS[berth]}" 'BEGIN { printf "%.1f MiB", r / 1024 }')"
fi

# ---- JSON ----------------------------------------------------------------------------------------
mkdir -p "$BENCH_RESULTS_DIR"
RESULTS_FILE=$BENCH_RESULTS_DIR/proxy-$(date -u +%Y%m%dT%H%M%SZ).json
num() { [[ -n ${1:-} ]] && echo "$1" || echo null; }
{
  printf '{\n  "benchmark": "chat-proxy",\n  "time": "%s",\n  "commit": "%s",\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(git -C "$REPO_DIR" rev-parse HEAD 2>/dev/null || true)"
  printf '  "machine": {"cores": %d, "load_average": "%s", "open_files_limit": %d},\n' \
    "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$FILE_LIMIT"
  printf '  "settings": {"targets": "%s", "threads": %d, "connections": %d, "duration": "%s", ' \
    "$BENCH_TARGETS" "$THREADS" "$CONNECTIONS" "$DURATION"
  printf '"rounds": %d, "chunks": %d, "light_connections": %d, "streams": %d, ' \
    "$ROUNDS" "$CHUNKS" "$LIGHT_CONNECTIONS" "$STREAMS"
  printf '"stream_seconds": %d, "stream_event_ms": %d, "workers": "%s", "image": "%s"},\n' \
    "$STREAM_SECONDS" "$STREAM_EVENT_MS" "$WORKERS" "$PROXY_IMAGE"
  printf '  "runs": ['
  sep=""
  for t in "${TARGET_LIST[@]}"; do
    for r in $(seq "$ROUNDS") light; do
      [[ -n ${RPS[$t,$r]:-} ]] || continue
      printf '%s\n    {"path": "%s", "round": "%s", "rps": %s, "p50_us": %s, "p99_us": %s, ' \
        "$sep" "$t" "$r" "${RPS[$t,$r]}" "${P50[$t,$r]}" "${P99[$t,$r]}"
      printf '"errors": %s, "proxy_cpu_us_per_request": %s, "upstream_cpu_us_per_request": %s}' \
        "${ERRS[$t,$r]}" "${PCPU[$t,$r]}" "${UCPU[$t,$r]}"
      sep=","
    done
  done
  printf '\n  ],\n  "summary": {'
  sep=""
  for t in "${TARGET_LIST[@]}"; do
    printf '%s\n    "%s": {"rps": %s, "p50_us": %s, "p99_us": %s, "added_p50_us": %s, ' \
      "$sep" "$t" "${M_RPS[$t]}" "${M_P50[$t]}" "${M_P99[$t]}" "$(num "${A_P50[$t]:-}")"
    printf '"added_p99_us": %s, "light_added_p50_us": %s, "light_added_p99_us": %s}' \
      "$(num "${A_P99[$t]:-}")" "$(num "${L_A_P50[$t]:-}")" "$(num "${L_A_P99[$t]:-}")"
    sep=","
  done
  printf '%s\n    "berth_nginx_ratio": %s, "berth_chp_ratio": %s, "pg_sqlite_ratio": %s, ' \
    "$sep" "$(num "$RATIO_NGINX")" "$(num "$RATIO_CHP")" "$(num "$RATIO_PG")"
  printf '"berth_exited": %s\n  },\n' \
    "$([[ -n $BERTH_DIED ]] && printf '"%s"' "$BERTH_DIED" || echo null)"
  printf '  "streams": {'
  sep=""
  for t in $STREAMS_TARGETS; do
    printf '%s\n    "%s": {"held_at_once": %s, "errors": %s, "inflight_upstream_peak": %s, ' \
      "$sep" "$t" "${S_DONE[$t]}" "${S_ERRS[$t]}" "${S_INFLIGHT[$t]}"
    printf '"client_connections_peak": %s, "upstream_connections_peak": %s, "ramp_s": %s, ' \
      "${S_OPEN[$t]}" "${S_UPSTREAM[$t]}" "$(num "${S_RAMP[$t]:-}")"
    printf '"rss_base_kib": %s, "rss_peak_kib": %s, "cpu_cores": %s,\n' "${S_BASE[$t]}" \
      "${S_RSS[$t]}" "${S_CORES[$t]}"
    # Per second from the phase's start: [s, RSS KiB, client conns, upstream conns, in flight].
    printf '      "samples": ['
    awk 'NR == 1 { t0 = $1 }
      { printf "%s[%d,%d,%d,%d,%d]", (NR > 1 ? "," : ""), $1 - t0, $2, $3, $4, $5 }' \
      "$WORK/samples-$t.txt"
    printf ']}'
    sep=","
  done
  printf '\n  }\n}\n'
} >"$RESULTS_FILE"
say "results: $RESULTS_FILE"
[[ -z $BERTH_DIED ]] || exit 1
