// Package cli implements the sealpost command line. Each command is a small
// function over the packages that do the work; nothing here holds logic that
// a test of those packages would miss.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/sealpost/sealpost/gateway/config"
)

// Version is set at build time.
var Version = "dev"

// usageError is a command line mistake: print usage, exit 2. reported is set
// when the flag package has already printed the message.
type usageError struct {
	msg      string
	reported bool
}

func (e usageError) Error() string { return e.msg }

type env struct {
	stdout, stderr io.Writer
}

type command struct {
	usage string
	run   func(ctx context.Context, e *env, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":   {"serve --config FILE            run a node (relay, portal, admin)", cmdServe},
		"dev":     {"dev [flags]                    the whole stack on this machine (make run)", cmdDev},
		"config":  {"config check FILE              validate a config file", cmdConfig},
		"keys":    {keysUsage, cmdKeysLifecycle},
		"message": {msgUsage, cmdMessageLifecycle},
		"account": {accountUsage, cmdAccount},
		"audit":   {"audit verify | export [--since SEQ]   the hash-chained audit log", cmdAudit},
		"vault":   {"vault setup                    prepare Vault: mounts, keys, policies, tokens", cmdVault},
		"policy":  {policyUsage, cmdPolicy},
		"extract": {"extract FILE.eml               write a sealed copy's message.eml.age to stdout", cmdExtract},
		"version": {"version                        print the version", cmdVersion},
	}
}

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	loadDevEnv("var/dev.env")
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sealpost: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, &env{stdout: stdout, stderr: stderr}, args[1:])
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		if !errors.Is(err, flag.ErrHelp) && !ue.reported {
			fmt.Fprintf(stderr, "sealpost %s: %v\n", args[0], err)
		}
		fmt.Fprintf(stderr, "usage: sealpost %s\n", c.usage)
		return 2
	}
	fmt.Fprintf(stderr, "sealpost %s: %v\n", args[0], err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Sealpost: an encrypted patient-correspondence gateway.\n\nUsage:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  sealpost %s\n", commands[n].usage)
	}
}

// loadDevEnv sets variables from var/dev.env that are not already set, so
// that commands run beside `sealpost dev` work against it with no flags.
func loadDevEnv(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
}

func newFlags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseFlags parses args; a bad flag is a usage error (exit 2), which the
// flag package has already reported with the flags' defaults.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{msg: err.Error(), reported: true}
	}
	return nil
}

// loadConfig reads --config, or $SEALPOST_CONFIG.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		path = os.Getenv("SEALPOST_CONFIG")
	}
	if path == "" {
		return nil, usageError{msg: "--config FILE is required (or SEALPOST_CONFIG, set by var/dev.env)"}
	}
	return config.Load(path)
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(cfg.Log.Level) {
	case "debug", "trace":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdVersion(_ context.Context, e *env, _ []string) error {
	fmt.Fprintln(e.stdout, "sealpost", Version)
	return nil
}
