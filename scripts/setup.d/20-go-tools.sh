# Go tools the vet step runs, installed with `go install` at pinned versions
# into $(go env GOPATH)/bin (on PATH for make test).
gobin=$(go env GOPATH)/bin
export PATH="$gobin:$PATH"
if ! command -v staticcheck >/dev/null 2>&1; then
	echo "setup: go install staticcheck" >&2
	go install honnef.co/go/tools/cmd/staticcheck@v0.8.2 >&2
fi
