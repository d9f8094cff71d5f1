# hotline: the two commands a new machine needs are `make run` and `make test`.
# Both install the Debian packages they need when missing (apt-get, as root or via sudo).

GO        ?= go
BIN       := bin/hotline
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Build: Opus and PocketSphinx through cgo (pkg-config, gcc). Runtime: espeak-ng speaks
# prompts, pocketsphinx-en-us is the speech model. Tests: sipp and baresip as real SIP
# callers, sox for test audio, pocketsphinx-testdata for recordings of real human speech,
# prometheus for promtool (alert rules), postgresql for the store tests, chromium for WebRTC.
RUN_PACKAGES  := gcc pkg-config libopus-dev libopusfile-dev libpocketsphinx-dev pocketsphinx-en-us espeak-ng
TEST_PACKAGES := $(RUN_PACKAGES) sip-tester baresip-core sox pocketsphinx-testdata prometheus postgresql chromium
GOFLAGS_TEST  ?= -race -count=1 -timeout 20m

.PHONY: all build run test deps-run deps-test vet fmt-check unit e2e fuzz clean bench bench-asr bench-asr-corpus bench-capacity bench-cachemiss bench-sipp sipp-pcaps loadtest

all: build

# install-packages PKGS: apt-get install whichever of PKGS are not installed yet.
define install-packages
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "make: installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

go-check:
	@command -v $(GO) >/dev/null || { echo "make: Go 1.26 or newer is required (https://go.dev/dl/); put it in PATH" >&2; exit 1; }

deps-run:
	$(call install-packages,$(RUN_PACKAGES))

deps-test:
	$(call install-packages,$(TEST_PACKAGES))

build: go-check deps-run
	$(GO) build -o $(BIN) ./cmd/hotline

## run: start the engine on loopback with the built-in sample flow (SIP 127.0.0.1:5060, HTTP :8080)
run: build
	./$(BIN) serve

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## test: everything CI runs: formatting, vet, unit and end-to-end tests with -race, then
## every benchmark once (-benchtime 1x) so they keep compiling and running
test: go-check deps-test fmt-check vet
	$(GO) test $(GOFLAGS_TEST) ./...
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...

clean:
	rm -rf bin

## bench: per-packet and per-frame micro-benchmarks (codecs, RTP, jitter buffer, bridge, SRTP)
bench: go-check deps-run
	$(GO) test -run '^$$' -bench . -benchmem ./media/... ./store/

## bench-asr: speech recognition accuracy and real-time factor (PocketSphinx, espeak-ng voices)
bench-asr: go-check deps-test
	$(GO) test -run '^$$' -bench Recognize -benchtime 1x ./asr/sphinx

## bench-asr-corpus: the 216-clip caller corpus, clean and with noise, transcripts and intents (about 9 min)
bench-asr-corpus: go-check deps-test
	HOTLINE_SPEECH_CORPUS=full $(GO) test -run SpeechCorpusFull -v -timeout 30m ./asr/sphinx

## bench-capacity: concurrent calls one host holds (engine on CPU 0, generator on CPU 1);
## about 15 min (BUDGET=15m); QUICK=1 for a few-minute smoke run
bench-capacity: go-check deps-test
	bench/capacity.sh

## bench-cachemiss: cache misses of one call's media tick at 900 calls (CALLS=n), counted
## by valgrind's cache simulator, per function; about 30 s (needs valgrind)
bench-cachemiss: go-check
	bench/cachemiss.sh

## bench-sipp: SIPp and hotline loadtest on the same load (the benchmark's regime sipp alone)
bench-sipp: go-check deps-test
	bench/sipp.sh

## sipp-pcaps: rebuild the SIPp load caller's audio (espeak-ng through the G.711 encoder)
sipp-pcaps: go-check deps-run
	$(GO) run ./bench/pcapgen -silence 10s -seq 500 -ts 80000 -out testdata/sipp/load_listen_pcma.pcap
	$(GO) run ./bench/pcapgen -digits 2 -seq 1000 -ts 160000 -out testdata/sipp/load_digit2.pcap
	$(GO) run ./bench/pcapgen -text "check my balance" -seq 1007 -ts 164000 -out testdata/sipp/load_phrase_pcma.pcap
	$(GO) run ./bench/pcapgen -silence 15s -seq 1081 -ts 176000 -out testdata/sipp/load_hold_pcma.pcap

## loadtest: 100 concurrent scripted callers against `make run` on 127.0.0.1:5060 for 60 s
loadtest: build
	./$(BIN) loadtest 127.0.0.1:5060 -n 100 --rate 20 --duration 60s --html bench/results/loadtest.html
