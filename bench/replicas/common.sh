# shellcheck shell=bash
# Setup shared by bench/replicas/fleet.sh and bench/replicas/failover.sh (bench/README.md,
# "Several replicas on PostgreSQL"): one throwaway PostgreSQL cluster, an agent network of the
# run, nginx on that network's gateway as the one address agents reach berth at
# (MOSAIC_API_URL), and REPLICAS `berth serve` processes on one database behind it.
#
# Source it after bench/lib.sh and after defining die() and say(); call replicas_init first,
# and replicas_cleanup from the script's EXIT trap. It starts nothing by itself.
#
# Settings (environment): REPLICAS (3), PROXY_IMAGE (berth/bench-upstream:local: the bench
# upstream packaged as an agent image, built when missing and kept, as bench/proxy/run.sh does),
# BUILD_DIR, BENCH_TMPDIR, DOCKER_HOST.

REPLICAS=${REPLICAS:-3}
PROXY_IMAGE=${PROXY_IMAGE:-berth/bench-upstream:local}
BERTH=$BUILD_DIR/berth
UPSTREAM_BINARY=$BUILD_DIR/bench_sse_upstream

WORK=""
PG_DIR=""
NETWORK_ID=""
INSTANCE_ID=""   # the database's instance id: every agent of the run carries it as a label
NGINX_PID=""
WRK_PID=""
declare -a REPLICA_PID REPLICA_PORT

# Checks the tools, makes the temp dirs and the run's names. Sets WORK, RUN_ID, PREFIX, KEY,
# ADMIN_TOKEN, NGINX.
replicas_init() {
  [[ $REPLICAS =~ ^[1-9]$ ]] || die "REPLICAS must be 1 to 9"
  [[ -x $BERTH ]] || die "no berth binary at $BERTH (build it, or set BUILD_DIR)"
  [[ -x $UPSTREAM_BINARY ]] ||
    die "no bench_sse_upstream in $BUILD_DIR (configure with -DBERTH_BUILD_BENCH=ON and build it)"
  local tool
  for tool in wrk curl awk docker psql setpriv; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done
  NGINX=$(command -v nginx || true)
  [[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
  [[ -n $NGINX ]] || die "nginx is not installed (Debian: apt-get install nginx-light)"
  docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/start-dockerd.sh)"
  # 1,000 chats through 3 replicas: each holds a client and an upstream socket per chat.
  ulimit -n "$(ulimit -Hn)"
  local tmp
  tmp=$(bench_tmpdir)
  WORK=$(mktemp -d "$tmp/berth-bench-replicas.XXXXXX")
  PG_DIR=$(mktemp -d "$tmp/berth-bench-pg.XXXXXX")
  RUN_ID=$(date +%s)-$$
  PREFIX=berth-bench-replicas-$RUN_ID
  KEY=$(hex32)
  ADMIN_TOKEN=ba_$(hex32)
}

# Stops everything the run started and removes, by id, what it made on the engine: the agents
# and volumes labelled with the database's instance id (fresh, so no one else's), the run's
# network; then the temp dirs. Safe to call at any point of the setup.
replicas_cleanup() {
  set +e
  stop_pid "$WRK_PID" TERM
  local i
  for i in "${!REPLICA_PID[@]}"; do stop_pid "${REPLICA_PID[$i]}" TERM; done
  local workers=""
  [[ -n $NGINX_PID ]] && workers=$(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null)
  stop_pid "$NGINX_PID" QUIT
  local w
  for w in $workers; do kill -KILL "$w" 2>/dev/null; done
  [[ -z $INSTANCE_ID && -n $PG_PID ]] && INSTANCE_ID=$(pg_sql berth \
    "SELECT value FROM berth_meta WHERE key = 'instance_id'" 2>/dev/null)
  pg_stop
  local ids
  if [[ -n $INSTANCE_ID ]]; then
    ids=$(docker ps -aq --filter "label=berth.instance=$INSTANCE_ID")
    # shellcheck disable=SC2086  # one id per word
    [[ -n $ids ]] && docker rm -f $ids >/dev/null
    ids=$(docker volume ls -q --filter "label=berth.instance=$INSTANCE_ID")
    # shellcheck disable=SC2086
    [[ -n $ids ]] && docker volume rm $ids >/dev/null
  fi
  [[ -n $NETWORK_ID ]] && docker network rm "$NETWORK_ID" >/dev/null
  [[ -n $WORK ]] && rm -rf "$WORK"
  [[ -n $PG_DIR ]] && rm -rf "$PG_DIR"
}

# The agent image (the bench upstream: answers /readyz and streams chats), built when missing.
replicas_image() {
  if ! docker image inspect "$PROXY_IMAGE" >/dev/null 2>&1; then
    "$BERTH" image build test-agent --binary "$UPSTREAM_BINARY" --tag "$PROXY_IMAGE" \
      >/dev/null 2>"$WORK/image.err" || die "berth image build failed: $(tail -5 "$WORK/image.err")"
  fi
}

# The database: a PostgreSQL cluster of the run with an empty database "berth". Sets DATABASE_URL.
replicas_database() {
  pg_start "$PG_DIR" || die "PostgreSQL did not start"
  pg_sql postgres "CREATE DATABASE berth" || die "cannot create the database"
  DATABASE_URL="$PG_URL/berth?sslmode=disable"
}

# The agent network, made here (isolated, as berth makes it) so that its gateway is known before
# any replica starts; and nginx on that gateway, forwarding to every replica: the address
# agents fetch their config from. Sets NETWORK_ID, GATEWAY, API_URL (MOSAIC_API_URL) and
# REPLICA_PORT for every replica.
replicas_network_and_front() {
  NETWORK_ID=$(docker network create --label "berth.bench-run=$RUN_ID" \
    -o com.docker.network.bridge.enable_icc=false "$PREFIX") || die "cannot create the network"
  GATEWAY=$(docker network inspect -f '{{(index .IPAM.Config 0).Gateway}}' "$NETWORK_ID")
  [[ -n $GATEWAY ]] || die "the network $PREFIX has no gateway"
  local i port front_port
  for ((i = 1; i <= REPLICAS; i++)); do
    port=$(free_port) || die "no free port for replica $i"
    REPLICA_PORT[i]=$port
  done
  front_port=$(free_port) || die "no free port for the front"
  mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
  {
    nginx_conf_head "$WORK/nginx" 1 1024
    echo "  upstream replicas {"
    for ((i = 1; i <= REPLICAS; i++)); do echo "    server 127.0.0.1:${REPLICA_PORT[i]};"; done
    cat <<EOF
    keepalive 16;
  }
  server {
    listen $GATEWAY:$front_port;
    location / {
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
    }
  }
}
EOF
  } >"$WORK/nginx/nginx.conf"
  API_URL=http://$GATEWAY:$front_port/api
  "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" \
    >"$WORK/nginx/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  sleep 0.5
  kill -0 "$NGINX_PID" 2>/dev/null ||
    die "nginx (the front) did not start: $(tail -3 "$WORK/nginx/logs/error.log")"
}

# Starts replica $1 (again, after a kill: same port; its log appended to) with the extra
# environment given after it (NAME=VALUE...). Sets REPLICA_PID[$1]. Call it in the script's
# shell, not in $(…).
start_replica() {
  local i=$1
  shift
  mkdir -p "$WORK/data-$i"
  chmod 700 "$WORK/data-$i"
  # A clean environment: no BERTH_* setting of the caller's leaks in. No internal listener of
  # their own (three on one gateway would need three ports): agents reach the front.
  local env_list=(PATH="$PATH" BERTH_DATA_DIR="$WORK/data-$i" BERTH_DATABASE_URL="$DATABASE_URL"
    BERTH_ENCRYPTION_KEY="$KEY" BERTH_ADMIN_TOKEN="$ADMIN_TOKEN" OPENCLAW_IMAGE="$PROXY_IMAGE"
    OPENCLAW_NETWORK="$PREFIX" MOSAIC_API_URL="$API_URL" BERTH_INTERNAL_LISTEN=off
    BERTH_AGENT_CPUS="$(nproc)" BERTH_MAX_CONNECTIONS_PER_ADDRESS=0 "$@")
  [[ -n ${DOCKER_HOST:-} ]] && env_list+=(DOCKER_HOST="$DOCKER_HOST")
  env -i "${env_list[@]}" "$BERTH" serve --listen "127.0.0.1:${REPLICA_PORT[i]}" \
    >>"$WORK/replica-$i.log" 2>&1 &
  REPLICA_PID[i]=$!
}

# Waits for replica $1's /api/ready (store and engine answer).
wait_replica_ready() {
  wait_http_ok "http://127.0.0.1:${REPLICA_PORT[$1]}/api/ready" 90 "${REPLICA_PID[$1]}" ||
    die "replica $1 did not get ready: $(tail -5 "$WORK/replica-$1.log")"
}

replica_url() { echo "http://127.0.0.1:${REPLICA_PORT[$1]}"; }

# Creates user $2 through replica $1; prints "<user id> <token>".
create_user() {
  local created id token
  created=$(curl -s -XPOST "$(replica_url "$1")/api/admin/users" \
    -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$2\"}")
  id=$(sed -n 's/.*"user":{[^}]*"id":"\([^"]*\)".*/\1/p' <<<"$created")
  token=$(sed -n 's/.*"token":"\(bu_[^"]*\)".*/\1/p' <<<"$created")
  [[ -n $id && -n $token ]] || return 1
  echo "$id $token"
}

# POST /api/agent/start for the user of token $2 through replica $1, retrying a 429 (the
# replica's concurrent starts are bounded) after its Retry-After. Prints the final status.
start_agent() {
  local code retry
  for _ in $(seq 120); do
    code=$(curl -s -o /dev/null -D "$WORK/start-$BASHPID.h" -w '%{http_code}' --max-time 200 \
      -XPOST "$(replica_url "$1")/api/agent/start" -H "Authorization: Bearer $2")
    [[ $code == 429 ]] || break
    retry=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "$WORK/start-$BASHPID.h")
    sleep "${retry:-1}"
  done
  rm -f "$WORK/start-$BASHPID.h"
  echo "$code"
}

# The agents of the run: "<container id> <owner user id>" per line, sorted.
agent_containers() {
  docker ps -a --filter "label=berth.instance=$INSTANCE_ID" \
    --format '{{.ID}} {{.Label "berth.owner"}}' | sort
}
