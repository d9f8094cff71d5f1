//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// buildHotline builds the hotline binary into a temporary directory.
func buildHotline(t *testing.T, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hotline")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(t), "build", "-o", bin, "-ldflags", "-X main.version="+version, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestServeCommand runs the hotline binary as users do: `hotline version`, `hotline
// serve` with a configuration file that sets every field, and with broken ones.
//
// It is not parallel to the call tests: building the binary and starting the engine
// it runs (espeak-ng, resampling) are seconds of CPU that would compete with the media
// clocks of the calls whose pacing those tests measure. Its subtests run in parallel
// with each other.
func TestServeCommand(t *testing.T) {
	requireE2E(t)
	bin := buildHotline(t, "v0.0.0-e2e")

	t.Run("version", func(t *testing.T) {
		t.Parallel()
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("hotline version: %v\n%s", err, out)
		}
		re := regexp.MustCompile(`^hotline v0\.0\.0-e2e \(commit \S+, go1\.\d+\S* linux/\w+\)\n$`)
		if !re.Match(out) {
			t.Errorf("hotline version printed %q, want a line matching %s", out, re)
		}
	})

	t.Run("config_file", func(t *testing.T) {
		t.Parallel()
		sipPort := freeSippPorts(t).sip
		httpPort := freeSippPorts(t).sip
		rtpMin, rtpMax := rtpRange()
		espeak, _ := exec.LookPath("espeak-ng")
		flowsDir, err := filepath.Abs(testFlowsDir)
		if err != nil {
			t.Fatal(err)
		}
		cacheDir := t.TempDir()
		dataDir := t.TempDir()
		cfg := fmt.Sprintf(`# every field of the configuration file
data_dir: %[8]s
api:
  tokens:
    - {name: ops, role: viewer, token: e2e-viewer-token-0123456789abcdef}
  audit_log: %[8]s/audit.jsonl
  wallboard_interval: 2s
recordings:
  dir: %[8]s/recordings
  calls: true
limits:
  max_calls: 50
  max_cps: 100
  max_cpu: 1          # set, yet never reached
  drain_timeout: 5s
store:
  driver: sqlite
  dsn: %[8]s/records.db
  node: e2e
  retention_days: 30
  queue_size: 1024
  batch_size: 64
  overflow_wait: 10ms
  commit_interval: 25ms
asr:
  default: sphinx
  languages: {en: sphinx}
  fallback: ""
  latency_budget: 1s
  queue: 2s
  min_silence: 600ms
  result_timeout: 3s
  min_confidence: 0.05
  partials: false
  sphinx:
    enabled: true
    acoustic_model: /usr/share/pocketsphinx/model/en-us/en-us
    dictionary: /usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict
    language_model: /usr/share/pocketsphinx/model/en-us/en-us.lm.bin
    language: en-US
    pool_size: 1
    preload: 0
  vosk: []
sip:
  listen: [udp:127.0.0.1:%[1]d, tcp:127.0.0.1:%[1]d]
  public_address: 127.0.0.1
  user_agent: hotline-e2e/1
  inbound:
    trusted: ["127.0.0.0/8", "::1/128"]
    allow_unknown: false
    realm: e2e-trunks
    trunks: []
  routes:
    - {number: "!", flow: wait}
  trunks: []
  guard:
    invite: {rate: 100, burst: 200}
    register: {rate: 5, burst: 20}
    other: {rate: 50, burst: 100}
    ban_time: 10m
    max_auth_failures: 10
    exempt: ["127.0.0.0/8"]
    block_scanners: true
    scanner_agents: [evil-scanner]
    max_sources: 1000
  tls: {cert_file: "", key_file: ""}
  connections: {max_per_source: 64, max_total: 4096, header_timeout: 10s, idle_timeout: 10m}
  realm: e2e
  digest_algorithms: [MD5, SHA-256]
  users:
    "1001": {password: agent-secret-1001}
webrtc:
  ice_servers: []
  turn: {secret: "", ttl: 12h}
  public_ips: []
  port_min: 0
  port_max: 0
  udp_mux_port: 0
  bind_ip: 127.0.0.1
  include_loopback: true
  ipv6: false
  allowed_origins: []
  ice_timeout: 15s
  default_called: "100"
  base_path: /rtc
  wrap_up: 30s
  agent_tokens: []
  max_calls: 10
acd:
  file: ""
  music_on_hold: ""
  hold_prompt_every: 20s
  whisper_voice: en-us
  dtmf_passthrough: false
  callback_trunk: ""
http:
  listen: 127.0.0.1:%[2]d
  pprof: false
rtp:
  bind_address: 127.0.0.1
  public_address: 127.0.0.1
  port_min: %[3]d
  port_max: %[4]d
  timeout: 20s
  socket_buffer: 262144
  symmetric: auto
  codecs: [opus, G722, PCMU, PCMA]
  send_batching: auto
  receive_batching: auto
  clock_shards: 3
flows:
  dir: %[5]s
  default: wait
tts:
  espeak_path: %[6]s
  speed: 170
  cache_dir: %[7]s
log:
  level: debug
  format: json
`, sipPort, httpPort, rtpMin, rtpMax, flowsDir, espeak, cacheDir, dataDir)
		requireEveryField(t, cfg)
		cfgPath := filepath.Join(t.TempDir(), "hotline.yaml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}

		logs := &logBuffer{}
		cmd := exec.Command(bin, "serve", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stopped := false
		t.Cleanup(func() {
			if !stopped {
				_ = cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				t.Logf("hotline serve output:\n%s", logs.String())
			}
		})
		te := &testEngine{logs: logs}
		ready := te.waitLog(t, engineStart, "hotline ready")
		if ready.str("version") != "v0.0.0-e2e" || ready.str("flow") != "wait" {
			t.Errorf("hotline ready %v, want version v0.0.0-e2e and flow wait (flows.default)", ready)
		}
		te.waitLog(t, 5*time.Second, "SIP listening", "addr", fmt.Sprintf("udp:127.0.0.1:%d", sipPort))
		te.waitLog(t, 5*time.Second, "SIP listening", "addr", fmt.Sprintf("tcp:127.0.0.1:%d", sipPort))
		te.waitLog(t, engineStart, "prompts pre-rendered")
		if wavs, _ := filepath.Glob(filepath.Join(cacheDir, "*.wav")); len(wavs) == 0 {
			t.Errorf("tts.cache_dir %s holds no rendered prompt", cacheDir)
		}

		for _, transport := range []string{"u1", "t1"} {
			res, err := execSipp(t, fmt.Sprintf("127.0.0.1:%d", sipPort), freeSippPorts(t), sippCall{scenario: "uac_options.xml", transport: transport})
			if err != nil {
				t.Fatalf("OPTIONS over %s to the configured port: %v\n%s\n%s", transport, err, res.errors, res.messages)
			}
			if !strings.Contains(res.messages, "Server: hotline-e2e/1") {
				t.Errorf("OPTIONS response over %s does not carry the configured user agent:\n%s", transport, res.messages)
			}
		}
		if body, _ := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", httpPort)); !strings.Contains(body, `"alive"`) {
			t.Errorf("/healthz on the configured port = %q", body)
		}
		// The configured API token opens the API; none is refused.
		if code, body := apiGet(t, fmt.Sprintf("http://127.0.0.1:%d/api/v1/calls", httpPort), "e2e-viewer-token-0123456789abcdef"); code != 200 || !strings.Contains(body, `"calls"`) {
			t.Errorf("GET /api/v1/calls with the configured token = %d %s", code, body)
		}
		if code, _ := apiGet(t, fmt.Sprintf("http://127.0.0.1:%d/api/v1/calls", httpPort), ""); code != 401 {
			t.Errorf("GET /api/v1/calls without a token = %d, want 401", code)
		}

		// SIGTERM stops it cleanly.
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			stopped = true
			if err != nil {
				t.Errorf("hotline serve exited with %v after SIGTERM, want 0", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("hotline serve still running 15 s after SIGTERM")
		}
		te.waitLog(t, time.Second, "shutting down")
	})

	for _, tc := range []struct {
		name, yaml string
		want       []string // in the error output
	}{
		{
			name: "unknown_key",
			yaml: "rtp:\n  port_mn: 10000\n",
			want: []string{"port_mn", "line 6"},
		},
		{
			name: "bad_values",
			yaml: "log:\n  level: loud\nrtp:\n  port_min: 20000\n  port_max: 10000\n  send_batching: sometimes\n  receive_batching: never\n  clock_shards: -1\n",
			want: []string{"log.level", `"loud"`, "rtp.port_min/port_max", "rtp.send_batching", "rtp.receive_batching", "rtp.clock_shards"},
		},
		{
			name: "bad_duration",
			yaml: "rtp:\n  timeout: soon\n",
			want: []string{`"soon" is not a duration`},
		},
	} {
		t.Run("invalid_config/"+tc.name, func(t *testing.T) {
			t.Parallel()
			// Valid, free listen addresses first, so a config that were wrongly
			// accepted could not take the default ports of another engine.
			head := fmt.Sprintf("sip:\n  listen: [udp:127.0.0.1:%[1]d]\nhttp:\n  listen: 127.0.0.1:%[2]d\n",
				freeSippPorts(t).sip, freeSippPorts(t).sip)
			cfgPath := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(cfgPath, []byte(head+tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, "serve", "--config", cfgPath).CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("hotline serve with an invalid config is still running after 20 s:\n%s", out)
			}
			var ee *exec.ExitError
			if err == nil || !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("hotline serve with an invalid config: %v, want a non-zero exit\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("error output does not mention %q:\n%s", w, out)
				}
			}
			if !strings.HasPrefix(string(out), "hotline: ") {
				t.Errorf("error output should start with \"hotline: \":\n%s", out)
			}
		})
	}
}

// requireEveryField fails unless the YAML text sets every key of Config, so a field
// added later is added to this test too.
func requireEveryField(t *testing.T, text string) {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("test config: %v", err)
	}
	var missing []string
	var walk func(typ reflect.Type, m map[string]any, prefix string)
	walk = func(typ reflect.Type, m map[string]any, prefix string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" {
				continue
			}
			v, ok := m[key]
			if !ok {
				missing = append(missing, prefix+key)
				continue
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration{}) {
				sub, _ := v.(map[string]any)
				walk(f.Type, sub, prefix+key+".")
			}
		}
	}
	walk(reflect.TypeOf(Config{}), doc, "")
	if len(missing) > 0 {
		t.Fatalf("the test's configuration file does not set %v: add them", missing)
	}
}
