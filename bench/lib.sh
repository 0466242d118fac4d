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
