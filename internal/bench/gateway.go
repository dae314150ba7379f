package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/gateway/node"
)

// gatewayOpts configures one gateway under test.
type gatewayOpts struct {
	name       string // "a", "a2" or "b"
	dir        string // its own state directory
	binary     string // bin/sealpost; empty to run in this process
	policyYAML []byte
	vaultAddr  string // the counting proxy
	token      string // the relay's scoped token
	sinkAddr   string
	caFile     string
	wrap       string // vault.wrap: "local" (the default when empty) or "transit"
}

// gateway is a running Sealpost node under test.
type gateway struct {
	name      string
	smtpAddr  string
	adminAddr string
	logPath   string

	cmd    *exec.Cmd
	exited chan struct{}
	node   *node.Node // in-process only
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("failed to find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// gatewayConfig is the configuration of a gateway as deployed: defaults
// everywhere except addresses and paths, verified TLS to the next hop.
func gatewayConfig(o gatewayOpts, smtpAddr, adminAddr string) (*config.Config, error) {
	policyPath := filepath.Join(o.dir, "policy.yaml")
	if err := os.WriteFile(policyPath, o.policyYAML, 0o600); err != nil {
		return nil, fmt.Errorf("failed to write the policy: %w", err)
	}
	tokenPath := filepath.Join(o.dir, "relay.token")
	if err := os.WriteFile(tokenPath, []byte(o.token+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("failed to write the token file: %w", err)
	}
	cfg := &config.Config{
		Hostname:     "sealpost-" + o.name + ".localhost",
		Organisation: "Sealpost Bench",
		Relay:        config.Relay{SMTPListen: smtpAddr, LMTPListen: "off"},
		Portal:       config.Portal{Listen: "off"},
		Admin:        config.Admin{Listen: adminAddr},
		Vault:        config.Vault{Address: o.vaultAddr, TokenFile: tokenPath, Wrap: o.wrap},
		Store:        config.Store{Path: filepath.Join(o.dir, "sealpost.db")},
		Audit:        config.Audit{CheckpointPath: filepath.Join(o.dir, "audit.checkpoint")},
		Policy:       config.Policy{Path: policyPath},
		NextHop:      config.NextHop{Addr: o.sinkAddr, TLS: "verify", ServerName: "localhost", CAFile: o.caFile},
		Spool:        config.Spool{Dir: filepath.Join(o.dir, "spool")},
	}
	if err := os.MkdirAll(cfg.Spool.Dir, 0o700); err != nil {
		return nil, err
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("failed to validate the gateway config: %w", err)
	}
	return cfg, nil
}

// startGateway starts bin/sealpost serve, or a node in this process when
// o.binary is empty, and waits until /readyz answers 200.
func startGateway(ctx context.Context, o gatewayOpts) (*gateway, error) {
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return nil, err
	}
	smtpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	adminAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg, err := gatewayConfig(o, smtpAddr, adminAddr)
	if err != nil {
		return nil, err
	}
	g := &gateway{name: o.name, smtpAddr: smtpAddr, adminAddr: adminAddr, logPath: filepath.Join(o.dir, "sealpost.log")}
	logf, err := os.Create(g.logPath)
	if err != nil {
		return nil, err
	}
	if o.binary == "" {
		var startErr error
		pprof.Do(ctx, pprof.Labels("component", "gateway-"+o.name), func(ctx context.Context) {
			log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo}))
			g.node, startErr = node.Start(context.WithoutCancel(ctx), cfg, log)
		})
		if startErr != nil {
			logf.Close()
			return nil, fmt.Errorf("failed to start gateway %s in process: %w", o.name, startErr)
		}
	} else {
		b, err := yaml.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		cfgPath := filepath.Join(o.dir, "sealpost.yaml")
		if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
			return nil, err
		}
		g.cmd = exec.Command(o.binary, "serve", "--config", cfgPath)
		g.cmd.Dir = o.dir // away from any var/dev.env
		g.cmd.Env = cleanEnv()
		g.cmd.Stdout, g.cmd.Stderr = logf, logf
		g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := g.cmd.Start(); err != nil {
			logf.Close()
			return nil, fmt.Errorf("failed to run %s: %w", o.binary, err)
		}
		g.exited = make(chan struct{})
		go func() { _ = g.cmd.Wait(); logf.Close(); close(g.exited) }()
	}
	if err := g.waitReady(ctx); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// cleanEnv is this process's environment without Vault and Sealpost
// settings, which would otherwise override the config file.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "SEALPOST_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (g *gateway) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := hc.Get("http://" + g.adminAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if g.exited != nil {
			select {
			case <-g.exited:
				return fmt.Errorf("gateway %s exited at start: see %s", g.name, g.logPath)
			default:
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("gateway %s not ready within 90s: see %s", g.name, g.logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pid is the gateway's process id, or 0 when it runs in this process.
func (g *gateway) pid() int {
	if g.cmd == nil {
		return 0
	}
	return g.cmd.Process.Pid
}

// Close stops the gateway: SIGTERM, then SIGKILL after 30 s.
func (g *gateway) Close() error {
	if g.node != nil {
		return g.node.Close()
	}
	if g.cmd == nil || g.cmd.Process == nil {
		return nil
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
	}
	return nil
}

// relayMetrics are the relay's counters and histogram sums, read from /metrics.
type relayMetrics struct {
	processSum, hopSum, sealSum       float64
	processCount, hopCount, sealCount uint64
	outcomes                          map[string]float64 // sealpost_relay_recipients_total by outcome
}

func (g *gateway) metrics() (relayMetrics, error) {
	resp, err := http.Get("http://" + g.adminAddr + "/metrics")
	if err != nil {
		return relayMetrics{}, fmt.Errorf("failed to read the metrics of gateway %s: %w", g.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return relayMetrics{}, fmt.Errorf("failed to read the metrics of gateway %s: %s", g.name, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return relayMetrics{}, fmt.Errorf("failed to parse the metrics of gateway %s: %w", g.name, err)
	}
	m := relayMetrics{outcomes: map[string]float64{}}
	hist := func(name string, sum *float64, count *uint64) error {
		f := fams[name]
		if f == nil || len(f.GetMetric()) != 1 {
			return fmt.Errorf("gateway %s has no metric %s", g.name, name)
		}
		h := f.GetMetric()[0].GetHistogram()
		*sum, *count = h.GetSampleSum(), h.GetSampleCount()
		return nil
	}
	if err := errors.Join(
		hist("sealpost_process_seconds", &m.processSum, &m.processCount),
		hist("sealpost_next_hop_seconds", &m.hopSum, &m.hopCount),
		hist("sealpost_seal_seconds", &m.sealSum, &m.sealCount),
	); err != nil {
		return relayMetrics{}, err
	}
	if f := fams["sealpost_relay_recipients_total"]; f != nil {
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "outcome" {
					m.outcomes[l.GetValue()] += mt.GetCounter().GetValue()
				}
			}
		}
	}
	return m, nil
}
