# statusedge: `make run` starts the whole system with the demo site; `make test` runs every test.
GO        ?= go
DATA      ?= ./data
FUZZTIME  ?= 4s
# Minimizing a new input may otherwise run up to 60 s past FUZZTIME (and a
# minimization cut off by the deadline reads as a failure).
FUZZMIN   ?= 1s
TESTFLAGS ?= -count=1 -timeout 14m

.PHONY: run build image test setup vet unit fuzz-short bench clean

# Go tools (staticcheck) install into GOPATH/bin.
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

# The binary, not `go run`: Ctrl-C reaches statusedge itself, which stops
# every part cleanly. PORT moves the page, API_PORT the management API;
# DEVFLAGS passes any other `statusedge dev` flags (e.g. DEVFLAGS="--regions 3").
PORT     ?= 8080
API_PORT ?= 7080
DEVFLAGS ?=
run: build
	./bin/statusedge dev --data $(DATA) --listen 127.0.0.1:$(PORT) --api-addr 127.0.0.1:$(API_PORT) $(DEVFLAGS)

build:
	$(GO) build -o bin/statusedge ./cmd/statusedge

# The container image as a tarball (OCI layout + docker-save manifest), built
# without a Docker engine or a base image: `docker load -i`, `podman load -i`
# or `skopeo copy oci-archive:` it. See internal/ociimage and Dockerfile.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
IMAGE    ?= bin/statusedge-image.tar
image:
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || echo 0)} \
	  $(GO) run ./internal/ociimage/cmd/ociimage -version $(VERSION) -revision "$(REVISION)" -o $(IMAGE)

test: setup vet unit fuzz-short

# Installs what the tests need on a fresh Debian machine (as root), once; a
# warm run checks and does nothing. See scripts/setup.
setup:
	@scripts/setup

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	staticcheck ./...

unit:
	$(GO) test $(TESTFLAGS) ./...

# A short run of every fuzz target beyond its committed seed corpus. A
# failure prints the run's output. One that found an input (go test writes
# it under the package's testdata/fuzz/) fails at once; one that left no
# input (the fuzzing engine itself, e.g. a worker the loaded machine starved)
# is run again, and fails only if it fails again.
fuzz-short:
	@set -e; out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    before=$$(ls $$dir/testdata/fuzz/$$f 2>/dev/null | wc -l); \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) $$pkg >$$out 2>&1 || { \
	      cat $$out; \
	      if [ "$$(ls $$dir/testdata/fuzz/$$f 2>/dev/null | wc -l)" != "$$before" ]; then echo "fuzz: $$f found the input above"; exit 1; fi; \
	      echo "fuzz: $$f failed without an input; once more"; \
	      $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) $$pkg; }; \
	  done; \
	done

# The standard set of scenarios (steady, herd, spike, outage, propagation,
# load), sized for five minutes on a 2-core machine, into bench-out/ (one
# directory per scenario, bench-out/README.md the summary). Go's own
# micro-benchmarks: go test -run '^$$' -bench . ./...
bench: build
	./bin/statusedge bench standard --out bench-out

clean:
	rm -rf bin $(DATA)
