# callgate — the two commands a newcomer needs are `make demo` and `make test`.
GO        ?= go
BIN       ?= bin/callgate
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 10s
STATICCHECK_VERSION ?= v0.8.2

.PHONY: build demo test test-short fuzz lint bench docker clean screenshots

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/callgate

# Runs callgate on its embedded default (simulated AWS) with a demo upstream:
# a call is refused while the connection comes up, refused while it warms,
# then succeeds.
demo:
	$(GO) run ./cmd/callgate demo

# Every test: vet, staticcheck, unit and integration tests with -race
# (moto_server, curl and openssl are started/used by the tests themselves),
# then every fuzz target for a bounded time.
test: lint
	CALLGATE_REQUIRE_MOTO=1 $(GO) test -race -count=1 -timeout 20m ./...
	# The data plane's suites again on the other wire engine (engine: stdlib).
	CALLGATE_TEST_ENGINE=stdlib $(GO) test -race -count=1 -timeout 10m ./proxy/
	$(MAKE) fuzz

test-short:
	$(GO) test -short -count=1 ./...

# Each Fuzz* target runs for FUZZTIME; crashers land in testdata/fuzz/ and
# become regression seeds. scripts/fuzz.sh says why one signature is retried.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

# The browser test of the Outbound Connections page, keeping its screenshots
# in docs/img/ for the README (needs Debian's chromium).
screenshots:
	CALLGATE_REQUIRE_BROWSER=1 CALLGATE_SCREENSHOT_DIR=$(CURDIR)/docs/img $(GO) test -count=1 -run 'TestOutboundConnectionsPage$$' ./cmd/callgate/

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

bench:
	bash bench/run.sh

docker:
	docker build --build-arg VERSION=$(VERSION) -t callgate:$(VERSION) .

clean:
	rm -rf bin
