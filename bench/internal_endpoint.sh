#!/usr/bin/env bash
# Load test of the internal endpoint agents fetch their config from,
#   GET /api/internal/agent-config/:id   (Authorization: Bearer <container token>)
# with RECORDS container records, against nginx serving a static file of the same size in the
# same run as the machine's ceiling; with POSTGRES=1 also berth on PostgreSQL (the same records,
# copied from the SQLite file with `berth db copy`) in the same rounds. See bench/README.md.
#
# Builds nothing: expects berth and bench_seed in BUILD_DIR (default: the repo's build/).
# Everything listens on 127.0.0.1; every process started here is stopped on exit, pass or fail,
# and the temporary directory is removed.
#
# Exit status: 0 when the measurement ran (whether or not berth met the goal; the verdict is
# printed), 2 on a setup error (missing tool, berth or nginx not answering, wrong response).
#
# Settings (environment):
#   BUILD_DIR    build directory holding berth and bench_seed   (default <repo>/build)
#   RECORDS      container records to seed                     (default 100000)
#   THREADS      wrk threads                                    (default 2)
#   CONNECTIONS  wrk connections                                (default 64)
#   DURATION     wrk duration of each measured run              (default 15s)
#   WARMUP       wrk duration of the warm-up run of each server (default 3s)
#   ROUNDS       measured rounds, each server once, the order rotated every round (default 3)
#   POSTGRES     1: also berth on a throwaway PostgreSQL cluster of the newest
#                /usr/lib/postgresql/*/bin (PG_BIN), same records          (default 0)
#   LIGHT_CONNECTIONS  connections of the extra light-load run (wrk -t1, default 1; 0 skips
#                it). With a closed loop of C connections, latency ~ C / rate, so at -c64 the p99
#                mostly measures queueing; the light run shows the latency of one request.
#   BENCH_TMPDIR where the temp dir goes (default /dev/shm when writable, else TMPDIR or /tmp;
#                the endpoint only reads, so tmpfs changes seeding time, not the measurement)
#   BERTH_THREADS berth's HTTP threads (default: berth's own default, one per core)

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
RECORDS=${RECORDS:-100000}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
ROUNDS=${ROUNDS:-3}
LIGHT_CONNECTIONS=${LIGHT_CONNECTIONS:-1}
LUA_SCRIPT=$SCRIPT_DIR/internal_endpoint.lua
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

POSTGRES=${POSTGRES:-0}
[[ $POSTGRES == 0 || $POSTGRES == 1 ]] || { echo "internal_endpoint.sh: POSTGRES must be 0 or 1" >&2; exit 2; }

# Goals from the issues: berth against nginx (issue 1), PostgreSQL against SQLite (issue 12:
# "within 1.5x of SQLite's rate").
GOAL_RATIO=0.5
GOAL_P99_MS=5
GOAL_PG_RATIO=0.67

die() {
  echo "internal_endpoint.sh: $*" >&2
  exit 2
}

BERTH=$BUILD_DIR/berth
SEED=$BUILD_DIR/bench_seed
[[ -x $BERTH ]] || die "no berth binary at $BERTH (build it, or set BUILD_DIR)"
[[ -x $SEED ]] || die "no bench_seed at $SEED (configure with -DBERTH_BUILD_BENCH=ON and build it)"
[[ -r $LUA_SCRIPT ]] || die "missing $LUA_SCRIPT"
tools=(wrk curl od awk)
((POSTGRES)) && tools+=(psql setpriv)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
NGINX=$(command -v nginx || true)
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
[[ -n $NGINX ]] || die "nginx is not installed (Debian: apt-get install nginx-light)"

BENCH_TMPDIR=$(bench_tmpdir)
WORK=$(mktemp -d "$BENCH_TMPDIR/berth-bench.XXXXXX")

BERTH_PID=""
BERTH_PG_PID=""
NGINX_PID=""
WRK_PID=""
AGENT_NETWORK=berth-bench-internal-$$-$RANDOM
# The PostgreSQL cluster's own directory, handed to the OS user postgres (WORK stays root's).
PG_DIR=""

cleanup() {
  local status=$?
  set +e
  stop_pid "$WRK_PID" TERM
  # nginx's workers are its children: list them before the master goes, kill leftovers after.
  local workers=""
  [[ -n $NGINX_PID ]] && workers=$(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null)
  stop_pid "$NGINX_PID" QUIT
  for w in $workers; do kill -KILL "$w" 2>/dev/null; done
  stop_pid "$BERTH_PID" TERM
  stop_pid "$BERTH_PG_PID" TERM
  pg_stop
  # berth makes its agent network at start (the internal listener's address is its gateway):
  # the run's own names, removed by id when they exist.
  local net net_id
  for net in "$AGENT_NETWORK" "$AGENT_NETWORK-pg"; do
    net_id=$(docker network inspect -f '{{.Id}}' "$net" 2>/dev/null) &&
      docker network rm "$net_id" >/dev/null 2>&1
  done
  rm -rf "$WORK"
  [[ -n $PG_DIR ]] && rm -rf "$PG_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

KEY=$(hex32)
ADMIN_TOKEN=ba_$(hex32)

echo "== internal endpoint benchmark: $RECORDS records, wrk -t$THREADS -c$CONNECTIONS -d$DURATION," \
  "$ROUNDS rounds; $(nproc) cores; temp dir in $BENCH_TMPDIR"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg)$(
  commit=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null) && echo ", commit $commit")"

# ---- seed -----------------------------------------------------------------------------------
mkdir -p "$WORK/data" "$WORK/www" "$WORK/nginx/logs" "$WORK/nginx/tmp"
chmod 700 "$WORK/data"
PAIRS=$WORK/pairs.txt
seed_start=$(date +%s.%N)
"$SEED" "sqlite://$WORK/data/berth.db" "$KEY" "$RECORDS" "$PAIRS" 2>"$WORK/seed.err" ||
  die "bench_seed failed: $(tail -5 "$WORK/seed.err")"
SEED_SECONDS=$(awk -v s="$seed_start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
echo "seeded $RECORDS users (user, API token, container record, provider each) in ${SEED_SECONDS} s"

# ---- PostgreSQL: the same records, copied --------------------------------------------------
# Before any berth starts: `berth db copy` refuses a SQLite file a berth serves.
if ((POSTGRES)); then
  PG_DIR=$(mktemp -d "$BENCH_TMPDIR/berth-bench-pg.XXXXXX")
  # `berth db copy` writes every record in one transaction, and the container tables' trigger
  # (migration 3) takes a transaction-level advisory lock per container: the lock table
  # (max_locks_per_transaction × max_connections) must hold RECORDS of them, where PostgreSQL's
  # defaults hold about 6,400 (a copy of 20,000 containers fails with "out of shared memory").
  PG_OPTIONS="${PG_OPTIONS:-} -c max_locks_per_transaction=$((RECORDS / 100 + 64))"
  pg_start "$PG_DIR" || die "PostgreSQL did not start"
  pg_sql postgres "CREATE DATABASE berth" || die "cannot create the database"
  PG_DATABASE_URL="$PG_URL/berth?sslmode=disable"
  copy_start=$EPOCHREALTIME
  env -i PATH="$PATH" "$BERTH" db copy --from "sqlite://$WORK/data/berth.db" \
    --to "$PG_DATABASE_URL" >"$WORK/copy.out" 2>&1 ||
    die "berth db copy failed: $(tail -5 "$WORK/copy.out")"
  COPY_SECONDS=$(awk -v s="$copy_start" -v e="$EPOCHREALTIME" 'BEGIN {printf "%.1f", e - s}')
  echo "PostgreSQL $("$(pg_bin)/postgres" -V | awk '{print $3}') on 127.0.0.1:$PG_PORT" \
    "(data in $BENCH_TMPDIR); berth db copy of the records took ${COPY_SECONDS} s"
fi

# ---- berth ----------------------------------------------------------------------------------
# Starts `berth serve` on database URL $2 with data dir $3 and agent network $4 on a free port;
# $1 names it in messages. Sets STARTED_PID and STARTED_URL; call it in this shell (not in $(…)).
start_berth() {
  local name=$1 port
  port=$(free_port) || die "no free port for $name"
  mkdir -p "$3"
  chmod 700 "$3"
  # A clean environment, so no BERTH_* setting of the caller's (config file, …) leaks in. With
  # its own internal listener (on the agent network's gateway) berth serves /api/internal/* only
  # there; off, the public listener wrk reaches on 127.0.0.1 serves it.
  local berth_env=(PATH="$PATH" BERTH_DATA_DIR="$3" BERTH_DATABASE_URL="$2"
    BERTH_ENCRYPTION_KEY="$KEY" BERTH_ADMIN_TOKEN="$ADMIN_TOKEN" BERTH_LOG_LEVEL=warn
    OPENCLAW_NETWORK="$4" BERTH_INTERNAL_LISTEN=off)
  [[ -n ${BERTH_THREADS:-} ]] && berth_env+=(BERTH_THREADS="$BERTH_THREADS")
  env -i "${berth_env[@]}" "$BERTH" serve --listen "127.0.0.1:$port" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  STARTED_PID=$!
  STARTED_URL=http://127.0.0.1:$port
  wait_http_ok "$STARTED_URL/api/health" 60 "$STARTED_PID" ||
    die "$name did not answer /api/health: $(tail -5 "$WORK/$name.err")"
}
start_berth berth "sqlite://$WORK/data/berth.db" "$WORK/data" "$AGENT_NETWORK"
BERTH_PID=$STARTED_PID
BERTH_URL=$STARTED_URL

read -r FIRST_ID FIRST_TOKEN <"$PAIRS"
read -r LAST_ID LAST_TOKEN < <(tail -1 "$PAIRS")
check_config() {  # url id token expected-status -> writes body to $WORK/body.json
  local code
  code=$(curl -s -o "$WORK/body.json" -w '%{http_code}' -H "Authorization: Bearer $3" \
    "$1/api/internal/agent-config/$2")
  [[ $code == "$4" ]] || die "GET $1/api/internal/agent-config/$2 answered $code, expected $4"
}
check_configs() {  # url: the checks every berth passes; leaves the first container's config in body.json
  check_config "$1" "$LAST_ID" "$FIRST_TOKEN" 403  # another container's token
  check_config "$1" "$FIRST_ID" "bc_not-a-token" 401
  check_config "$1" "$LAST_ID" "$LAST_TOKEN" 200
  check_config "$1" "$FIRST_ID" "$FIRST_TOKEN" 200
  [[ $(head -c1 "$WORK/body.json") == "{" ]] || die "the config is not a JSON object"
}
check_configs "$BERTH_URL"
BODY_BYTES=$(stat -c %s "$WORK/body.json")
echo "berth answers 200 with a ${BODY_BYTES}-byte openclaw.json"

if ((POSTGRES)); then
  # Its own data dir and network: the two berths share the records' instance id, not a listener.
  start_berth berth-pg "$PG_DATABASE_URL" "$WORK/data-pg" "$AGENT_NETWORK-pg"
  BERTH_PG_PID=$STARTED_PID
  BERTH_PG_URL=$STARTED_URL
  cp "$WORK/body.json" "$WORK/body-sqlite.json"
  check_configs "$BERTH_PG_URL"
  cmp -s "$WORK/body.json" "$WORK/body-sqlite.json" ||
    die "berth on PostgreSQL serves another config than berth on SQLite"
  echo "berth on PostgreSQL answers the same; pool_max_conns 10 (berth's default)"
fi

# ---- nginx: the same bytes as a static file ---------------------------------------------------
cp "$WORK/body.json" "$WORK/www/openclaw.json"
NGINX_PORT=$(free_port) || die "no free port for nginx"
{
  nginx_conf_head "$WORK/nginx" auto 4096
  cat <<EOF
  sendfile on;
  tcp_nopush on;
  default_type application/json;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    # Every path, including /api/internal/agent-config/<id>, gets the one file, so nginx sees
    # exactly the requests berth sees.
    location / { try_files /openclaw.json =404; }
  }
}
EOF
} >"$WORK/nginx/nginx.conf"
NGINX_URL=http://127.0.0.1:$NGINX_PORT
start_nginx "$WORK/nginx" "$NGINX_URL/api/internal/agent-config/$FIRST_ID" ||
  die "nginx did not start: $(tail -5 "$WORK/nginx/logs/error.log" "$WORK/nginx/logs/stdout.log")"
NGINX_BYTES=$(curl -s -H "Authorization: Bearer $FIRST_TOKEN" \
  "$NGINX_URL/api/internal/agent-config/$FIRST_ID" | wc -c)
[[ $NGINX_BYTES == "$BODY_BYTES" ]] || die "nginx served $NGINX_BYTES bytes, berth $BODY_BYTES"
echo "nginx $(${NGINX} -v 2>&1 | sed 's/.*nginx\///') serves the same ${BODY_BYTES} bytes"

# ---- load -----------------------------------------------------------------------------------
SERVERS=(berth)
((POSTGRES)) && SERVERS+=(berth-pg)
SERVERS+=(nginx)
server_url() {
  case $1 in
    berth) echo "$BERTH_URL" ;;
    berth-pg) echo "$BERTH_PG_URL" ;;
    nginx) echo "$NGINX_URL" ;;
  esac
}
server_pids() {
  case $1 in
    berth) echo "$BERTH_PID" ;;
    berth-pg) echo "$BERTH_PG_PID" ;;
    nginx) echo "$NGINX_PID $(ps -o pid= --ppid "$NGINX_PID")" ;;
  esac
}
# Runs wrk against server $1 for $2 (threads $3 and connections $4 when given) and sets RESULT
# to "<BENCH_RESULT fields> server_cpu_us=<per request> db_cpu_us=<per request> wrk_cpu_us=<per
# request>"; db is the PostgreSQL server's processes, for berth-pg (SQLite runs inside berth).
# Runs in this shell (not a command substitution) so that WRK_PID is known to cleanup.
RESULT=""
run_wrk() {
  local name=$1 url duration=$2 pids dbpids=""
  url=$(server_url "$name")
  pids=$(server_pids "$name")
  [[ $name == berth-pg ]] && dbpids=$(pg_pids)
  local before=0 after=0 dbbefore=0 dbafter=0 p
  for p in $pids; do before=$((before + $(cpu_ticks "$p"))); done
  for p in $dbpids; do dbbefore=$((dbbefore + $(cpu_ticks "$p"))); done
  local wrk_before
  wrk_before=$(children_ticks)
  local threads=${3:-$THREADS} connections=${4:-$CONNECTIONS}
  wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$LUA_SCRIPT" \
    "$url" -- "$PAIRS" "$threads" >"$WORK/wrk.out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || die "wrk failed against $name: $(tail -5 "$WORK/wrk.out")"
  WRK_PID=""
  for p in $pids; do after=$((after + $(cpu_ticks "$p"))); done
  for p in $dbpids; do dbafter=$((dbafter + $(cpu_ticks "$p"))); done
  local wrk_ticks=$(($(children_ticks) - wrk_before))
  local line
  line=$(grep '^BENCH_RESULT ' "$WORK/wrk.out") || die "no result from wrk: $(cat "$WORK/wrk.out")"
  RESULT=$(awk -v line="$line" -v server=$((after - before)) -v db=$((dbafter - dbbefore)) \
    -v client="$wrk_ticks" -v tck="$CLK_TCK" '
    BEGIN {
      n = split(line, kv, " ")
      for (i = 2; i <= n; i++) { split(kv[i], p, "="); f[p[1]] = p[2] }
      req = f["requests"] > 0 ? f["requests"] : 1
      printf "%s server_cpu_us=%.1f db_cpu_us=%.1f wrk_cpu_us=%.1f\n", line,
             server * 1e6 / tck / req, db * 1e6 / tck / req, client * 1e6 / tck / req
    }')
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

describe() {  # name result
  awk -v name="$1" -v req="$(field requests "$2")" -v dur="$(field duration_us "$2")" \
    -v p50="$(field p50_us "$2")" -v p99="$(field p99_us "$2")" \
    -v errs="$(($(field err_status "$2") + $(field err_connect "$2") + $(field err_read "$2") \
      + $(field err_write "$2") + $(field err_timeout "$2")))" \
    -v scpu="$(field server_cpu_us "$2")" -v dcpu="$(field db_cpu_us "$2")" \
    -v wcpu="$(field wrk_cpu_us "$2")" '
    BEGIN {
      printf "  %-8s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d  cpu/request: server %.1f us",
             name, req / (dur / 1e6), p50 / 1000, p99 / 1000, errs, scpu
      if (name == "berth-pg") printf ", postgres %.1f us", dcpu
      printf ", wrk %.1f us\n", wcpu
    }'
}

echo "warm-up ($WARMUP each)"
for name in "${SERVERS[@]}"; do
  run_wrk "$name" "$WARMUP"
  describe "$name" "$RESULT"
done

declare -a BERTH_RPS BERTH_P50 BERTH_P99 NGINX_RPS NGINX_P50 NGINX_P99 PG_RPS PG_P50 PG_P99
declare -a PG_CPU PG_DB_CPU SQLITE_CPU
ERRORS=0
for round in $(seq "$ROUNDS"); do
  # The order rotates every round, so no server always runs first or after the same one.
  order=()
  for i in "${!SERVERS[@]}"; do order+=("${SERVERS[$(((i + round - 1) % ${#SERVERS[@]}))]}"); done
  echo "round $round/$ROUNDS (${order[*]}; $DURATION each)"
  for name in "${order[@]}"; do
    run_wrk "$name" "$DURATION"
    result=$RESULT
    describe "$name" "$result"
    rps=$(awk -v r="$(field requests "$result")" -v d="$(field duration_us "$result")" \
      'BEGIN { printf "%.1f", r / (d / 1e6) }')
    errs=$(($(field err_status "$result") + $(field err_connect "$result") + \
      $(field err_read "$result") + $(field err_write "$result") + $(field err_timeout "$result")))
    ERRORS=$((ERRORS + errs))
    case $name in
      berth)
        BERTH_RPS+=("$rps"); BERTH_P50+=("$(field p50_us "$result")"); BERTH_P99+=("$(field p99_us "$result")")
        SQLITE_CPU+=("$(field server_cpu_us "$result")") ;;
      berth-pg)
        PG_RPS+=("$rps"); PG_P50+=("$(field p50_us "$result")"); PG_P99+=("$(field p99_us "$result")")
        PG_CPU+=("$(field server_cpu_us "$result")"); PG_DB_CPU+=("$(field db_cpu_us "$result")") ;;
      nginx)
        NGINX_RPS+=("$rps"); NGINX_P50+=("$(field p50_us "$result")"); NGINX_P99+=("$(field p99_us "$result")") ;;
    esac
  done
done
LIGHT_SUMMARY=""
if ((LIGHT_CONNECTIONS > 0)); then
  echo "light load (wrk -t1 -c$LIGHT_CONNECTIONS -d$DURATION; not part of the verdict)"
  for name in "${SERVERS[@]}"; do
    run_wrk "$name" "$DURATION" 1 "$LIGHT_CONNECTIONS"
    line=$(describe "$name" "$RESULT")
    echo "$line"
    LIGHT_SUMMARY+="$line"$'\n'
  done
fi
kill -0 "$BERTH_PID" 2>/dev/null || die "berth exited during the run: $(tail -5 "$WORK/berth.err")"
if ((POSTGRES)); then
  kill -0 "$BERTH_PG_PID" 2>/dev/null ||
    die "berth on PostgreSQL exited during the run: $(tail -5 "$WORK/berth-pg.err")"
fi

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
best_max() { printf '%s\n' "$@" | sort -g | tail -1; }
best_min() { printf '%s\n' "$@" | sort -g | head -1; }

B_RPS=$(median "${BERTH_RPS[@]}"); B_P50=$(median "${BERTH_P50[@]}"); B_P99=$(median "${BERTH_P99[@]}")
N_RPS=$(median "${NGINX_RPS[@]}"); N_P50=$(median "${NGINX_P50[@]}"); N_P99=$(median "${NGINX_P99[@]}")
BB_RPS=$(best_max "${BERTH_RPS[@]}"); BB_P99=$(best_min "${BERTH_P99[@]}")
NB_RPS=$(best_max "${NGINX_RPS[@]}"); NB_P99=$(best_min "${NGINX_P99[@]}")
# berth/nginx of each round: the two runs of a round are adjacent in time, so they saw similar
# background load.
ROUND_RATIOS=""
for i in "${!BERTH_RPS[@]}"; do
  ROUND_RATIOS+=$(awk -v b="${BERTH_RPS[$i]}" -v n="${NGINX_RPS[$i]}" 'BEGIN { printf " %.2f", b / n }')
done

echo
echo "== summary: $RECORDS records, ${BODY_BYTES}-byte config, wrk -t$THREADS -c$CONNECTIONS -d$DURATION," \
  "median (best) of $ROUNDS rounds, seeding ${SEED_SECONDS} s$( ((POSTGRES)) &&
    echo ", copy to PostgreSQL ${COPY_SECONDS} s")"
awk -v brps="$B_RPS" -v bp50="$B_P50" -v bp99="$B_P99" -v nrps="$N_RPS" -v np50="$N_P50" \
  -v np99="$N_P99" -v bbrps="$BB_RPS" -v bbp99="$BB_P99" -v nbrps="$NB_RPS" -v nbp99="$NB_P99" \
  -v goal_ratio="$GOAL_RATIO" -v goal_p99="$GOAL_P99_MS" -v errors="$ERRORS" \
  -v round_ratios="$ROUND_RATIOS" '
  BEGIN {
    printf "  %-22s %22s %10s %20s\n", "server", "requests/s", "p50 ms", "p99 ms"
    printf "  %-22s %10.0f (%9.0f) %10.2f %9.2f (%8.2f)\n", "berth (internal API)", brps, bbrps,
           bp50 / 1000, bp99 / 1000, bbp99 / 1000
    printf "  %-22s %10.0f (%9.0f) %10.2f %9.2f (%8.2f)\n", "nginx (static file)", nrps, nbrps,
           np50 / 1000, np99 / 1000, nbp99 / 1000
    ratio = brps / nrps
    printf "  berth/nginx rate ratio: %.2f (of the medians; per round:%s)\n", ratio, round_ratios
    printf "  goal: rate ratio >= %.2f: %s (%.2f)\n", goal_ratio, (ratio >= goal_ratio) ? "PASS" : "FAIL", ratio
    printf "  goal: berth p99 < %d ms: %s (%.2f ms)\n", goal_p99, (bp99 / 1000 < goal_p99) ? "PASS" : "FAIL", bp99 / 1000
    if (errors > 0) printf "  WARNING: %d socket errors or non-2xx responses during the measured runs\n", errors
  }'
if ((POSTGRES)); then
  # PostgreSQL/SQLite of each round: the two runs of a round are close in time.
  PG_ROUND_RATIOS=""
  for i in "${!PG_RPS[@]}"; do
    PG_ROUND_RATIOS+=$(awk -v p="${PG_RPS[$i]}" -v s="${BERTH_RPS[$i]}" 'BEGIN { printf " %.2f", p / s }')
  done
  # shellcheck disable=SC2086  # the per-round ratios, one word each
  PG_RATIO=$(median $PG_ROUND_RATIOS)
  awk -v prps="$(median "${PG_RPS[@]}")" -v pbrps="$(best_max "${PG_RPS[@]}")" \
    -v pp50="$(median "${PG_P50[@]}")" -v pp99="$(median "${PG_P99[@]}")" \
    -v pbp99="$(best_min "${PG_P99[@]}")" -v brps="$B_RPS" -v ratio="$PG_RATIO" \
    -v rounds="$PG_ROUND_RATIOS" -v goal="$GOAL_PG_RATIO" \
    -v pcpu="$(median "${PG_CPU[@]}")" -v dcpu="$(median "${PG_DB_CPU[@]}")" \
    -v scpu="$(median "${SQLITE_CPU[@]}")" '
    BEGIN {
      printf "  %-22s %10.0f (%9.0f) %10.2f %9.2f (%8.2f)\n", "berth on PostgreSQL", prps, pbrps,
             pp50 / 1000, pp99 / 1000, pbp99 / 1000
      printf "  PostgreSQL/SQLite rate ratio: %.2f (median of the rounds:%s; of the medians %.2f)\n",
             ratio, rounds, prps / brps
      printf "  cpu/request, medians: berth on SQLite %.1f us; berth on PostgreSQL %.1f us + postgres %.1f us\n",
             scpu, pcpu, dcpu
      printf "  goal: PostgreSQL rate >= %.2f x SQLite (within 1.5x): %s (%.2f)\n", goal,
             (ratio >= goal) ? "PASS" : "FAIL", ratio
    }'
fi
if [[ -n $LIGHT_SUMMARY ]]; then
  echo "  at light load (wrk -t1 -c$LIGHT_CONNECTIONS):"
  printf '%s' "$LIGHT_SUMMARY"
fi
