#!/usr/bin/env bash
# The gateway's benchmark, one JSON line on stdout (progress on stderr):
#
#   bash bench/gateway.sh
#
# Against the repo's fake-model-server on loopback, one run measures the same
# model server reached directly, through Debian's nginx as a plain reverse proxy
# (proxy_buffering off; installed by this script when missing: apt-get as root),
# and through the gateway of a release mlx-manager with authentication on (an API
# key per request). Figures (tests/api/bench_gateway.rs says how each is taken):
#
#   {direct,nginx,gateway}_chunks_per_s    32 concurrent streams of 64 chunks, no delay
#   {direct,nginx,gateway}_ttfc_p50_ms/_p99_ms   time to first chunk, 8 streams, 2 ms a chunk
#   {nginx,gateway}_cpu_ms_per_request     the proxy's CPU time over the throughput
#                                          rounds / streams answered
#   gateway_vs_nginx_chunks, gateway_vs_nginx_cpu, gateway_vs_direct_chunks,
#   gateway_ttfc_overhead_p50_ms           the ratios the targets are written in
#
# Environment: BENCH_SECONDS (each round, default 5), BENCH_ROUNDS (default 3),
# NGINX (the nginx binary), CARGO_TARGET_DIR (default $HOME/.cache/mlx-manager/target).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
log() { printf 'bench/gateway.sh: %s\n' "$*" >&2; }

nginx="${NGINX:-$(command -v nginx || true)}"
if [ -z "$nginx" ] && [ -x /usr/sbin/nginx ]; then nginx=/usr/sbin/nginx; fi
if [ -z "$nginx" ]; then
  if [ "$(id -u)" != 0 ]; then log "nginx is missing; run as root once, or: sudo apt-get install nginx-light"; exit 1; fi
  log "installing nginx (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
  # Debian starts the packaged service; the benchmark runs its own.
  (systemctl stop nginx 2>/dev/null || service nginx stop 2>/dev/null || pkill -x nginx) || true
  nginx=/usr/sbin/nginx
fi
export NGINX="$nginx"
log "nginx: $("$nginx" -v 2>&1)"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mlx-manager/target}"
test_cmd=(cargo test --release --quiet --test api bench_gateway -- --ignored --nocapture)
if command -v flock >/dev/null; then test_cmd=(flock --close /tmp/mlx-cargo.lock "${test_cmd[@]}"); fi
log "building and running (cargo test --release --test api bench_gateway)"
cd "$repo"
"${test_cmd[@]}" | grep '^{'
