package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/internal/certs"
	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/policy"
)

type options struct {
	n, conc, reps, latN, warm, large int
	binary, profile, memProfile      string
	keep, countVault                 bool
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 500, "messages per setup and repetition in the throughput run")
	flag.IntVar(&o.conc, "c", 8, "client connections at once in the throughput run")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of a, a2, b, c, interleaved; the report gives medians")
	flag.IntVar(&o.latN, "latency-n", 200, "messages sent one at a time per setup and repetition in the latency run")
	flag.IntVar(&o.warm, "warmup", 40, "messages sent through each setup before measuring")
	flag.IntVar(&o.large, "large", 50_000_000, "size in bytes of the one large message sent through (a); 0 skips it")
	flag.StringVar(&o.binary, "bin", "bin/sealpost", "the sealpost binary the gateways run")
	flag.StringVar(&o.profile, "profile", "", "run the gateways in this process and write a CPU profile of the repetitions to `FILE`")
	flag.StringVar(&o.memProfile, "memprofile", "", "with -profile, also write an allocation profile of the whole run to `FILE`")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (gateway logs, stores, policy and config files)")
	flag.BoolVar(&o.countVault, "count-vault", true, "put a counting proxy between the gateways and Vault (it adds a little to each Vault call)")
	flag.Parse()
	if o.memProfile != "" && o.profile == "" {
		fmt.Fprintln(os.Stderr, "bench: -memprofile needs -profile (the gateways must run in this process)")
		os.Exit(2)
	}
	if o.n < 1 || o.conc < 1 || o.reps < 1 || o.latN < 1 || o.warm < 0 || o.large < 0 {
		fmt.Fprintln(os.Stderr, "bench: -n, -c, -reps and -latency-n must be at least 1; -warmup and -large not negative")
		os.Exit(2)
	}
	os.Exit(run(o))
}

// setup is one of the systems under test.
type setup struct {
	id, label string
	addr      string
	gw        *gateway              // nil for Postfix
	proxy     *vaultProxy           // this gateway's own counting Vault proxy; nil for Postfix or -count-vault=false
	pids      func() ([]int, error) // nil when the gateway runs in this process
	logTail   func() string         // the end of its log, for an error report
	cpu       func() time.Duration  // CPU time used so far; nil when in this process
}

// sample is what one setup measured in one repetition.
type sample struct {
	msgsPerSec       float64
	loadP50, loadP99 time.Duration // end of DATA to 250 at -c connections
	loadHopMean      time.Duration // mean next-hop time in the throughput run (gateways)
	latP50, latP99   time.Duration // end of DATA to 250, one at a time
	addP50, addP99   time.Duration // the same minus the next hop's time (gateways); Postfix: same as lat
	peakRSS          uint64        // VmHWM over the step, bytes; 0 if unknown
	pss              uint64        // proportional set size at the end of the step (summed for Postfix)
	procs            int           // processes measured
	vault            vaultCounts   // Vault requests in the throughput run
	// Means over the one-at-a-time run, from the relay's own histograms:
	// end of DATA to reply, sealing and storing, and the next hop.
	serProcess, serSeal, serHop time.Duration
	accepted, failed            int
	sealed, passed              float64 // recipient copies, from the relay's counters
	tlsCopies                   int     // copies the sink received over TLS
	// CPU time per accepted message in the throughput run: the system under
	// test, Vault, and this process (client, sink, Vault proxy).
	cpuSUT, cpuVault, cpuBench time.Duration
}

type bench struct {
	o      options
	sink   *capture.Server
	tmpl   *template
	setups []*setup
	out    io.Writer
	vault  int // pid of the Vault server
}

func run(o options) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	work, err := os.MkdirTemp("", "sealpost-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	h := newHarness(work, os.Stderr)
	defer func() {
		r := recover()
		h.runCleanups()
		if o.keep {
			fmt.Fprintln(os.Stderr, "work directory kept:", work)
		} else {
			_ = os.RemoveAll(work)
		}
		if r != nil {
			if _, ok := r.(fatalError); !ok {
				panic(r)
			}
			code = 1
		}
	}()
	b := &bench{o: o, out: os.Stdout}
	if err := b.prepare(ctx, h, work); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if err := b.measure(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

// prepare starts Vault, the sink, the gateways and Postfix.
func (b *bench) prepare(ctx context.Context, h *harness, work string) error {
	var binary string
	if b.o.profile == "" {
		var err error
		if binary, err = filepath.Abs(b.o.binary); err != nil {
			return err
		}
		if _, err := os.Stat(binary); err != nil {
			return fmt.Errorf("no gateway binary at %s: run `make build` first, or set -bin", binary)
		}
	}
	tmpl, err := newTemplate(textBytes, pdfBytes)
	if err != nil {
		return err
	}
	b.tmpl = tmpl

	started := time.Now()
	fmt.Fprintln(os.Stderr, "bench: starting Vault, the sink, three gateways and Postfix…")
	paths, err := certs.Generate(filepath.Join(work, "tls"), "localhost", "127.0.0.1")
	if err != nil {
		return err
	}
	var sinkErr error
	pprof.Do(ctx, pprof.Labels("component", "sink"), func(context.Context) {
		b.sink, sinkErr = capture.Start(capture.Config{
			Discard: true, TLSCert: paths.Cert, TLSKey: paths.Key, RequireTLS: true,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
	})
	if sinkErr != nil {
		return sinkErr
	}
	h.Cleanup(func() { b.sink.Close() })

	vault := vaulttest.Start(h)
	creds := vaulttest.Setup(h, vault)
	if b.vault, err = findProcessWithArg("-dev-root-token-id=" + vault.RootToken); err != nil {
		return err
	}

	sealYAML, err := sealEverythingPolicy()
	if err != nil {
		return err
	}
	for _, s := range []struct {
		id, label string
		policy    []byte
		wrap      string
	}{
		{"a", "gateway, seal every message (local wrap)", sealYAML, "local"},
		{"a2", "gateway, seal every message, Transit-batched wrap", sealYAML, "transit"},
		{"b", "gateway, pass-all policy", policy.DefaultYAML(), "local"},
	} {
		// Each gateway gets its own counting proxy, so that the calls of
		// idle gateways (health probes, checkpoint signatures) are not
		// counted against the one being measured.
		vaultAddr := vault.Addr
		var proxy *vaultProxy
		if b.o.countVault {
			pprof.Do(ctx, pprof.Labels("component", "vault-proxy"), func(context.Context) {
				proxy, err = startVaultProxy(vault.Addr)
			})
			if err != nil {
				return err
			}
			h.Cleanup(func() { proxy.Close() })
			vaultAddr = proxy.URL
		}
		g, err := startGateway(ctx, gatewayOpts{
			name: s.id, dir: filepath.Join(work, "gateway-"+s.id), binary: binary, policyYAML: s.policy,
			vaultAddr: vaultAddr, token: creds.RelayToken, sinkAddr: b.sink.Addr(), caFile: paths.CA, wrap: s.wrap,
		})
		if err != nil {
			return err
		}
		h.Cleanup(func() { g.Close() })
		st := &setup{id: s.id, label: s.label, addr: g.smtpAddr, gw: g, proxy: proxy, logTail: func() string {
			b, _ := os.ReadFile(g.logPath)
			return tail(string(b), 3000)
		}}
		if pid := g.pid(); pid != 0 {
			st.pids = func() ([]int, error) { return []int{pid}, nil }
			st.cpu = func() time.Duration { return cpuTime(false, pid) }
		}
		b.setups = append(b.setups, st)
	}

	pf, err := startPostfix(h, b.sink.Addr(), paths.CA)
	if err != nil {
		return err
	}
	b.setups = append(b.setups, &setup{id: "c", label: "Postfix relay (baseline)", addr: pf.inst.SMTPAddr, pids: pf.pids,
		logTail: func() string { return problems(pf.inst.Log(h)) + tail(pf.inst.Log(h), 2000) },
		cpu: func() time.Duration {
			pids, err := pf.pids()
			if err != nil {
				return 0
			}
			return cpuTime(true, pids...)
		}})
	fmt.Fprintf(os.Stderr, "bench: ready in %s\n", time.Since(started).Round(100*time.Millisecond))
	return nil
}

// sealEverythingPolicy is the shipped default policy with its default
// action changed from pass to seal: every rule is still evaluated.
func sealEverythingPolicy() ([]byte, error) {
	def := policy.DefaultYAML()
	out := bytes.Replace(def, []byte("\ndefault: pass\n"), []byte("\ndefault: seal\n"), 1)
	if bytes.Equal(out, def) {
		return nil, errors.New("failed to derive the seal-everything policy: the default policy has no `default: pass` line")
	}
	if _, err := policy.Parse(out); err != nil {
		return nil, fmt.Errorf("failed to derive the seal-everything policy: %w", err)
	}
	return out, nil
}

// measure warms every setup up, runs the interleaved repetitions, the large
// message, and prints the report.
func (b *bench) measure(ctx context.Context) error {
	b.printHeader()
	for _, s := range b.setups {
		if b.o.warm == 0 {
			break
		}
		if _, err := b.batch(ctx, s, load{n: b.o.warm, conc: b.o.conc, tag: "warm-" + s.id}); err != nil {
			return fmt.Errorf("warm-up of (%s): %w", s.id, err)
		}
	}
	if b.o.profile != "" {
		f, err := os.Create(b.o.profile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
			fmt.Fprintf(b.out, "\nCPU profile of the repetitions: %s (go tool pprof '-tagfocus=component=^gateway-a$' %s)\n", b.o.profile, b.o.profile)
			if b.o.memProfile != "" {
				if err := writeAllocProfile(b.o.memProfile); err != nil {
					fmt.Fprintln(os.Stderr, "bench:", err)
					return
				}
				fmt.Fprintf(b.out, "allocation profile of the whole run (all components): %s (go tool pprof -sample_index=alloc_space %s)\n", b.o.memProfile, b.o.memProfile)
			}
		}()
	}
	samples := map[string][]sample{}
	fmt.Fprintf(b.out, "\n## Repetitions (interleaved %s)\n\n", b.setupIDs())
	for rep := 1; rep <= b.o.reps; rep++ {
		for _, s := range b.setups {
			var sm sample
			var err error
			pprof.Do(ctx, pprof.Labels("component", "client"), func(ctx context.Context) {
				sm, err = b.step(ctx, s, rep)
			})
			if err != nil {
				return fmt.Errorf("repetition %d of (%s): %w", rep, s.id, err)
			}
			samples[s.id] = append(samples[s.id], sm)
			b.printSample(rep, s, sm)
		}
	}
	var large *largeResult
	if b.o.large > 0 {
		var err error
		if large, err = b.largeMessage(ctx, b.setups[0]); err != nil {
			return fmt.Errorf("large message: %w", err)
		}
	}
	b.printReport(samples, large)
	return nil
}

// batch sends l to s and waits until the sink has every accepted copy. It
// returns the batch result and the time the sink had them all.
func (b *bench) batch(ctx context.Context, s *setup, l load) (loadResult, error) {
	l.addr = s.addr
	if l.tmpl == nil {
		l.tmpl = b.tmpl
	}
	base := len(b.sink.Deliveries())
	res := l.run(ctx)
	if res.failed > 0 {
		fmt.Fprintf(os.Stderr, "bench: (%s) %d of %d messages failed; first: %v\n", s.id, res.failed, l.n, res.firstErr)
	}
	if res.accepted == 0 {
		return res, fmt.Errorf("no message accepted: %w", res.firstErr)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := b.sink.WaitDeliveries(wctx, base+res.accepted); err != nil {
		return res, fmt.Errorf("%w; end of the log of (%s):\n%s", err, s.id, s.logTail())
	}
	if now := time.Now(); now.After(res.done) {
		res.done = now
	}
	return res, nil
}

// step measures one setup once: throughput, then latency one at a time.
func (b *bench) step(ctx context.Context, s *setup, rep int) (sample, error) {
	var sm sample
	var pids []int
	if s.pids != nil {
		var err error
		if pids, err = s.pids(); err != nil {
			return sm, err
		}
		if err := resetPeak(pids); err != nil {
			return sm, err
		}
	}
	var m0 relayMetrics
	if s.gw != nil {
		var err error
		if m0, err = s.gw.metrics(); err != nil {
			return sm, err
		}
	}
	v0 := s.proxy.counts()
	base := len(b.sink.Deliveries())
	var sut0 time.Duration
	if s.cpu != nil {
		sut0 = s.cpu()
	}
	vault0, self0 := cpuTime(false, b.vault), cpuTime(false, os.Getpid())

	// Throughput.
	tag := fmt.Sprintf("r%d-%s", rep, s.id)
	res, err := b.batch(ctx, s, load{n: b.o.n, conc: b.o.conc, tag: tag + "-load"})
	if err != nil {
		return sm, err
	}
	sm.accepted, sm.failed = res.accepted, res.failed
	sm.msgsPerSec = float64(res.accepted) / res.done.Sub(res.start).Seconds()
	sm.loadP50, sm.loadP99 = percentile(res.lat, 50), percentile(res.lat, 99)
	sm.vault = diffCounts(v0, s.proxy.counts())
	per := func(d time.Duration) time.Duration { return d / time.Duration(res.accepted) }
	if s.cpu != nil {
		sm.cpuSUT = per(s.cpu() - sut0)
	}
	sm.cpuVault, sm.cpuBench = per(cpuTime(false, b.vault)-vault0), per(cpuTime(false, os.Getpid())-self0)
	if s.gw != nil {
		m1, err := s.gw.metrics()
		if err != nil {
			return sm, err
		}
		if n := m1.hopCount - m0.hopCount; n > 0 {
			sm.loadHopMean = time.Duration((m1.hopSum - m0.hopSum) / float64(n) * float64(time.Second))
		}
		sm.sealed = m1.outcomes["seal"] - m0.outcomes["seal"]
		sm.passed = m1.outcomes["pass"] - m0.outcomes["pass"]
	}

	// Latency, one message at a time.
	var added []time.Duration
	l := load{n: b.o.latN, conc: 1, tag: tag + "-serial"}
	var ms0 relayMetrics
	if s.gw != nil {
		prev, err := s.gw.metrics()
		if err != nil {
			return sm, err
		}
		ms0 = prev
		l.each = func(_ int, lat time.Duration) error {
			cur, err := s.gw.metrics()
			if err != nil {
				return err
			}
			hop := time.Duration((cur.hopSum - prev.hopSum) * float64(time.Second))
			prev = cur
			added = append(added, lat-hop)
			return nil
		}
	}
	lres, err := b.batch(ctx, s, l)
	if err != nil {
		return sm, err
	}
	sm.latP50, sm.latP99 = percentile(lres.lat, 50), percentile(lres.lat, 99)
	if s.gw == nil {
		added = lres.lat
	}
	sm.addP50, sm.addP99 = percentile(added, 50), percentile(added, 99)
	if s.gw != nil {
		ms1, err := s.gw.metrics()
		if err != nil {
			return sm, err
		}
		sm.serProcess = meanOf(ms1.processSum-ms0.processSum, ms1.processCount-ms0.processCount)
		sm.serSeal = meanOf(ms1.sealSum-ms0.sealSum, ms1.sealCount-ms0.sealCount)
		sm.serHop = meanOf(ms1.hopSum-ms0.hopSum, ms1.hopCount-ms0.hopCount)
	}

	if pids != nil {
		// Postfix may have started processes during the step.
		if s.gw == nil {
			if pids, err = s.pids(); err != nil {
				return sm, err
			}
		}
		mem, err := readMemory(pids)
		if err != nil {
			return sm, err
		}
		sm.peakRSS, sm.pss, sm.procs = mem.hwm, mem.pss, mem.procs
	}
	for _, d := range b.sink.Deliveries()[base:] {
		if d.TLS {
			sm.tlsCopies++
		}
	}
	return sm, nil
}

type largeResult struct {
	size               int
	elapsed            time.Duration
	rssBefore, hwm     uint64
	sealed             bool
	inProcess, skipped bool
}

// largeMessage sends one large message through s and measures how much its
// peak RSS grows over its RSS just before.
func (b *bench) largeMessage(ctx context.Context, s *setup) (*largeResult, error) {
	tmpl, err := newTemplateOfSize(b.o.large)
	if err != nil {
		return nil, err
	}
	r := &largeResult{size: tmpl.size(), inProcess: s.pids == nil}
	var pids []int
	if s.pids != nil {
		if pids, err = s.pids(); err != nil {
			return nil, err
		}
		mem, err := readMemory(pids)
		if err != nil {
			return nil, err
		}
		r.rssBefore = mem.rss
		if err := resetPeak(pids); err != nil {
			return nil, err
		}
	}
	m0, err := s.gw.metrics()
	if err != nil {
		return nil, err
	}
	l := load{n: 1, conc: 1, tag: "large", tmpl: tmpl}
	l.addr = s.addr
	start := time.Now()
	base := len(b.sink.Deliveries())
	res := l.run(ctx)
	if res.accepted != 1 {
		return nil, fmt.Errorf("the %d-byte message was not accepted: %v", r.size, res.firstErr)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := b.sink.WaitDeliveries(wctx, base+1); err != nil {
		return nil, err
	}
	r.elapsed = time.Since(start)
	if pids != nil {
		mem, err := readMemory(pids)
		if err != nil {
			return nil, err
		}
		r.hwm = mem.hwm
	}
	m1, err := s.gw.metrics()
	if err != nil {
		return nil, err
	}
	r.sealed = m1.outcomes["seal"]-m0.outcomes["seal"] == 1
	return r, nil
}

func (b *bench) printHeader() {
	w := b.out
	host, _ := os.Hostname()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "# Sealpost benchmark, %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "machine:   %s, %d CPUs (GOMAXPROCS %d), %s, load average at start %s\n", host, runtime.NumCPU(),
		runtime.GOMAXPROCS(0), runtime.Version(), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Fprintf(w, "versions:  %s; Postfix %s\n", commandLine(b.o.binary, "version"), commandLine("postconf", "-h", "mail_version"))
	fmt.Fprintf(w, "message:   %d bytes: %d bytes of text and a %d-byte PDF, base64, in multipart/mixed; 1 recipient\n",
		b.tmpl.size(), textBytes, b.tmpl.pdf)
	fmt.Fprintf(w, "runs:      %d repetitions of %s; throughput %d messages at %d connections; latency %d messages one at a time\n",
		b.o.reps, b.setupIDs(), b.o.n, b.o.conc, b.o.latN)
	if b.o.profile != "" {
		fmt.Fprintf(w, "mode:      -profile: the gateways run inside this process (no per-gateway RSS)\n")
	} else {
		fmt.Fprintf(w, "mode:      gateways run as %s serve\n", b.o.binary)
	}
	for _, s := range b.setups {
		fmt.Fprintf(w, "%-11s%s, SMTP %s\n", "("+s.id+")", s.label, s.addr)
	}
}

// setupIDs lists the setups in the order each repetition runs them.
func (b *bench) setupIDs() string {
	var ids []string
	for _, s := range b.setups {
		ids = append(ids, s.id)
	}
	return strings.Join(ids, ", ")
}

// commandLine runs a command and returns its first line of output.
func commandLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return name + ": " + err.Error()
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

func fmtRSS(b uint64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MB", mb(b))
}

// perMessage is the Vault calls on the message path (everything but the
// health probes) per accepted message.
func (sm sample) vaultPerMessage() float64 {
	var n int64
	for k, v := range sm.vault.n {
		if k != vaultHealth {
			n += v
		}
	}
	return float64(n) / float64(sm.accepted)
}

// encryptPerMessage is the Transit encrypt (WrapTransit) requests per
// accepted message; its inverse is the mean batch size.
func (sm sample) encryptPerMessage() float64 {
	return float64(sm.vault.n[vaultEncrypt]) / float64(sm.accepted)
}

// meanOf is sum seconds over count, as a duration; 0 for no count.
func meanOf(sum float64, count uint64) time.Duration {
	if count == 0 {
		return 0
	}
	return time.Duration(sum / float64(count) * float64(time.Second))
}

func (b *bench) printSample(rep int, s *setup, sm sample) {
	w := b.out
	fmt.Fprintf(w, "rep %d (%s) %s\n", rep, s.id, s.label)
	fmt.Fprintf(w, "    throughput     %.1f msg/s (%d accepted, %d failed); at c=%d DATA→250 p50 %.1f p99 %.1f ms",
		sm.msgsPerSec, sm.accepted, sm.failed, b.o.conc, ms(sm.loadP50), ms(sm.loadP99))
	if s.gw != nil {
		fmt.Fprintf(w, ", next hop mean %.1f ms", ms(sm.loadHopMean))
	}
	fmt.Fprintf(w, "\n    CPU per msg    %s %.2f ms, Vault %.2f ms, this process (client, sink, Vault proxy) %.2f ms",
		map[bool]string{true: "gateway", false: "Postfix"}[s.gw != nil], ms(sm.cpuSUT), ms(sm.cpuVault), ms(sm.cpuBench))
	fmt.Fprintf(w, "\n    one at a time  DATA→250 p50 %.2f p99 %.2f ms; added p50 %.2f p99 %.2f ms\n",
		ms(sm.latP50), ms(sm.latP99), ms(sm.addP50), ms(sm.addP99))
	if s.gw != nil {
		fmt.Fprintf(w, "    relay means    process %.2f ms = seal+store %.2f + next hop %.2f + rest %.2f ms\n",
			ms(sm.serProcess), ms(sm.serSeal), ms(sm.serHop), ms(sm.serProcess-sm.serSeal-sm.serHop))
		fmt.Fprintf(w, "    memory         peak RSS %s, PSS %.0f MB; copies sealed %.0f, passed %.0f; over TLS to the sink %d/%d\n",
			fmtRSS(sm.peakRSS), mb(sm.pss), sm.sealed, sm.passed, sm.tlsCopies, sm.accepted+b.o.latN)
		fmt.Fprintf(w, "    Vault          %.2f calls/msg on the message path, of which Transit encrypt %.3f %s\n",
			sm.vaultPerMessage(), sm.encryptPerMessage(), fmtCounts(sm.vault))
	} else {
		fmt.Fprintf(w, "    memory         PSS %.0f MB summed over %d processes (sum of their peak RSS %s counts shared pages once per process); over TLS to the sink %d/%d\n",
			mb(sm.pss), sm.procs, fmtRSS(sm.peakRSS), sm.tlsCopies, sm.accepted+b.o.latN)
	}
}

func fmtCounts(c vaultCounts) string {
	var parts []string
	for k, v := range c.n {
		parts = append(parts, fmt.Sprintf("%s %d, mean %.1f ms", k, v, ms(c.d[k])/float64(v)))
	}
	sort.Strings(parts)
	return "(" + strings.Join(parts, ", ") + ")"
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func (b *bench) printReport(samples map[string][]sample, large *largeResult) {
	w := b.out
	fmt.Fprintf(w, "\n## Medians of %d repetitions\n\n", b.o.reps)
	fmt.Fprintf(w, "| setup | msgs/s | added latency p50 / p99 (c=1) | DATA→250 p50 / p99 (c=%d) | CPU/msg: itself + Vault | peak RSS | Vault calls/msg | of which Transit encrypt |\n", b.o.conc)
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range b.setups {
		ss := samples[s.id]
		rss := "n/a"
		if v := medianOf(ss, func(x sample) float64 { return float64(x.peakRSS) }); v > 0 {
			rss = fmt.Sprintf("%.0f MB", mb(uint64(v)))
		}
		if s.gw == nil {
			rss = fmt.Sprintf("PSS %.0f MB, %d processes", mb(uint64(medianOf(ss, func(x sample) float64 { return float64(x.pss) }))), ss[len(ss)-1].procs)
		}
		vault, encrypt := "—", "—"
		if !b.o.countVault {
			vault, encrypt = "not counted", "not counted"
		} else if s.gw != nil {
			vault = fmt.Sprintf("%.2f", medianOf(ss, sample.vaultPerMessage))
			encrypt = fmt.Sprintf("%.3f", medianOf(ss, sample.encryptPerMessage))
		}
		fmt.Fprintf(w, "| (%s) %s | %.1f | %.2f / %.2f ms | %.1f / %.1f ms | %.2f + %.2f ms | %s | %s | %s |\n", s.id, s.label,
			medianOf(ss, func(x sample) float64 { return x.msgsPerSec }),
			medianOf(ss, func(x sample) float64 { return ms(x.addP50) }),
			medianOf(ss, func(x sample) float64 { return ms(x.addP99) }),
			medianOf(ss, func(x sample) float64 { return ms(x.loadP50) }),
			medianOf(ss, func(x sample) float64 { return ms(x.loadP99) }),
			medianOf(ss, func(x sample) float64 { return ms(x.cpuSUT) }),
			medianOf(ss, func(x sample) float64 { return ms(x.cpuVault) }),
			rss, vault, encrypt)
	}
	fmt.Fprintf(w, "\nWhere a gateway's time goes, one message at a time (medians of the relay's own means, ms):\n\n")
	fmt.Fprintf(w, "| setup | end of DATA to reply | seal + store + audit | next hop | rest | Vault KV read, mean |\n|---|---:|---:|---:|---:|---:|\n")
	for _, s := range b.setups {
		if s.gw == nil {
			continue
		}
		ss := samples[s.id]
		kv := "—"
		if v := medianOf(ss, func(x sample) float64 {
			if n := x.vault.n[vaultDirectory]; n > 0 {
				return ms(x.vault.d[vaultDirectory]) / float64(n)
			}
			return 0
		}); v > 0 {
			kv = fmt.Sprintf("%.2f", v)
		}
		fmt.Fprintf(w, "| (%s) | %.2f | %.2f | %.2f | %.2f | %s |\n", s.id,
			medianOf(ss, func(x sample) float64 { return ms(x.serProcess) }),
			medianOf(ss, func(x sample) float64 { return ms(x.serSeal) }),
			medianOf(ss, func(x sample) float64 { return ms(x.serHop) }),
			medianOf(ss, func(x sample) float64 { return ms(x.serProcess - x.serSeal - x.serHop) }), kv)
	}
	ratio := func(x, y string) float64 {
		var rs []float64
		for i := range samples[x] {
			rs = append(rs, samples[x][i].msgsPerSec/samples[y][i].msgsPerSec)
		}
		return median(rs)
	}
	ab, ac, a2a := ratio("a", "b"), ratio("a", "c"), ratio("a2", "a")
	p99a := medianOf(samples["a"], func(x sample) float64 { return ms(x.addP99) })
	fmt.Fprintf(w, "\nRatios are medians of the per-repetition ratios (each repetition runs %s back to back).\n\n", b.setupIDs())
	fmt.Fprintf(w, "## Wrapping: local RSA-OAEP (a) against Transit-batched encrypt (a2)\n\n")
	fmt.Fprintf(w, "- throughput a2/a = %.2f\n", a2a)
	for _, id := range []string{"a", "a2"} {
		ss := samples[id]
		line := fmt.Sprintf("- (%s): %.1f msg/s, %.2f Vault calls/msg on the message path, %.3f Transit encrypt calls/msg",
			id, medianOf(ss, func(x sample) float64 { return x.msgsPerSec }),
			medianOf(ss, sample.vaultPerMessage), medianOf(ss, sample.encryptPerMessage))
		if e := medianOf(ss, sample.encryptPerMessage); e > 0 {
			line += fmt.Sprintf(" (%.1f messages per batch)", 1/e)
		}
		if !b.o.countVault {
			line = fmt.Sprintf("- (%s): %.1f msg/s; Vault calls not counted (-count-vault=false)", id,
				medianOf(ss, func(x sample) float64 { return x.msgsPerSec }))
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "## Targets\n\n")
	fmt.Fprintf(w, "- throughput a/b = %.2f (sealing costs %.0f%% of pass-all throughput); target ≥ 0.75: %s\n", ab, (1-ab)*100, verdict(ab >= 0.75))
	fmt.Fprintf(w, "- throughput a/c = %.2f; target ≥ 1.00 (the sealing gateway at least as fast as Postfix): %s\n", ac, verdict(ac >= 1.0))
	fmt.Fprintf(w, "- p99 added latency of (a), one message at a time = %.2f ms; target ≤ 10 ms: %s\n", p99a, verdict(p99a <= 10))
	if large != nil {
		switch {
		case large.inProcess:
			fmt.Fprintf(w, "- %d-byte message through (a): %s, sealed %v; RSS growth not measured in -profile mode\n",
				large.size, large.elapsed.Round(time.Millisecond), large.sealed)
		default:
			growth := int64(large.hwm) - int64(large.rssBefore)
			fmt.Fprintf(w, "- %d-byte message through (a): RSS %.0f MB before, peak %.0f MB, growth %.1f MB in %s (sealed: %v); target < 64 MB: %s\n",
				large.size, mb(large.rssBefore), mb(large.hwm), float64(growth)/(1<<20), large.elapsed.Round(time.Millisecond),
				large.sealed, verdict(growth < 64<<20))
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "\nload average at the end: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// problems returns the first few warning, error and fatal lines of a log.
func problems(log string) string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "warning:") || strings.Contains(line, "fatal:") || strings.Contains(line, "error:") {
			out = append(out, line)
			if len(out) == 10 {
				break
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n…\n"
}

// writeAllocProfile writes the heap profile's allocation samples, which
// count every allocation since the process started, to path.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("failed to create allocation profile: %w", err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("failed to write allocation profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to write allocation profile: %w", err)
	}
	return nil
}
