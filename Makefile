# authflow — make targets. `make test` is the README's test command and what .ci/run calls.
GO       ?= go
# The Go that builds and tests authflow: go1.27.3 (go1.26.8's standard library has reachable
# vulnerabilities; scripts/vulncheck.sh). The go command fetches it from the Go module proxy on
# first use, whatever Go is on PATH; exported, so every go command below runs under it. A go.mod
# toolchain line does not do this on a machine whose Go says GOTOOLCHAIN=local.
export GOTOOLCHAIN := go1.27.3
PKGS     := ./...
BIN      := bin/authflow
FUZZTIME ?= 10s

.PHONY: all build test unit race fuzz bench bench-forward-auth lint vulncheck run clean deps

all: lint test build

build:
	$(GO) build -o $(BIN) ./cmd/authflow

## deps: download the Go modules and install the Debian packages the tests need (redis-server).
deps:
	$(GO) mod download
	./scripts/test-deps.sh

## test: everything CI runs: lint, unit tests with -race (load tests included), a short run of each fuzz target.
test: export AUTHFLOW_LOAD_TEST := 1
test: deps lint vulncheck race fuzz

unit:
	$(GO) test -count=1 $(PKGS)

race:
	$(GO) test -race -count=1 $(PKGS)

## fuzz: each fuzz target for FUZZTIME (go test -fuzz takes one target per run).
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzCompile$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./interp
	$(GO) test -run='^$$' -fuzz='^FuzzQueryEscape$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./interp
	$(GO) test -run='^$$' -fuzz='^FuzzLoad$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./strategies
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./internal/jwk
	$(GO) test -run='^$$' -fuzz='^FuzzSegment$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./interp
	$(GO) test -run='^$$' -fuzz='^FuzzRecordDecode$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./server

bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

## bench-forward-auth: the forward-auth load benchmark (README "Forward-auth load benchmark"):
## floor vs authflow /auth/verify over memory and Redis, with wrk; a few minutes by default.
## Flags through BENCH_FLAGS, e.g. make bench-forward-auth BENCH_FLAGS='-rounds 4 -duration 5s'.
BENCH_FLAGS ?=
bench-forward-auth: build
	./bench/forwardauth/run.sh -authflow $(BIN) $(BENCH_FLAGS)

lint:
	@gofmt="$$($(GO) env GOROOT)/bin/gofmt"; [ -x "$$gofmt" ] || { echo "lint: no gofmt at $$gofmt" >&2; exit 1; }; \
	  out=$$("$$gofmt" -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## vulncheck: govulncheck against a database built from golang.org/x/vulndb (pinned snapshot).
vulncheck:
	./scripts/vulncheck.sh $(PKGS)

## run: the embedded demo (development IdP + authflow + a protected page) on ADDR.
ADDR ?= 127.0.0.1:8080
run: build
	./$(BIN) demo --addr $(ADDR)

clean:
	rm -rf bin
