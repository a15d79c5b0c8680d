// Command statusedge is the one binary of statusedge: `dev` runs the whole
// system in one process, `origin` one replica of the canonical content,
// `edge` one regional edge node, `ctl` the management CLI, `bench` the load
// and propagation benchmarks.
//
// Exit codes: 0 success, 1 failure, 2 bad usage or bad input, 3 a damaged
// data dir (origin, dev).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name and returns the exit code.
type command struct {
	name  string
	short string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"dev", "run the whole system in one process with the demo site", runDev},
		{"origin", "run one origin replica (raft, management API, renderer)", runOrigin},
		{"edge", "run one edge node", runEdge},
		{"ctl", "manage sites, components, incidents, maintenances and the cluster", runCtl},
		{"bench", "run the load and propagation benchmarks", runBench},
		{"version", "print the version of this binary", runVersion},
	}
}

// runVersion prints the module version and the VCS revision the binary was
// built from (debug.ReadBuildInfo), one line.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] != "-h" && args[0] != "--help" {
		fmt.Fprintf(stderr, "statusedge version: takes no arguments (got %q)\n", args[0])
		return 2
	}
	fmt.Fprintln(stdout, versionLine())
	return 0
}

func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "statusedge (unknown version)"
	}
	v := bi.Main.Version
	var rev, modified, at string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		case "vcs.time":
			at = s.Value
		}
	}
	line := "statusedge " + v
	if rev != "" {
		line += " " + rev[:min(12, len(rev))]
		if modified == "true" {
			line += "+dirty"
		}
	}
	if at != "" {
		line += " " + at
	}
	return line + " " + bi.GoVersion
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help": // asked for: to stdout
		usage(stdout)
		return 0
	case "--version", "-version":
		return runVersion(ctx, nil, stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "statusedge: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: statusedge <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w, "\nRun 'statusedge <command> -h' for a command's flags.")
}
