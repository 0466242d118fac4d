#!/usr/bin/env bash
# Many warm chats over several replicas on one PostgreSQL database (issue 12; bench/README.md,
# "Several replicas on PostgreSQL"):
#   1. a throwaway PostgreSQL cluster, the agent network, nginx on its gateway as the shared
#      MOSAIC_API_URL, and REPLICAS `berth serve` on the one database (bench/replicas/common.sh);
#   2. USERS users, and their agents started (warmed) through the replicas in turn, START_PARALLEL
#      starts at once; the bench upstream (bench_sse_upstream) is the agent image;
#   3. a chat of a user through every replica but the one that started its agent (it must reach
#      that same agent: no replica recreates another's container);
#   4. a warm-up, then ROUNDS rounds, each `wrk -c$CHATS` of streamed chats round-robin over the
#      users, the wrk threads spread over the replicas ("spread"), and the same load on replica 1
#      alone ("one", ONE_REPLICA=1), in alternating order: completed chats per second, p50/p99,
#      wrk's errors and berth's refusals by status (from the replicas' /metrics), where the
#      requests went, CPU per chat of the replicas and of PostgreSQL;
#   5. checks that every agent is still the container it was after the warm-up.
# Everything it starts is stopped and everything it made is removed on exit, pass or fail (the
# agent image stays, as with bench/proxy/run.sh). Builds nothing: expects berth and
# bench_sse_upstream in BUILD_DIR. Exits 2 on setup errors, 1 when a check failed or a replica
# died during the load.
#
# Settings (environment):
#   REPLICAS (3)  USERS (100)  START_PARALLEL (6)
#   CHATS (1002: wrk connections, a multiple of THREADS)  THREADS (3: a multiple of REPLICAS)
#   DURATION (20s)  WARMUP (5s)  ROUNDS (3)  ONE_REPLICA (1: also the load on one replica)
#   CHUNKS (20) DELAY_MS (0)   events per chat and the pause between them (0: the chat is one
#                              write; 50: a 1-s chat, so CHATS chats are open at once)
#   PROXY_IMAGE, BUILD_DIR, BENCH_TMPDIR, DOCKER_HOST
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
USERS=${USERS:-100}
START_PARALLEL=${START_PARALLEL:-6}
CHATS=${CHATS:-1002}
THREADS=${THREADS:-3}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-5s}
ROUNDS=${ROUNDS:-3}
ONE_REPLICA=${ONE_REPLICA:-1}
CHUNKS=${CHUNKS:-20}
DELAY_MS=${DELAY_MS:-0}
LUA_SCRIPT=$SCRIPT_DIR/fleet_chat.lua

die() {
  echo "replicas/fleet.sh: $*" >&2
  exit 2
}
say() { echo "$*"; }
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/../lib.sh"
# shellcheck source=bench/replicas/common.sh
source "$SCRIPT_DIR/common.sh"

((THREADS % REPLICAS == 0)) || die "THREADS ($THREADS) must be a multiple of REPLICAS ($REPLICAS)"
((CHATS % THREADS == 0)) || die "CHATS ($CHATS) must be a multiple of THREADS ($THREADS)"
[[ -r $LUA_SCRIPT ]] || die "missing $LUA_SCRIPT"

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local status=$?
  trap - INT TERM
  replicas_cleanup
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

replicas_init
replicas_image
say "== $REPLICAS replicas on PostgreSQL, $USERS users, $CHATS chats at once," \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ), run $RUN_ID"
say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), commit" \
  "$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"

# ---- 1. database, network, front, replicas ------------------------------------------------------
replicas_database
replicas_network_and_front
# berth bounds a user's chats per replica (32 by default); round-robin over USERS users puts
# about CHATS / USERS of a user's chats in flight at once, with bursts above that on a single
# replica: lift the bound, so the rates count chats, not refusals (which are reported anyway).
for ((i = 1; i <= REPLICAS; i++)); do
  start_replica "$i" BERTH_LOG_LEVEL=warn BERTH_CHAT_MAX_PER_USER="$CHATS"
done
for ((i = 1; i <= REPLICAS; i++)); do wait_replica_ready "$i"; done
INSTANCE_ID=$(pg_sql berth "SELECT value FROM berth_meta WHERE key = 'instance_id'") ||
  die "no instance id in the database"
say "PostgreSQL $("$(pg_bin)/postgres" -V | awk '{print $3}') on 127.0.0.1:$PG_PORT;" \
  "replicas on 127.0.0.1:$(IFS=,; echo "${REPLICA_PORT[*]}"); agents reach $API_URL (nginx)"
code=$(curl -s -o /dev/null -w '%{http_code}' "${API_URL%/api}/api/internal/agent-config/none" \
  -H 'Authorization: Bearer bc_none')
[[ $code == 401 ]] || die "the front does not reach the replicas' internal API (answered $code)"

# ---- 2. users and their agents -------------------------------------------------------------------
USERS_FILE=$WORK/users.txt
: >"$USERS_FILE"
for ((u = 1; u <= USERS; u++)); do
  create_user $(((u - 1) % REPLICAS + 1)) "bench-$u" >>"$USERS_FILE" ||
    die "creating user $u failed"
done
say "warming $USERS agents, user k through replica ((k - 1) mod $REPLICAS) + 1," \
  "$START_PARALLEL starts at once"
warm_start=$EPOCHREALTIME
u=0
START_PIDS=()  # only these: a bare `wait` would wait for the replicas, nginx and PostgreSQL too
while read -r _ token; do
  u=$((u + 1))
  if ((${#START_PIDS[@]} >= START_PARALLEL)); then
    wait -n "${START_PIDS[@]}" || true
    running=()
    for p in "${START_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && running+=("$p"); done
    START_PIDS=("${running[@]}")
  fi
  { echo "$u $(start_agent $(((u - 1) % REPLICAS + 1)) "$token")" >>"$WORK/starts.txt"; } &
  START_PIDS+=($!)
done <"$USERS_FILE"
((${#START_PIDS[@]} == 0)) || wait "${START_PIDS[@]}" || true
WARM_SECONDS=$(awk -v s="$warm_start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }')
failed=$(awk '$2 != 200' "$WORK/starts.txt" | wc -l)
((failed == 0)) || die "$failed agent starts failed: $(awk '$2 != 200' "$WORK/starts.txt" | head -5 |
  tr '\n' ' ')"
agent_containers >"$WORK/agents-before.txt"
AGENTS=$(wc -l <"$WORK/agents-before.txt")
((AGENTS == USERS)) || die "$AGENTS agent containers for $USERS users"
say "  $USERS agents started in $WARM_SECONDS s ($(awk -v n="$USERS" -v s="$WARM_SECONDS" \
  'BEGIN { printf "%.1f", n / s }') per second)"

# ---- 3. a user's chat through the other replicas -------------------------------------------------
chat() {  # replica token: prints the HTTP status and the [DONE] count
  curl -s -o "$WORK/chat.body" -w '%{http_code}' --max-time 30 -XPOST \
    "$(replica_url "$1")/v1/chat/completions" -H "Authorization: Bearer $2" \
    -H 'Content-Type: application/json' \
    -d '{"model":"openclaw","stream":true,"bench":{"chunks":5,"delayMs":0},"messages":[{"role":"user","content":"hi"}]}'
  echo " $(grep -c '^data: \[DONE\]$' "$WORK/chat.body" || true)"
}
read -r _ first_token <"$USERS_FILE"  # user 1, started through replica 1
for ((i = 1; i <= REPLICAS; i++)); do
  result=$(chat "$i" "$first_token")
  [[ $result == "200 1" ]] || die "a chat of user 1 through replica $i: $result"
done
say "checks: a chat of user 1 (agent started through replica 1) through each replica: 200, [DONE]"

# ---- 4. load -------------------------------------------------------------------------------------
replica_addresses() {  # mode: spread | one
  local list="" i
  if [[ $1 == one ]]; then echo "127.0.0.1:${REPLICA_PORT[1]}"; return; fi
  for ((i = 1; i <= REPLICAS; i++)); do list+="${list:+,}127.0.0.1:${REPLICA_PORT[i]}"; done
  echo "$list"
}
# The replicas' answers to chats so far, summed over the replicas from their /metrics
# (berth_http_requests_total by status): "<status>=<count>" per line.
chat_statuses() {
  local i
  for ((i = 1; i <= REPLICAS; i++)); do
    curl -s --max-time 5 "$(replica_url "$i")/metrics" |
      sed -n 's/^berth_http_requests_total{.*route="\/v1\/chat\/completions".*status="\([0-9]*\)".*} \([0-9.e+]*\)$/\1 \2/p'
  done | awk '{ n[$1] += $2 } END { for (s in n) printf "%s=%d\n", s, n[s] }' | sort
}
# The refusals between two chat_statuses outputs: "429:12,503:3", or "none".
refusals() {  # before after
  awk -F= 'NR == FNR { b[$1] = $2; next } $1 != 200 && $2 - b[$1] > 0 {
      out = out (out == "" ? "" : ",") $1 ":" $2 - b[$1] }
    END { print (out == "" ? "none" : out) }' <(echo "$1") <(echo "$2")
}
ticks_of() { local t=0 p; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
RESULT=""
run_wrk() {  # mode duration: sets RESULT
  local mode=$1 duration=$2 before dbbefore wrkbefore line spread statuses
  statuses=$(chat_statuses)
  before=$(ticks_of "${REPLICA_PID[@]}")
  # shellcheck disable=SC2046  # one pid per word
  dbbefore=$(ticks_of $(pg_pids))
  wrkbefore=$(children_ticks)
  FLEET_REPLICAS=$(replica_addresses "$mode") wrk -t"$THREADS" -c"$CHATS" -d"$duration" \
    --timeout 30s --latency -s "$LUA_SCRIPT" "http://127.0.0.1:${REPLICA_PORT[1]}" -- \
    "$USERS_FILE" "$CHUNKS" "$DELAY_MS" >"$WORK/wrk.out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || die "wrk failed: $(tail -5 "$WORK/wrk.out")"
  WRK_PID=""
  line=$(grep '^BENCH_RESULT ' "$WORK/wrk.out") || die "no result from wrk: $(cat "$WORK/wrk.out")"
  spread=$(sed -n 's/^BENCH_REPLICAS //p' "$WORK/wrk.out" | tr ' ' '/')
  local refused
  refused=$(refusals "$statuses" "$(chat_statuses)")
  # shellcheck disable=SC2046
  RESULT=$(awk -v line="$line" -v berth=$(($(ticks_of "${REPLICA_PID[@]}") - before)) \
    -v db=$(($(ticks_of $(pg_pids)) - dbbefore)) -v client=$(($(children_ticks) - wrkbefore)) \
    -v tck="$CLK_TCK" -v spread="$spread" -v refused="$refused" '
    BEGIN {
      n = split(line, kv, " ")
      for (i = 2; i <= n; i++) { split(kv[i], p, "="); f[p[1]] = p[2] }
      req = f["requests"] > 0 ? f["requests"] : 1
      errors = f["err_connect"] + f["err_read"] + f["err_write"] + f["err_status"] + f["err_timeout"]
      # wrk counts non-2xx answers among its requests: the rate is of completed chats.
      printf "%s rps=%.1f errors=%d berth_cpu_us=%.1f db_cpu_us=%.1f wrk_cpu_us=%.1f spread=%s refused=%s\n",
             line, (f["requests"] - f["err_status"]) / (f["duration_us"] / 1e6), errors,
             berth * 1e6 / tck / req,
             db * 1e6 / tck / req, client * 1e6 / tck / req, spread, refused
    }')
}
describe() {  # label result
  awk -v name="$1" -v rps="$(field rps "$2")" -v p50="$(field p50_us "$2")" \
    -v p99="$(field p99_us "$2")" -v errs="$(field errors "$2")" \
    -v detail="connect $(field err_connect "$2"), read $(field err_read "$2"), status $(field err_status "$2") (berth: $(field refused "$2")), timeout $(field err_timeout "$2")" \
    -v bcpu="$(field berth_cpu_us "$2")" -v dcpu="$(field db_cpu_us "$2")" \
    -v wcpu="$(field wrk_cpu_us "$2")" -v spread="$(field spread "$2")" '
    BEGIN {
      printf "  %-6s %7.0f chats/s  p50 %8.2f ms  p99 %8.2f ms  errors %d (%s)  requests per replica %s  cpu/chat: berth %.1f us, postgres %.1f us, wrk %.1f us\n",
             name, rps, p50 / 1000, p99 / 1000, errs, detail, spread, bcpu, dcpu, wcpu
    }'
}

MODES=(spread)
((ONE_REPLICA)) && MODES+=(one)
say "load: wrk -t$THREADS -c$CHATS -d$DURATION, $CHUNKS events per chat, ${DELAY_MS} ms apart;" \
  "spread = wrk threads over the $REPLICAS replicas, one = all on replica 1"
say "warm-up ($WARMUP each)"
for mode in "${MODES[@]}"; do
  run_wrk "$mode" "$WARMUP"
  describe "$mode" "$RESULT"
done
declare -A RPS P50 P99 ERRS BCPU DCPU
# shellcheck disable=SC2034  # read through the name reference of values()
record() {  # key result
  RPS[$1]=$(field rps "$2")
  P50[$1]=$(field p50_us "$2")
  P99[$1]=$(field p99_us "$2")
  ERRS[$1]=$(field errors "$2")
  BCPU[$1]=$(field berth_cpu_us "$2")
  DCPU[$1]=$(field db_cpu_us "$2")
}
for round in $(seq "$ROUNDS"); do
  order=("${MODES[@]}")
  ((round % 2 == 0 && ${#MODES[@]} == 2)) && order=(one spread)
  say "round $round/$ROUNDS (${order[*]}; $DURATION each)"
  for mode in "${order[@]}"; do
    run_wrk "$mode" "$DURATION"
    describe "$mode" "$RESULT"
    record "$mode,$round" "$RESULT"
  done
done

# ---- 5. checks after the load --------------------------------------------------------------------
STATUS=0
for ((i = 1; i <= REPLICAS; i++)); do
  kill -0 "${REPLICA_PID[i]}" 2>/dev/null || {
    say "  FAILED: replica $i exited during the load: $(tail -3 "$WORK/replica-$i.log")"
    STATUS=1
  }
done
agent_containers >"$WORK/agents-after.txt"
if cmp -s "$WORK/agents-before.txt" "$WORK/agents-after.txt"; then
  say "checks: the same $AGENTS agent containers after the load (none recreated or added)"
else
  say "  FAILED: the agents changed during the load: $(diff "$WORK/agents-before.txt" \
    "$WORK/agents-after.txt" | grep -c '^[<>]') lines differ"
  STATUS=1
fi

# ---- summary -------------------------------------------------------------------------------------
median() { awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
values() { local -n arr=$1; local r; for r in $(seq "$ROUNDS"); do echo "${arr[$2,$r]}"; done; }
say
say "== summary: $REPLICAS replicas, one PostgreSQL, $USERS users' warm agents," \
  "wrk -t$THREADS -c$CHATS -d$DURATION, median of $ROUNDS rounds (per round in brackets)"
for mode in "${MODES[@]}"; do
  total_errors=0
  for r in $(seq "$ROUNDS"); do total_errors=$((total_errors + ${ERRS[$mode,$r]})); done
  awk -v name="$mode" -v rps="$(values RPS "$mode" | median)" \
    -v rounds="$(values RPS "$mode" | awk '{ printf "%s%.0f", (NR > 1 ? " · " : ""), $1 }')" \
    -v p50="$(values P50 "$mode" | median)" -v p99="$(values P99 "$mode" | median)" \
    -v errs="$total_errors" -v bcpu="$(values BCPU "$mode" | median)" \
    -v dcpu="$(values DCPU "$mode" | median)" '
    BEGIN {
      printf "  %-6s %7.0f chats/s (%s)  p50 %.2f ms  p99 %.2f ms  errors %d  cpu/chat berth %.1f us + postgres %.1f us\n",
             name, rps, rounds, p50 / 1000, p99 / 1000, errs, bcpu, dcpu
    }'
done
if ((ONE_REPLICA)); then
  ratios=$(for r in $(seq "$ROUNDS"); do
    awk -v a="${RPS[spread,$r]}" -v b="${RPS[one,$r]}" 'BEGIN { printf "%.2f\n", a / b }'
  done)
  say "  spread/one rate ratio: $(median <<<"$ratios") (rounds: $(tr '\n' ' ' <<<"$ratios"))"
fi
say "  warm-up: $USERS agents in $WARM_SECONDS s"
exit "$STATUS"
