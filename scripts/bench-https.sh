#!/usr/bin/env bash
# scripts/bench-https.sh: the edge's HTTPS next to nginx terminating TLS with
# the same certificate and key, on the demo page (cache hits), each server
# pinned to core 0 (GOMAXPROCS=1 for the edge) and wrk on core 1:
#   1. keep-alive: req/s and p99 (wrk -c50);
#   2. a new TLS handshake per request (Connection: close): handshakes/s;
#   3. time from the first request for a newly verified domain to its first
#      byte (the order with a local Pebble included), from curl.
# Needs: go, wrk, nginx, pebble (scripts/setup). Loopback only; stops what it starts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DUR=${DUR:-10s}
W=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
export PATH="$(go env GOPATH)/bin:$PATH"
go build -o "$W/statusedge" "$ROOT/cmd/statusedge"

GOMAXPROCS=1 taskset -c 0 "$W/statusedge" dev --https --data "$W/data" --api-addr 127.0.0.1:0 --listen 127.0.0.1:0 >"$W/dev.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "curl --cacert" "$W/dev.out" && break; sleep 0.2; done
line=$(grep "curl --cacert" "$W/dev.out" | head -1)
port=$(echo "$line" | sed -E 's/.*--resolve status.acme.test:([0-9]+):.*/\1/')
api=$(grep -o 'API http://[0-9.:]*' "$W/dev.out" | head -1 | cut -d' ' -f2)
roots="$W/data/pebble-roots.pem"
host=status.acme.test
# 3. first request of the new domain → first byte (includes the ACME order)
ttfb=$(curl -sS -o "$W/page.html" -w '%{time_starttransfer}' --cacert "$roots" --resolve "$host:$port:127.0.0.1" "https://$host:$port/")
echo "first request for a new verified domain -> first byte: ${ttfb}s (order with a local Pebble)"

# The certificate and key the edge got, from the shared storage (cert secret).
sec=$(sed -n 's/.*"cert_secret": "\(.*\)".*/\1/p' "$W/data/secrets.json")
keys=$(curl -sS -H "Authorization: Bearer $sec" "$api/internal/v1/certs/list?prefix=certificates&recursive=true")
crt=$(echo "$keys" | tr ',' '\n' | tr -d '[]"' | grep "$host.crt$")
curl -sS -H "Authorization: Bearer $sec" "$api/internal/v1/certs/value?key=$crt" >"$W/cert.pem"
curl -sS -H "Authorization: Bearer $sec" "$api/internal/v1/certs/value?key=${crt%.crt}.key" >"$W/key.pem"
chmod 644 "$W"/*.pem

nport=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
mkdir -p "$W/root" "$W/nginx"
cp "$W/page.html" "$W/root/index.html"
curl -sS -H 'Accept-Encoding: gzip' -o "$W/root/index.html.gz" --cacert "$roots" --resolve "$host:$port:127.0.0.1" "https://$host:$port/"
cat >"$W/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root root;" ) daemon off; worker_processes 1; worker_cpu_affinity 01; pid $W/nginx/pid; error_log $W/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off; default_type text/html; etag off;
  client_body_temp_path $W/nginx; proxy_temp_path $W/nginx; fastcgi_temp_path $W/nginx; uwsgi_temp_path $W/nginx; scgi_temp_path $W/nginx;
  server {
    listen 127.0.0.1:$nport ssl; server_name $host;
    ssl_certificate $W/cert.pem; ssl_certificate_key $W/key.pem; ssl_protocols TLSv1.3;
    ssl_session_cache off; ssl_session_tickets on;
    keepalive_requests 1000000;
    gzip_static on; root $W/root; location / { add_header Cache-Control "public, max-age=10"; }
  }
}
CONF
taskset -c 0 nginx -c "$W/nginx.conf" -p "$W/nginx" &
pids+=($!)
sleep 1
cat >"$W/resolve.lua" <<'LUA'
function wrk.resolve(host, service) wrk.addrs = wrk.lookup("127.0.0.1", service) end
wrk.headers["Accept-Encoding"] = "gzip"
LUA
cat >"$W/close.lua" <<'LUA'
function wrk.resolve(host, service) wrk.addrs = wrk.lookup("127.0.0.1", service) end
wrk.headers["Connection"] = "close"
wrk.headers["Accept-Encoding"] = "gzip"
LUA
run() { # name url script connections
	out=$(taskset -c 1 wrk -t1 -c"$4" -d"$DUR" --latency -s "$3" "$2" 2>&1 || true)
	if ! echo "$out" | grep -q "Requests/sec"; then echo "$1: wrk failed: $out"; return; fi
	rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	p99=$(echo "$out" | awk '$1=="99%" {print $2}')
	errs=$(echo "$out" | grep -E "Non-2xx|Socket errors" | tr '\n' ' ' || true)
	printf '%-28s %10s req/s   p99 %-8s %s\n' "$1" "$rps" "$p99" "$errs"
}
for round in 1 2 3; do
	echo "round $round"
	run "edge keep-alive" "https://$host:$port/" "$W/resolve.lua" 50
	run "nginx keep-alive" "https://$host:$nport/" "$W/resolve.lua" 50
	run "edge new handshake/request" "https://$host:$port/" "$W/close.lua" 20
	run "nginx new handshake/request" "https://$host:$nport/" "$W/close.lua" 20
done
