#!/usr/bin/env bash
# How fast the replicas take over from a dead one (issue 12; bench/README.md, "Several replicas
# on PostgreSQL"), with a short lease (BERTH_LEASE_MS = LEASE_MS, 2000):
#   - leader failover: kill -9 the replica that leads the fleet (its log says "leads the fleet"),
#     time until another replica logs that it leads; the killed one is started again (it must
#     not lead: the lease is taken) before the next round;
#   - start takeover: a replica starts a new user's agent; as soon as the engine reports the
#     agent's container created (docker events), the replica is killed with -9 and the same start is asked of another replica: time
#     from the kill until that start answers 200, and whether it adopted the container the dead
#     replica made. A start on a live replica, timed in the same run, is the reference.
# The setup is bench/replicas/common.sh's (PostgreSQL, the agent network, nginx as the shared
# MOSAIC_API_URL, REPLICAS replicas). Everything it starts is stopped and everything it made is
# removed on exit, pass or fail. Exits 2 on setup errors, 1 when a takeover did not happen.
#
# Settings (environment): LEASE_MS (2000), FAILOVER_ROUNDS (3), START_ROUNDS (3), REPLICAS (3),
# PROXY_IMAGE, BUILD_DIR, BENCH_TMPDIR, DOCKER_HOST
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
LEASE_MS=${LEASE_MS:-2000}
FAILOVER_ROUNDS=${FAILOVER_ROUNDS:-3}
START_ROUNDS=${START_ROUNDS:-3}

die() {
  echo "replicas/failover.sh: $*" >&2
  exit 2
}
say() { echo "$*"; }
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/../lib.sh"
# shellcheck source=bench/replicas/common.sh
source "$SCRIPT_DIR/common.sh"
((REPLICAS >= 2)) || die "a takeover needs REPLICAS >= 2"

START_CURL_PID=""
EVENTS_PID=""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local status=$?
  trap - INT TERM
  [[ -n $START_CURL_PID ]] && kill "$START_CURL_PID" 2>/dev/null
  [[ -n $EVENTS_PID ]] && kill "$EVENTS_PID" 2>/dev/null
  replicas_cleanup
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

replicas_init
replicas_image
say "== failover of $REPLICAS replicas on PostgreSQL, BERTH_LEASE_MS=$LEASE_MS," \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ), run $RUN_ID"
say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), commit" \
  "$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
replicas_database
replicas_network_and_front
# info: the leadership lines are logged at info.
REPLICA_ENV=(BERTH_LEASE_MS="$LEASE_MS" BERTH_LOG_LEVEL=info)
for ((i = 1; i <= REPLICAS; i++)); do start_replica "$i" "${REPLICA_ENV[@]}"; done
for ((i = 1; i <= REPLICAS; i++)); do wait_replica_ready "$i"; done
INSTANCE_ID=$(pg_sql berth "SELECT value FROM berth_meta WHERE key = 'instance_id'") ||
  die "no instance id in the database"

# The lines of src/lifecycle/lease_leadership.cpp: "this replica (<id>) leads the fleet (lease
# epoch N)" when it takes the lead, "this replica no longer leads the fleet (…)" when it loses it.
leads_count() { grep -c 'this replica (.*) leads the fleet' "$WORK/replica-$1.log" || true; }
lost_count() { grep -c 'no longer leads the fleet' "$WORK/replica-$1.log" || true; }
# The live replica that leads now: it took the lead more often than it lost it.
leader() {
  local i
  for ((i = 1; i <= REPLICAS; i++)); do
    kill -0 "${REPLICA_PID[i]}" 2>/dev/null || continue
    (($(leads_count "$i") > $(lost_count "$i"))) && { echo "$i"; return 0; }
  done
  return 1
}
wait_for_leader() {  # timeout seconds
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    leader && return 0
    sleep 0.05
  done
  return 1
}
elapsed_ms() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.0f", (e - s) * 1000 }'; }

# ---- leader failover -----------------------------------------------------------------------------
wait_for_leader 30 >/dev/null || die "no replica leads 30 s after the start"
declare -a FAILOVER_MS
STATUS=0
for round in $(seq "$FAILOVER_ROUNDS"); do
  old=$(leader) || die "no leader before round $round"
  declare -A before=()
  for ((i = 1; i <= REPLICAS; i++)); do before[$i]=$(leads_count "$i"); done
  # A random point of the lease's period, as a crash would be.
  sleep "$(awk -v ms="$LEASE_MS" -v r="$RANDOM" 'BEGIN { printf "%.3f", ms / 1000 * r / 32768 }')"
  kill_start=$EPOCHREALTIME
  kill -KILL "${REPLICA_PID[old]}"
  wait "${REPLICA_PID[old]}" 2>/dev/null || true
  new=""
  deadline=$((SECONDS + 5 * LEASE_MS / 1000 + 5))
  while [[ -z $new ]] && ((SECONDS < deadline)); do
    for ((i = 1; i <= REPLICAS; i++)); do
      ((i == old)) && continue
      (($(leads_count "$i") > ${before[$i]})) && new=$i
    done
    [[ -n $new ]] || sleep 0.02
  done
  if [[ -z $new ]]; then
    say "  round $round: FAILED: no replica took the lead within $((deadline - SECONDS)) s"
    STATUS=1
  else
    ms=$(elapsed_ms "$kill_start" "$EPOCHREALTIME")
    FAILOVER_MS+=("$ms")
    say "  leader failover $round: replica $old killed (-9), replica $new leads after $ms ms"
  fi
  # A fresh log: the old one says the dead replica led.
  mv "$WORK/replica-$old.log" "$WORK/replica-$old.log.$round"
  start_replica "$old" "${REPLICA_ENV[@]}"
  wait_replica_ready "$old"
  sleep 1
  [[ $(leader) != "$old" ]] || { say "  FAILED: the restarted replica $old leads too"; STATUS=1; }
done

# ---- start takeover ------------------------------------------------------------------------------
# Times a start of the agent of the user of token $2 through replica $1: prints "<ms> <status>".
timed_start() {
  local s=$EPOCHREALTIME code
  code=$(start_agent "$1" "$2")
  echo "$(elapsed_ms "$s" "$EPOCHREALTIME") $code"
}
declare -a TAKEOVER_MS REFERENCE_MS
for round in $(seq "$START_ROUNDS"); do
  a=$(((round - 1) % REPLICAS + 1))
  b=$((a % REPLICAS + 1))
  # The reference: an uninterrupted start of a fresh user on replica b.
  read -r _ ref_token <<<"$(create_user "$b" "ref-$round")" || die "creating a user failed"
  read -r ref_ms ref_code <<<"$(timed_start "$b" "$ref_token")"
  [[ $ref_code == 200 ]] || die "the reference start answered $ref_code"
  REFERENCE_MS+=("$ref_ms")

  read -r uid token <<<"$(create_user "$a" "takeover-$round")" || die "creating a user failed"
  # The engine's create event of the user's container: the kill comes right after it, while
  # replica a has yet to start the container and see it ready.
  docker events --filter type=container --filter event=create --filter "label=berth.owner=$uid" \
    --format '{{.ID}}' >"$WORK/created" 2>/dev/null &
  EVENTS_PID=$!
  sleep 0.5  # the subscription is in place
  curl -s -o /dev/null -w '%{http_code}' --max-time 200 -XPOST \
    "$(replica_url "$a")/api/agent/start" -H "Authorization: Bearer $token" >"$WORK/first.code" &
  START_CURL_PID=$!
  deadline=$((SECONDS + 60))
  while [[ ! -s $WORK/created ]] && ((SECONDS < deadline)); do sleep 0.01; done
  kill_start=$EPOCHREALTIME
  kill -KILL "${REPLICA_PID[a]}"
  wait "${REPLICA_PID[a]}" 2>/dev/null || true
  container=$(head -1 "$WORK/created")
  stop_pid "$EVENTS_PID" TERM
  EVENTS_PID=""
  [[ -n $container ]] || die "replica $a made no container for its start within 60 s"
  state=$(docker inspect -f '{{.State.Status}}' "$container" 2>/dev/null || echo gone)
  wait "$START_CURL_PID" 2>/dev/null || true
  START_CURL_PID=""
  code=$(start_agent "$b" "$token")
  ms=$(elapsed_ms "$kill_start" "$EPOCHREALTIME")
  after=$(docker ps -q --no-trunc --filter "label=berth.owner=$uid" --filter status=running)
  adopted=no
  [[ $after == "$container" ]] && adopted=yes
  first=$(cat "$WORK/first.code")
  if [[ $first == 200 ]]; then
    say "  start takeover $round: not measured: replica $a had answered its start before the kill"
  elif [[ $code != 200 ]]; then
    say "  start takeover $round: FAILED: replica $b answered $code ${ms} ms after the kill"
    STATUS=1
  else
    TAKEOVER_MS+=("$ms")
    say "  start takeover $round: replica $a killed (-9) after the create event (container $state" \
      "when inspected after the kill);" \
      "replica $b's start answered 200 after $ms ms; the container adopted: $adopted" \
      "(an uninterrupted start: $ref_ms ms)"
  fi
  mv "$WORK/replica-$a.log" "$WORK/replica-$a.log.start-$round"
  start_replica "$a" "${REPLICA_ENV[@]}"
  wait_replica_ready "$a"
done

# ---- summary -------------------------------------------------------------------------------------
stats() {  # values...: "median (min–max)"
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "none"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.0f ms (%d–%d ms, %d rounds)", m, v[1], v[NR], NR }'
}
say
say "== summary: $REPLICAS replicas, BERTH_LEASE_MS=$LEASE_MS"
say "  leader failover (kill -9 → another replica leads): $(stats "${FAILOVER_MS[@]}")"
say "  start takeover (kill -9 mid-start → the start on another replica answers): $(stats "${TAKEOVER_MS[@]}")"
say "  an uninterrupted start, for reference: $(stats "${REFERENCE_MS[@]}")"
exit "$STATUS"
