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
