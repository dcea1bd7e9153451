#!/usr/bin/env bash
# The performance figures of the manager, in one run, as one JSON line on
# stdout (progress on stderr):
#
#   bash bench/run.sh
#
# A release build of mlx-manager (cargo build --release, into the shared
# $CARGO_TARGET_DIR, default $HOME/.cache/mlx-manager/target) serves on a free
# loopback port, on a surrealkv store in a temp dir, with the default Argon2
# parameters, login throttling off and the Hub offline. Debian's wrk (installed
# by this script when missing: apt-get as root) drives it:
#
#   health_rps, health_p99_ms        GET /health
#   me_token_rps, me_key_rps         GET /api/auth/me with a login token, an API key
#   profiles_rps                     GET /api/profiles with 20 profiles (token)
#   logins_per_s                     POST /api/auth/login, right password, no other load
#   argon2_limit_per_s               cores / one login's time (the median of 20
#                                    logins one after another: an upper bound of
#                                    a verify's time, so the limit is a lower bound)
#   health_p99_during_logins_ms      GET /health (8 connections) while 64 connections log in
#   peak_rss_logins_mb               the largest RSS sampled during those logins
#   rss_after_mb                     RSS after the whole run and 2 s of rest
#   cold_start_ms                    process start to /ready 200 with 10,000 users
#                                    and 1,000 profiles in the store
#
# The ratios that the performance targets are written in come with them:
# me_token_vs_health, me_key_vs_health, profiles_vs_health, logins_vs_limit.
# Environment: BENCH_SECONDS (each wrk phase, default 10), BENCH_CONNECTIONS
# (default 64), MLX_MANAGER_BIN (skip the build), CARGO_TARGET_DIR.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
seconds="${BENCH_SECONDS:-10}"
connections="${BENCH_CONNECTIONS:-64}"
cores="$(nproc)"
log() { printf 'bench/run.sh: %s\n' "$*" >&2; }

# --- tools
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" != 0 ]; then log "wrk is missing; run as root once, or: sudo apt-get install wrk"; exit 1; fi
  log "installing wrk (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null || { log "$tool is missing"; exit 1; }
done

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

work="$(mktemp -d "${TMPDIR:-/tmp}/mlx-manager-bench.XXXXXX")"
pid=""
stop_server() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  pid=""
}
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/data" "$work/hub"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

# Start the server with extra settings ($@); sets $pid and $ready_ms.
start_server() {
  local started
  started="$(date +%s%N)"
  (cd "$work/data" && exec env -i PATH=/usr/bin:/bin HOME="$work" \
    MLX_MANAGER_DATABASE__URL="surrealkv://$work/db" \
    MLX_MANAGER_SERVER__PORT="$port" \
    MLX_MANAGER_PATHS__DATA_DIR="$work/data" \
    MLX_MANAGER_PATHS__HF_CACHE="$work/hub" \
    MLX_MANAGER_HUB__OFFLINE=true \
    MLX_MANAGER_PLUGINS__AUTH__THROTTLE__ENABLED=false \
    "$@" "$bin" serve) </dev/null >>"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 6000); do
    kill -0 "$pid" 2>/dev/null || { log "the server exited:"; tail -20 "$work/server.log" >&2; exit 1; }
    if curl -fsS -o /dev/null --max-time 1 "$base/ready" 2>/dev/null; then
      ready_ms=$(( ($(date +%s%N) - started) / 1000000 ))
      return
    fi
    sleep 0.005
  done
  log "not ready within 30 s"; exit 1
}

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }

# wrk's "Requests/sec" and its p99 latency in ms.
wrk_run() {
  local out
  out="$(wrk --latency -t2 "$@")"
  printf '%s\n' "$out" >>"$work/wrk.log"
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
p99 = float(m.group(1)) * scale[m.group(2)] if m else None
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if errors:
    sys.exit(f"wrk saw {errors.group(1)} failed responses:\n{out}")
print(f"{rps} {p99}")
PY
}

# --- phase 1: throughput, logins, memory (default Argon2 parameters)
start_server
log "server ready on $base"
email="bench-admin@example.com"; password="bench-password-1"
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/api/auth/register"
token="$(curl -fsS --data-urlencode "username=$email" --data-urlencode "password=$password" \
  "$base/api/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
key="$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' "$base/api/auth/keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
for i in $(seq 20); do
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench-$i\",\"model_path\":\"mlx-community/model-$i\",\"port\":$((30000 + i))}" \
    "$base/api/profiles"
done

log "GET /health"
read -r health_rps health_p99 <<<"$(wrk_run -c"$connections" -d"${seconds}s" "$base/health")"
log "GET /api/auth/me (token, key)"
read -r me_token_rps _ <<<"$(wrk_run -c"$connections" -d"${seconds}s" -H "Authorization: Bearer $token" "$base/api/auth/me")"
read -r me_key_rps _ <<<"$(wrk_run -c"$connections" -d"${seconds}s" -H "Authorization: Bearer $key" "$base/api/auth/me")"
log "GET /api/profiles (20 profiles)"
read -r profiles_rps _ <<<"$(wrk_run -c"$connections" -d"${seconds}s" -H "Authorization: Bearer $token" "$base/api/profiles")"

log "one login at a time (the Argon2 limit)"
login_s="$(for _ in $(seq 20); do
  curl -fsS -o /dev/null -w '%{time_total}\n' --data-urlencode "username=$email" \
    --data-urlencode "password=$password" "$base/api/auth/login"
done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
cat >"$work/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "username=$email&password=$password"
LUA
log "logins, no other load"
read -r logins_rps _ <<<"$(wrk_run -c$((cores * 4)) -d"${seconds}s" -s "$work/login.lua" "$base/api/auth/login")"

log "GET /health while 64 connections log in (RSS sampled)"
wrk -t2 -c64 -d"$((seconds + 2))s" -s "$work/login.lua" "$base/api/auth/login" >>"$work/wrk.log" &
flood=$!
sleep 1
( while kill -0 "$flood" 2>/dev/null; do rss_mb; echo; sleep 0.1; done ) >"$work/rss.txt" &
sampler=$!
read -r _ health_p99_flood <<<"$(wrk_run -c8 -d"${seconds}s" "$base/health")"
wait "$flood" || true
wait "$sampler" || true
peak="$(sort -n "$work/rss.txt" | tail -1)"
sleep 2
rss_after="$(rss_mb)"
stop_server

# --- phase 2: 10,000 users and 1,000 profiles, then a cold start
log "seeding 10,000 users and 980 more profiles (cheap Argon2 for the seeding only)"
start_server MLX_MANAGER_PLUGINS__AUTH__ARGON2__MEMORY_KIB=1024 MLX_MANAGER_PLUGINS__AUTH__ARGON2__ITERATIONS=1
python3 - "$base" "$token" <<'PY'
import concurrent.futures, http.client, json, sys, urllib.parse
base, token = sys.argv[1], sys.argv[2]
host = urllib.parse.urlparse(base)
def post(path, body, auth=None):
    c = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Bearer {auth}"
    c.request("POST", path, json.dumps(body), headers)
    r = c.getresponse(); r.read(); c.close()
    if r.status != 201:
        raise SystemExit(f"POST {path}: {r.status}")
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda i: post("/api/auth/register", {"email": f"user-{i}@example.com", "password": "seeded-password"}), range(10_000)))
    list(pool.map(lambda i: post("/api/profiles", {"name": f"seed-{i}", "model_path": f"m/seed-{i}", "port": 40000 + i}, token), range(980)))
PY
stop_server
start_server
cold_ms="$ready_ms"
stop_server

python3 - <<PY
import json
h, t, k, p = $health_rps, $me_token_rps, $me_key_rps, $profiles_rps
logins, verify_s = $logins_rps, $login_s
limit = $cores / verify_s
r = lambda x, n=2: round(x, n)
print(json.dumps({
    "cores": $cores, "seconds_per_phase": $seconds, "connections": $connections,
    "health_rps": r(h, 0), "health_p99_ms": r($health_p99, 3),
    "me_token_rps": r(t, 0), "me_key_rps": r(k, 0), "profiles_rps": r(p, 0),
    "me_token_vs_health": r(t / h), "me_key_vs_health": r(k / h), "profiles_vs_health": r(p / h),
    "logins_per_s": r(logins, 1), "one_login_ms": r(verify_s * 1000, 1),
    "argon2_limit_per_s": r(limit, 1), "logins_vs_limit": r(logins / limit),
    "health_p99_during_logins_ms": r($health_p99_flood, 3),
    "peak_rss_logins_mb": $peak, "rss_after_mb": $rss_after,
    "cold_start_ms": $cold_ms, "cold_start_users": 10001, "cold_start_profiles": 1000,
}))
PY
