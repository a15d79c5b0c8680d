package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
)

// parseFlags parses a subcommand's flags the one way every subcommand
// should: -h prints the usage to stdout and exits 0; a bad flag is one line
// on stderr naming it (and where the help is), exit 2. ok is false when the
// caller must return code.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (ok bool, code int) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case err == nil:
		fs.SetOutput(stderr)
		return true, 0
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return false, 0
	default:
		fmt.Fprintf(stderr, "%s: %v (see %s -h)\n", fs.Name(), err, fs.Name())
		return false, 2
	}
}

// logLevelFlag reads --log-level (debug, info, warn, error); -v means debug.
func logLevelFlag(name string, verbose bool) (slog.Level, bool) {
	if verbose {
		return slog.LevelDebug, true
	}
	var l slog.Level
	switch name {
	case "debug", "info", "warn", "error":
		return l, l.UnmarshalText([]byte(name)) == nil
	}
	return l, false
}
