# shellcheck shell=bash disable=SC2034  # sourced: the variables it sets are for its callers
# Helpers shared by the shell benchmarks (bench/internal_endpoint.sh, bench/proxy/run.sh).
# Source it; it defines functions and CLK_TCK, and starts nothing.

# Sends signal $2 to process $1, waits up to 10 s for it to end, then SIGKILLs it.
stop_pid() {
  local pid=$1 sig=$2
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# A port nothing listens on, below the usual ephemeral range (32768+) that wrk's and the
# proxies' own connections use.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 10000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# Waits up to $2 seconds for URL $1 to answer 200; fails early when process $3 (if given) died.
wait_http_ok() {
  local url=$1 timeout=$2 pid=${3:-}
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    [[ -z $pid ]] || kill -0 "$pid" 2>/dev/null || return 1
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true) == 200 ]] && return 0
    sleep 0.2
  done
  return 1
}

# 32 random bytes in hex: an encryption key, or the body of a token.
hex32() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
# CPU time (user + system, in clock ticks) of process $1, or of this shell's waited-for children.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
children_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; }
CLK_TCK=$(getconf CLK_TCK)

# Where temporary directories go: BENCH_TMPDIR, else /dev/shm when writable, else TMPDIR or /tmp.
bench_tmpdir() {
  if [[ -n ${BENCH_TMPDIR:-} ]]; then
    echo "$BENCH_TMPDIR"
  elif [[ -d /dev/shm && -w /dev/shm ]]; then
    echo /dev/shm
  else
    echo "${TMPDIR:-/tmp}"
  fi
}

# Prints the start of a benchmark's nginx.conf, up to and inside `http {`: as root when run as
# root; pid, logs and temp files under $1 (nginx-light's default paths are not ours to write);
# $2 worker processes; $3 connections and open files per worker; no access log; keep-alive
# connections that last the whole run. The caller appends its own http settings, its servers
# and the closing brace.
nginx_conf_head() {
  local dir=$1 workers=$2 connections=$3
  if [[ $(id -u) == 0 ]]; then echo "user root;"; fi
  cat <<EOF
worker_processes $workers;
worker_rlimit_nofile $connections;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections $connections; }
http {
  access_log off;
  keepalive_timeout 75s;
  keepalive_requests 100000000;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
EOF
}

# Starts $NGINX in the background on the config $1/nginx.conf (logs in $1/logs), sets NGINX_PID,
# and waits up to 20 s for URL $2 to answer 200. Call it in the script's shell, not in $(…), so
# that NGINX_PID reaches the caller's cleanup.
start_nginx() {
  "$NGINX" -p "$1" -c "$1/nginx.conf" -e "$1/logs/error.log" >"$1/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  wait_http_ok "$2" 20 "$NGINX_PID"
}

# ---- a throwaway PostgreSQL cluster -------------------------------------------------------------
# pg_start DIR: initdb and start a PostgreSQL server in DIR (made by the caller, removed by it
# after pg_stop), listening on 127.0.0.1 only, on a free port, its socket in DIR. Sets PG_PID
# (the postmaster; stop it with pg_stop), PG_PORT, PG_PASSWORD and PG_URL
# (postgres://berth:<password>@127.0.0.1:<port>, no database): the role "berth" is the cluster's
# superuser and logs in with its password over TCP. As root, the server runs as the OS user
# postgres (it refuses root) and DIR is handed to that user. PostgreSQL's default settings but
# max_connections (PG_MAX_CONNECTIONS, 200), plus PG_OPTIONS (e.g. "-c synchronous_commit=off").
# Call it in the script's shell, not in $(…), so that PG_PID reaches the caller's cleanup.
# Returns 1, with the reason on stderr, when the server does not come up.
PG_PID=""
pg_bin() {
  if [[ -n ${PG_BIN:-} ]]; then echo "$PG_BIN"; return; fi
  local newest
  newest=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null |
    sort -V | tail -1)
  [[ -n $newest ]] && dirname "$newest"
}
pg_start() {
  local dir=$1 bin password as=()
  bin=$(pg_bin) || true
  [[ -n $bin && -x $bin/initdb ]] || {
    echo "no PostgreSQL server under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql; or set PG_BIN)" >&2
    return 1
  }
  password=$(hex32 | head -c 24)
  echo "$password" >"$dir/pwfile"
  if [[ $(id -u) == 0 ]]; then
    chown -R postgres: "$dir"
    as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U berth --pwfile="$dir/pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync --no-instructions >"$dir/initdb.log" 2>&1 || {
    echo "initdb failed: $(tail -5 "$dir/initdb.log")" >&2
    return 1
  }
  rm -f "$dir/pwfile"
  local attempt
  for attempt in 1 2 3; do
    PG_PORT=$(free_port) || return 1
    # shellcheck disable=SC2086  # PG_OPTIONS is a list of server options
    "${as[@]}" "$bin/postgres" -D "$dir/data" -p "$PG_PORT" -k "$dir" \
      -c listen_addresses=127.0.0.1 -c max_connections="${PG_MAX_CONNECTIONS:-200}" \
      ${PG_OPTIONS:-} >>"$dir/server.log" 2>&1 &
    PG_PID=$!
    local deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)) && kill -0 "$PG_PID" 2>/dev/null; do
      if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
        PG_PASSWORD=$password
        PG_URL=postgres://berth:$password@127.0.0.1:$PG_PORT
        return 0
      fi
      sleep 0.1
    done
    stop_pid "$PG_PID" QUIT
    PG_PID=""
    echo "postgres did not start (attempt $attempt): $(tail -3 "$dir/server.log")" >&2
  done
  return 1
}
# pg_sql DATABASE SQL: runs SQL on the cluster pg_start made, as berth, over TCP.
pg_sql() {
  PGPASSWORD=$PG_PASSWORD psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U berth \
    -d "$1" -c "$2"
}
# pg_stop: fast shutdown (sessions are disconnected) of the cluster pg_start made; SIGKILL after 10 s.
pg_stop() {
  stop_pid "$PG_PID" INT
  PG_PID=""
}
# pg_pids: the postmaster and its children (backends, background workers), for CPU accounting.
pg_pids() {
  [[ -n $PG_PID ]] || return 0
  echo "$PG_PID $(ps -o pid= --ppid "$PG_PID" 2>/dev/null)"
}
