package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestREADMECommands runs every shell command README.md shows, in order, as
// written and with the defaults, the way a newcomer would from a fresh
// clone: `make run` (its printed URL answers a plain Go client), the ctl and
// curl examples against it, `dev --regions 3` from a directory where ./data
// is relative, `make build`, and the bench commands with -h. The deployment
// examples name hosts of a real cluster, so only their flags are checked
// (parsed up to a trailing -h). A command no row covers fails the test: a
// README change comes with its check.
func TestREADMECommands(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(t, filepath.Join(root, "README.md"))
	bin := filepath.Join(t.TempDir(), "statusedge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	r := &readmeRun{t: t, root: root, bin: bin, env: map[string]string{}, vars: map[string]string{}}
	defer r.stopAll()
	for _, c := range cmds {
		t.Logf("$ %s", c)
		if !r.runOne(c) {
			t.Errorf("README.md shows %q, which TestREADMECommands does not know how to check: add a row", c)
		}
	}
	if r.ran == 0 {
		t.Fatal("no README command ran")
	}
}

// readmeCommands returns the commands of README.md's ```sh blocks:
// continuation lines joined, trailing comments and comment lines dropped.
func readmeCommands(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	in, cur := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		case !in:
			continue
		}
		if i := strings.Index(line, "   #"); i >= 0 {
			line = line[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\")
			continue
		}
		if cur += line; strings.Contains(cur, "'") && strings.Count(cur, "'")%2 == 1 {
			cur += "\n" // a quoted string goes on
			continue
		}
		if c := strings.Join(strings.Fields(strings.TrimSpace(cur)), " "); c != "" {
			cmds = append(cmds, c)
		}
		cur = ""
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}

// readmeRun is the newcomer's terminal: the environment exported so far,
// values printed by earlier commands, and the long-running commands started.
type readmeRun struct {
	t    *testing.T
	root string
	bin  string // statusedge built from this tree
	env  map[string]string
	vars map[string]string // placeholder → value (the admin token, an incident id)
	bg   []*bgCommand
	ran  int
}

type bgCommand struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

var (
	readmeToken    = regexp.MustCompile(`admin token\s+(\S+)`)
	readmePage     = regexp.MustCompile(`page (http://127\.0\.0\.1:\d+/)`)
	readmeIncident = regexp.MustCompile(`created incident (\S+)`)
)

// runOne checks one command; false means no row covers it.
func (r *readmeRun) runOne(c string) bool {
	t := r.t
	switch {
	case c == "make test":
		return true // the command running this test
	case c == "make run":
		r.stopAll()
		b := r.start("make run", r.root, append(r.environ(), "DATA="+t.TempDir()), "make", "run")
		out := r.waitReady(b)
		r.vars["<admin token printed by make run>"] = readmeToken.FindStringSubmatch(out)[1]
		r.checkPages(out, 1)
	case strings.HasPrefix(c, "go run ./cmd/statusedge dev"):
		r.stopAll()
		args := strings.Fields(strings.TrimPrefix(c, "go run ./cmd/statusedge "))
		// A fresh directory, so the default ./data is relative, as in a clone.
		b := r.start(c, t.TempDir(), r.environ(), r.bin, args...)
		r.checkPages(r.waitReady(b), strings.Count(c, "--regions 3")*2+1)
	case c == "make build":
		r.sh(c, r.root)
		if _, err := os.Stat(filepath.Join(r.root, "bin", "statusedge")); err != nil {
			t.Errorf("make build: %v", err)
		}
	case strings.HasPrefix(c, "export "):
		for _, kv := range strings.Fields(strings.TrimPrefix(r.subst(c), "export ")) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("export %q", kv)
			}
			r.env[k] = v
		}
	case strings.Contains(c, "bin/statusedge ctl "):
		out := r.sh(r.subst(c), r.root)
		if m := readmeIncident.FindStringSubmatch(out); m != nil {
			r.vars["<incident id>"] = m[1]
		}
	case strings.HasPrefix(c, "curl "):
		r.componentIDs()
		out := r.sh(r.subst(c), r.root)
		if !strings.Contains(out, `"id"`) || strings.Contains(out, `"error"`) {
			t.Errorf("%s: %s", c, out)
		}
	case c == "make bench":
		// Five minutes of the machine: the target must exist and say what
		// it runs (its statusedge commands' flags are checked below).
		if out := r.sh("make -n bench", r.root); !strings.Contains(out, "statusedge bench") {
			t.Errorf("make -n bench runs no statusedge bench:\n%s", out)
		}
	case strings.HasPrefix(c, "bin/statusedge bench "):
		// Benchmarks take minutes and the machine: their help must work.
		out := r.sh(c+" -h", r.root)
		if !strings.Contains(strings.ToLower(out), "usage") {
			t.Errorf("%s -h printed no usage:\n%s", c, out)
		}
	case strings.HasPrefix(c, "go test ") && strings.Contains(c, "-bench"):
		// Compiles the benchmarks without running them.
		r.sh(regexp.MustCompile(`-bench \S+`).ReplaceAllString(c, "-bench NONE"), r.root)
	case strings.HasPrefix(c, "statusedge ctl site domain "):
		// A custom domain needs DNS the reader controls: the verb and its
		// flags must exist and parse.
		out := r.sh(r.bin+strings.TrimPrefix(c, "statusedge")+" -h", r.root)
		if !strings.Contains(strings.ToLower(out), "usage") {
			t.Errorf("%s -h printed no usage:\n%s", c, out)
		}
	case strings.HasPrefix(c, "statusedge origin "), strings.HasPrefix(c, "statusedge edge "):
		// Hosts of a real deployment: the flags must exist and parse.
		r.sh(r.bin+strings.TrimPrefix(c, "statusedge")+" -h", r.root)
	default:
		return false
	}
	r.ran++
	return true
}

func (r *readmeRun) environ() []string {
	env := os.Environ()
	for k, v := range r.env {
		env = append(env, k+"="+v)
	}
	return env
}

func (r *readmeRun) subst(c string) string {
	for k, v := range r.vars {
		c = strings.ReplaceAll(c, k, v)
	}
	return c
}

// sh runs c with bash in dir and fails the test unless it exits 0.
func (r *readmeRun) sh(c, dir string) string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", c)
	cmd.Dir, cmd.Env = dir, r.environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Errorf("%s: %v\n%s", c, err, out)
	}
	return string(out)
}

// start runs a long-running command in its own process group.
func (r *readmeRun) start(name, dir string, env []string, prog string, args ...string) *bgCommand {
	r.t.Helper()
	b := &bgCommand{name: name, out: &lockedBuffer{}, done: make(chan error, 1)}
	b.cmd = exec.Command(prog, args...)
	b.cmd.Dir, b.cmd.Env = dir, env
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Wait must not hang on an output pipe that something the command
	// started still holds once it has exited.
	b.cmd.WaitDelay = 10 * time.Second
	if err := b.cmd.Start(); err != nil {
		r.t.Fatalf("%s: %v", name, err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	r.bg = append(r.bg, b)
	return b
}

// waitReady waits until a dev system printed its admin token.
func (r *readmeRun) waitReady(b *bgCommand) string {
	r.t.Helper()
	deadline := time.After(3 * time.Minute)
	for {
		if out := b.out.String(); readmeToken.MatchString(out) {
			return out
		}
		select {
		case err := <-b.done:
			r.t.Fatalf("%s exited before it was ready (%v):\n%s", b.name, err, b.out.String())
		case <-deadline:
			r.t.Fatalf("%s printed no admin token:\n%s", b.name, b.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkPages fetches every page URL a dev system printed with a plain Go
// client: the URL must work as printed.
func (r *readmeRun) checkPages(out string, want int) {
	r.t.Helper()
	urls := readmePage.FindAllStringSubmatch(out, -1)
	if len(urls) != want {
		r.t.Errorf("%d page URLs printed, want %d:\n%s", len(urls), want, out)
	}
	for _, m := range urls {
		resp, err := http.Get(m[1])
		if err != nil {
			r.t.Errorf("GET %s: %v", m[1], err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Acme Cloud")) {
			r.t.Errorf("GET %s: %d %.200s", m[1], resp.StatusCode, body)
		}
	}
}

// componentIDs makes "<component id>" the demo's API component, found the
// way the README says to.
func (r *readmeRun) componentIDs() {
	if _, ok := r.vars["<component id>"]; ok {
		return
	}
	out := r.sh(r.bin+" ctl --json component list", r.root)
	var cs []struct{ ID, Name string }
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		r.t.Fatalf("component list: %v\n%s", err, out)
	}
	for _, c := range cs {
		if c.Name == "API" {
			r.vars["<component id>"] = c.ID
		}
	}
}

// stopAll interrupts the long-running commands (Ctrl-C) and requires each
// to stop cleanly.
func (r *readmeRun) stopAll() {
	for _, b := range r.bg {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGINT)
		select {
		case err := <-b.done:
			// make itself reports an interrupted recipe as an error; what
			// counts is that statusedge stopped cleanly (below).
			if err != nil && b.name != "make run" {
				r.t.Errorf("%s after Ctrl-C: %v\n%s", b.name, err, b.out.String())
			}
		case <-time.After(60 * time.Second):
			_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
			r.t.Errorf("%s did not stop within 60 s of Ctrl-C:\n%s", b.name, b.out.String())
		}
		if !strings.Contains(b.out.String(), "stopped") {
			r.t.Errorf("%s did not say it stopped:\n%s", b.name, b.out.String())
		}
	}
	r.bg = nil
}
