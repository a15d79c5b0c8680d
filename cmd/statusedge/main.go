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
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
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
