#!/usr/bin/env bash
# What the metrics plugin costs, in one run, as one JSON line on stdout
# (progress on stderr):
#
#   bash bench/metrics.sh
#
# Two processes of a release build of mlx-manager (cargo build --release,
# into the shared $CARGO_TARGET_DIR, default $HOME/.cache/mlx-manager/target)
# serve at once on two free loopback ports, each on a surrealkv store in its
# own temp dir, with the default Argon2 parameters, login throttling off and
# the Hub offline, as in bench/run.sh. They differ in one setting: "on" has the
# metrics plugin enabled (MLX_MANAGER_PLUGINS__METRICS__ENABLED=true), "off"
# has it disabled (=false). Debian's wrk (installed by this script when
# missing: apt-get as root) drives one of them at a time, the other idle, in
# rounds that alternate which goes first (on off, off on, on off, ...), after
# a 1 s warm-up of each; every phase takes the requests wrk completed and the
# server's CPU time (utime + stime of /proc/<pid>/stat) over the phase.
# Summed over the rounds, per process:
#
#   health_rps_{on,off}                  GET /health
#   me_rps_{on,off}                      GET /api/auth/me with a login token
#   health_cpu_us_per_request_{on,off}   server CPU time / requests, /health
#   me_cpu_us_per_request_{on,off}       server CPU time / requests, /api/auth/me
#
# The ratios that the target is written in come with them (on / off; the
# target is me_cpu_on_vs_off <= 1.05): health_cpu_on_vs_off, me_cpu_on_vs_off;
# and the run's shape: rounds, seconds, connections. No figure is printed
# unless GET /metrics (token) on "on" answers 200 with http_requests_total in
# its body and GET /metrics on "off" answers 404.
# Environment: BENCH_SECONDS (each wrk phase, default 5), BENCH_ROUNDS (default
# 3), BENCH_CONNECTIONS (default 64), MLX_MANAGER_BIN (skip the build),
# CARGO_TARGET_DIR.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
seconds="${BENCH_SECONDS:-5}"
rounds="${BENCH_ROUNDS:-3}"
connections="${BENCH_CONNECTIONS:-64}"
log() { printf 'bench/metrics.sh: %s\n' "$*" >&2; }

# --- tools
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" != 0 ]; then log "wrk is missing; run as root once, or: sudo apt-get install wrk"; exit 1; fi
  log "installing wrk (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
for tool in curl python3 getconf; do
  command -v "$tool" >/dev/null || { log "$tool is missing"; exit 1; }
done
clk_tck="$(getconf CLK_TCK)"

# --- the release binary
if [ -n "${MLX_MANAGER_BIN:-}" ]; then
  bin="$MLX_MANAGER_BIN"
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mlx-manager/target}"
  log "building mlx-manager (cargo build --release)"
  build=(cargo build --release --quiet --bin mlx-manager)
  if command -v flock >/dev/null; then build=(flock --close /tmp/mlx-cargo.lock "${build[@]}"); fi
  (cd "$repo" && "${build[@]}")
  bin="$CARGO_TARGET_DIR/release/mlx-manager"
fi

# Per process ("on", "off"): its pid, base URL and login token.
declare -A pid=() base=() token=()
work="$(mktemp -d "${TMPDIR:-/tmp}/mlx-manager-bench.XXXXXX")"
stop_server() {
  local p="${pid[$1]:-}"
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  fi
  if [ -n "$p" ]; then wait "$p" 2>/dev/null || true; fi
  pid[$1]=""
}
cleanup() { stop_server on; stop_server off; rm -rf "$work"; }
trap cleanup EXIT
# Two distinct free ports (both sockets held open while the ports are chosen).
read -r port_on port_off <<<"$(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')"
base[on]="http://127.0.0.1:$port_on"
base[off]="http://127.0.0.1:$port_off"

# Start the server $1 ("on" or "off") on its port with extra settings (the
# rest); sets ${pid[$1]}. wait_ready waits for its /ready.
start_server() {
  local side="$1" dir="$work/$1" port
  shift
  port="${base[$side]##*:}"
  mkdir -p "$dir/data" "$dir/hub"
  (cd "$dir/data" && exec env -i PATH=/usr/bin:/bin HOME="$dir" \
    MLX_MANAGER_DATABASE__URL="surrealkv://$dir/db" \
    MLX_MANAGER_SERVER__PORT="$port" \
    MLX_MANAGER_PATHS__DATA_DIR="$dir/data" \
    MLX_MANAGER_PATHS__HF_CACHE="$dir/hub" \
    MLX_MANAGER_HUB__OFFLINE=true \
    MLX_MANAGER_PLUGINS__AUTH__THROTTLE__ENABLED=false \
    "$@" "$bin" serve) </dev/null >>"$dir/server.log" 2>&1 &
  pid[$side]=$!
}
wait_ready() {
  local side="$1"
  for _ in $(seq 6000); do
    kill -0 "${pid[$side]}" 2>/dev/null || { log "the \"$side\" server exited:"; tail -20 "$work/$side/server.log" >&2; exit 1; }
    if curl -fsS -o /dev/null --max-time 1 "${base[$side]}/ready" 2>/dev/null; then return; fi
    sleep 0.005
  done
  log "the \"$side\" server is not ready within 30 s"; exit 1
}

# The process's CPU time so far, user + system, in clock ticks: fields 14 and
# 15 of /proc/<pid>/stat (counted after the command, which may hold spaces).
cpu_ticks() {
  local stat f
  stat="$(cat "/proc/$1/stat")"
  read -r -a f <<<"${stat##*) }"
  echo $(( f[11] + f[12] ))
}

# The requests wrk completed and the time it ran them in, in seconds.
wrk_run() {
  local out
  out="$(wrk --latency -t2 "$@")"
  printf '%s\n' "$out" >>"$work/wrk.log"
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h),", out)
if not m:
    sys.exit(f"no request count in wrk's output:\n{out}")
scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
requests, duration = int(m.group(1)), float(m.group(2)) * scale[m.group(3)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if errors:
    sys.exit(f"wrk saw {errors.group(1)} failed responses:\n{out}")
if requests == 0:
    sys.exit(f"wrk completed no request:\n{out}")
print(f"{requests} {duration}")
PY
}

# wrk's arguments for endpoint $2 ("health" or "me") of server $1.
endpoint_args() {
  case "$2" in
    health) endpoint=("${base[$1]}/health") ;;
    me) endpoint=(-H "Authorization: Bearer ${token[$1]}" "${base[$1]}/api/auth/me") ;;
  esac
}

# One phase: wrk on endpoint $3 of server $2 in round $1; appends
# "side endpoint requests seconds ticks" to $work/phases.txt.
phase() {
  local round="$1" side="$2" name="$3" before after out requests duration
  endpoint_args "$side" "$name"
  before="$(cpu_ticks "${pid[$side]}")"
  out="$(wrk_run -c"$connections" -d"${seconds}s" "${endpoint[@]}")"
  after="$(cpu_ticks "${pid[$side]}")"
  read -r requests duration <<<"$out"
  printf '%s %s %s %s %s\n' "$side" "$name" "$requests" "$duration" "$((after - before))" >>"$work/phases.txt"
  log "round $round, $name, $side: $requests requests in ${duration} s, $((after - before)) ticks of CPU"
}

# GET /metrics (token): 200 with http_requests_total on "on", 404 on "off".
check_metrics() {
  local status
  status="$(curl -sS -o "$work/metrics.txt" -w '%{http_code}' -H "Authorization: Bearer ${token[on]}" "${base[on]}/metrics")"
  if [ "$status" != 200 ]; then
    log "GET /metrics on \"on\" answered $status, not 200:"; head -c 2000 "$work/metrics.txt" >&2; echo >&2; exit 1
  fi
  if ! grep -q 'http_requests_total' "$work/metrics.txt"; then
    log "GET /metrics on \"on\" has no http_requests_total:"; head -c 2000 "$work/metrics.txt" >&2; echo >&2; exit 1
  fi
  status="$(curl -sS -o "$work/metrics-off.txt" -w '%{http_code}' -H "Authorization: Bearer ${token[off]}" "${base[off]}/metrics")"
  if [ "$status" != 404 ]; then
    log "GET /metrics on \"off\" answered $status, not 404:"; head -c 2000 "$work/metrics-off.txt" >&2; echo >&2; exit 1
  fi
}

# --- the two servers, their admins and tokens
start_server on MLX_MANAGER_PLUGINS__METRICS__ENABLED=true
start_server off MLX_MANAGER_PLUGINS__METRICS__ENABLED=false
wait_ready on
wait_ready off
log "servers ready: on ${base[on]} (pid ${pid[on]}), off ${base[off]} (pid ${pid[off]})"
email="bench-admin@example.com"; password="bench-password-1"
for side in on off; do
  curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" "${base[$side]}/api/auth/register"
  token[$side]="$(curl -fsS --data-urlencode "username=$email" --data-urlencode "password=$password" \
    "${base[$side]}/api/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
done
check_metrics

log "warming up (1 s per endpoint and server, not counted)"
for side in on off; do
  for name in health me; do
    endpoint_args "$side" "$name"
    wrk_run -c"$connections" -d1s "${endpoint[@]}" >/dev/null
  done
done

# --- the rounds: one wrk at a time, the first server alternating
: >"$work/phases.txt"
for round in $(seq "$rounds"); do
  if (( round % 2 )); then order=(on off); else order=(off on); fi
  for name in health me; do
    for side in "${order[@]}"; do phase "$round" "$side" "$name"; done
  done
done
check_metrics
log "GET /metrics: 200 with http_requests_total on \"on\", 404 on \"off\""

python3 - "$work/phases.txt" "$clk_tck" "$rounds" "$seconds" "$connections" <<'PY'
import json, sys
phases, clk_tck = sys.argv[1], int(sys.argv[2])
rounds, seconds, connections = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
total = {}
for line in open(phases):
    side, name, requests, duration, ticks = line.split()
    t = total.setdefault((name, side), [0, 0.0, 0])
    t[0] += int(requests); t[1] += float(duration); t[2] += int(ticks)
r = lambda x, n=2: round(x, n)
rps = lambda name, side: total[name, side][0] / total[name, side][1]
cpu_us = lambda name, side: total[name, side][2] / clk_tck * 1e6 / total[name, side][0]
out = {}
for name in ("health", "me"):
    for side in ("on", "off"):
        out[f"{name}_rps_{side}"] = r(rps(name, side), 0)
for name in ("health", "me"):
    for side in ("on", "off"):
        out[f"{name}_cpu_us_per_request_{side}"] = r(cpu_us(name, side))
for name in ("health", "me"):
    if total[name, "off"][2] == 0:
        sys.exit(f"bench/metrics.sh: no CPU time measured for {name} on \"off\"")
    out[f"{name}_cpu_on_vs_off"] = r(cpu_us(name, "on") / cpu_us(name, "off"), 3)
out.update({"rounds": rounds, "seconds": seconds, "connections": connections})
print(json.dumps(out))
PY
