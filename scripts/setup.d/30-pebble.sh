# Pebble (a local ACME CA) and pebble-challtestsrv (its DNS server) for the
# TLS tests and `statusedge dev --https`, installed with `go install` at a
# pinned version into $(go env GOPATH)/bin.
gobin=$(go env GOPATH)/bin
export PATH="$gobin:$PATH"
if ! command -v pebble >/dev/null 2>&1 || ! command -v pebble-challtestsrv >/dev/null 2>&1; then
	echo "setup: go install pebble, pebble-challtestsrv" >&2
	go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3 \
		github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@v2.10.3 >&2
fi
