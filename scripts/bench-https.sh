#!/usr/bin/env bash
# scripts/bench-https.sh: the edge's HTTPS next to nginx terminating TLS with
# the same certificate and key (statusedge bench tls, bench/tls.go): the demo
# page (cache hits, gzip), each server pinned to core 0 (GOMAXPROCS=1 for the
# edge), wrk on core 1; keep-alive req/s and p99, a new TLS connection per
# request, the edge's /metrics checked against wrk, and the time from the first
# request for a newly verified domain to its first byte (local Pebble).
# Needs: go, wrk, nginx, pebble (scripts/setup). Loopback only; stops what it starts.
#   DUR=10s ROUNDS=3 OUT=bench-out/tls scripts/bench-https.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export PATH="$(go env GOPATH)/bin:$PATH"
(cd "$ROOT" && go build -o "$W/statusedge" ./cmd/statusedge)
"$W/statusedge" bench tls --duration "${DUR:-10s}" --rounds "${ROUNDS:-3}" --out "${OUT:-$ROOT/bench-out/tls}"
