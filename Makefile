# eventrunner — see README.md. Every target works on a fresh machine with Go.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/eventrunner
# The differential test runs this many random facts per knowledge base.
ORACLE_N ?= 10000

.PHONY: all generate build test test-race bench run demo lint check-generated ci clean

all: build

## generate: compile schemas/ and rules/ into generated/ (go generate ./...)
generate:
	$(GO) generate ./...

## build: build bin/eventrunner
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/eventrunner

## test: every test, the race detector on the runtime packages
test:
	ORACLE_N=$(ORACLE_N) $(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./runtime/...

## bench: compiled rules and codecs vs grule and encoding/json (a table of ratios), then the pipeline vs raw JetStream
bench: build
	$(GO) run ./gen/bench/cmd/benchtable
	./$(BIN) bench

## run: the main job on the embedded default: serve with embedded NATS, Pebble and a demo tenant
run: build
	./$(BIN) serve

## demo: every knowledge base over its sample events, compiled and through grule
demo: build
	@for kb in $$(./$(BIN) rules list | awk '/^[a-z]/{print $$1}'); do \
		echo "== $$kb: rules/$$kb/samples.jsonl"; \
		./$(BIN) rules eval --kb $$kb rules/$$kb/samples.jsonl; \
	done

## lint: gofmt, go vet, staticcheck
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...
	@$(GO) mod tidy -diff >/dev/null || { $(GO) mod tidy -diff; echo 'go.mod/go.sum are not tidy: run go mod tidy'; exit 1; }
	$(GO) tool staticcheck $$($(GO) list ./... | grep -v /gen/grl/semgen)  # semgen: compiled test GRL that compares values with themselves on purpose

## image: the engine's OCI image without Docker (gen/image): bin/image/oci and bin/image/eventrunner-<version>-<bundle>.tar
# For a binary this machine cannot run: IMAGE_FLAGS="-version v1.2.3 -bundle <hash>".
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
image:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/linux_$(IMAGE_ARCH)/eventrunner ./cmd/eventrunner
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || echo 0)} \
	$(GO) run ./gen/image/cmd/mkimage -binary bin/linux_$(IMAGE_ARCH)/eventrunner -arch $(IMAGE_ARCH) \
		-revision "$$(git rev-parse HEAD 2>/dev/null)" -out bin/image $(IMAGE_FLAGS)

## check-generated: fail when go generate changes anything
check-generated: generate
	@git add -N generated >/dev/null 2>&1 || true
	@git diff --exit-code --stat -- generated gen schemas/schemas.lock || { echo 'generated code is stale: run make generate and commit'; exit 1; }
	@test -z "$$(git status --porcelain -- generated)" || { git status --porcelain -- generated; echo 'untracked generated files: run make generate and commit'; exit 1; }

## services: start Cassandra 5.0 and ClickHouse for the integration tests (prints their addresses; Ctrl-C stops them)
.PHONY: services
services:
	.ci/services.sh

## ci: what .ci/run does after installing services
ci: check-generated lint test

clean:
	rm -rf bin
