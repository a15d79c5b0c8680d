package main

// statusedge ctl: the management CLI (docs/API.md §1) for responders in the
// middle of an outage. One FlagSet per verb, a file per noun (ctl_*.go).
//
// Exit codes: 0 done; 2 bad input, found locally or refused by the origin
// (400, 409, 422); 1 anything else (401, 403, 404, 5xx, network, timeout).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/statusedge/statusedge/origin/client"
)

func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &ctlEnv{getenv: os.Getenv, stdin: os.Stdin, stdout: stdout, stderr: stderr}
	return e.run(ctx, args)
}

// ctlEnv is what one ctl invocation reads and writes; tests build their own.
type ctlEnv struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	// tune, if set, adjusts the client config (tests shorten the backoff).
	tune func(*client.Config)
}

// noun is one thing ctl manages; verb one action on it.
type ctlNoun struct {
	name, short string
	verbs       []ctlVerb
}

type ctlVerb struct {
	name  string
	args  string // positional argument in the usage line, e.g. "ID" ("" if none)
	short string
	// setup registers the verb's flags on fs and returns the action, which
	// runs after parsing.
	setup func(fs *flag.FlagSet, s *ctlSession) func(ctx context.Context) error
}

func ctlNouns() []ctlNoun {
	return []ctlNoun{siteNoun(), domainNoun(), componentNoun(), groupNoun(), incidentNoun(), maintenanceNoun(), audienceNoun(), clusterNoun()}
}

// ctlDefaultTimeout bounds a verb, retries included, unless --timeout says.
const ctlDefaultTimeout = 30 * time.Second

// globals are the flags every verb takes (before or after the noun and verb).
type ctlGlobals struct {
	origin, token, site, idemKey string
	json                         bool
	timeout                      time.Duration
}

func (g *ctlGlobals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.origin, "origin", g.origin, "origin management API URL, e.g. http://127.0.0.1:7080 (env STATUSEDGE_ORIGIN)")
	fs.StringVar(&g.token, "token", g.token, "operator or site API token (env STATUSEDGE_TOKEN)")
	fs.BoolVar(&g.json, "json", g.json, "print the origin's raw JSON answer")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "give up after this long, retries included")
	fs.StringVar(&g.idemKey, "idempotency-key", g.idemKey, "reuse the Idempotency-Key of an earlier attempt whose answer was lost")
}

// session is one verb's invocation.
type ctlSession struct {
	env      *ctlEnv
	g        *ctlGlobals
	fs       *flag.FlagSet
	nounName string
	verbName string
	args     []string // positional arguments
	set      map[string]bool

	c        *client.Client
	idemKey  string // the key of this invocation's mutating call, once made
	mutating bool
	loc      *time.Location // the site's time zone, for times printed (nil: UTC)
}

// usageError is bad input found before anything was sent: exit 2.
type ctlUsageError struct{ msg string }

func (e *ctlUsageError) Error() string { return e.msg }

func ctlUsagef(format string, args ...any) error {
	return &ctlUsageError{msg: fmt.Sprintf(format, args...)}
}

// flagErr names a flag and what is wrong with its value.
func ctlFlagErr(name, format string, args ...any) error {
	return ctlUsagef("--%s: %s", name, fmt.Sprintf(format, args...))
}

func (e *ctlEnv) run(ctx context.Context, args []string) int {
	g := &ctlGlobals{
		origin:  e.getenv("STATUSEDGE_ORIGIN"),
		token:   e.getenv("STATUSEDGE_TOKEN"),
		site:    e.getenv("STATUSEDGE_SITE"),
		timeout: ctlDefaultTimeout,
	}
	top := flag.NewFlagSet("statusedge ctl", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	g.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.usage(e.stdout)
			return 0
		}
		fmt.Fprintf(e.stderr, "statusedge ctl: %v\n", err)
		return 2
	}
	rest := top.Args()
	if len(rest) == 0 || rest[0] == "help" {
		e.usage(e.stderr)
		if len(rest) == 0 {
			return 2
		}
		return 0
	}
	if len(rest) >= 2 && rest[0] == "site" && rest[1] == "domain" { // the one noun of two words
		rest = append([]string{"site domain"}, rest[2:]...)
	}
	var n *ctlNoun
	nouns := ctlNouns()
	for i := range nouns {
		if nouns[i].name == rest[0] {
			n = &nouns[i]
		}
	}
	if n == nil {
		fmt.Fprintf(e.stderr, "statusedge ctl: unknown noun %q (want %s)\n", ctlClean(rest[0]), ctlNounNames(nouns))
		return 2
	}
	if len(rest) < 2 || rest[1] == "-h" || rest[1] == "--help" || rest[1] == "help" {
		e.nounUsage(e.stderr, n)
		if len(rest) < 2 {
			return 2
		}
		return 0
	}
	var v *ctlVerb
	for i := range n.verbs {
		if n.verbs[i].name == rest[1] {
			v = &n.verbs[i]
		}
	}
	if v == nil {
		fmt.Fprintf(e.stderr, "statusedge ctl: %s: unknown verb %q (want %s)\n", n.name, ctlClean(rest[1]), ctlVerbNames(n))
		return 2
	}

	fs := flag.NewFlagSet("statusedge ctl "+n.name+" "+v.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	s := &ctlSession{env: e, g: g, fs: fs, nounName: n.name, verbName: v.name, set: map[string]bool{}}
	action := v.setup(fs, s)
	pos, err := ctlParseArgs(fs, rest[2:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.verbUsage(e.stdout, n, v, fs)
			return 0
		}
		fmt.Fprintf(e.stderr, "statusedge ctl: %s\n", ctlFlagParseMessage(err))
		return 2
	}
	fs.Visit(func(f *flag.Flag) { s.set[f.Name] = true })
	s.args = pos
	wantArgs := len(strings.Fields(v.args))
	switch {
	case len(pos) < wantArgs:
		fmt.Fprintf(e.stderr, "statusedge ctl: %s %s: missing %s (usage: statusedge ctl %s %s %s [flags])\n",
			n.name, v.name, v.args, n.name, v.name, v.args)
		return 2
	case len(pos) > wantArgs:
		fmt.Fprintf(e.stderr, "statusedge ctl: %s %s: unexpected argument %q\n", n.name, v.name, ctlClean(pos[wantArgs]))
		return 2
	}
	if g.timeout <= 0 {
		fmt.Fprintln(e.stderr, "statusedge ctl: --timeout: must be positive")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	return s.exit(action(ctx))
}

// parseInterleaved parses flags and positional arguments in any order (the
// flag package stops at the first positional one). After "--" everything is
// positional.
func ctlParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagParseMessage turns the flag package's errors into "--name: reason".
func ctlFlagParseMessage(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return fmt.Sprintf("--%s: unknown flag", strings.TrimLeft(name, "-"))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("--%s: needs a value", strings.TrimLeft(name, "-"))
	}
	// invalid value "x" for flag -position: parse error
	if i := strings.Index(msg, " for flag -"); i >= 0 && strings.HasPrefix(msg, "invalid ") {
		rest := msg[i+len(" for flag -"):]
		name, reason, _ := strings.Cut(rest, ": ")
		return fmt.Sprintf("--%s: %s (%s)", name, reason, msg[:i])
	}
	return ctlClean(msg)
}

// client returns the API client, checking --origin and --token first.
func (s *ctlSession) client() (*client.Client, error) {
	if s.c != nil {
		return s.c, nil
	}
	if s.g.origin == "" {
		return nil, ctlFlagErr("origin", "required (or set STATUSEDGE_ORIGIN): the management API, e.g. http://127.0.0.1:7080")
	}
	if s.g.token == "" {
		return nil, ctlFlagErr("token", "required (or set STATUSEDGE_TOKEN)")
	}
	cfg := client.Config{BaseURL: s.g.origin, Token: s.g.token, UserAgent: "statusedge-ctl"}
	if s.env.tune != nil {
		s.env.tune(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		if strings.Contains(err.Error(), "token") {
			return nil, ctlFlagErr("token", "must not contain line breaks")
		}
		return nil, ctlFlagErr("origin", "must be an http or https URL such as http://127.0.0.1:7080 (the management API)")
	}
	s.c = c
	return c, nil
}

// write returns the call options of this invocation's (one) mutating call:
// the same Idempotency-Key for every retry, and the raw answer for --json.
func (s *ctlSession) write(raw *[]byte, replayed *bool) []client.CallOption {
	s.mutating = true
	if s.idemKey == "" {
		s.idemKey = s.g.idemKey
		if s.idemKey == "" {
			s.idemKey = client.NewIdempotencyKey()
		}
	}
	return []client.CallOption{client.IdempotencyKey(s.idemKey), client.RawBody(raw), client.Replayed(replayed)}
}

// siteRef returns --site (or STATUSEDGE_SITE).
func (s *ctlSession) siteRef() (string, error) {
	if strings.TrimSpace(s.g.site) == "" {
		return "", ctlFlagErr("site", "required (a site id or slug; or set STATUSEDGE_SITE)")
	}
	return s.g.site, nil
}

// siteFlag registers --site on a verb's flags.
func (s *ctlSession) siteFlag() {
	s.fs.StringVar(&s.g.site, "site", s.g.site, "site id or slug (env STATUSEDGE_SITE)")
}

// out prints the raw JSON with --json, else calls human.
func (s *ctlSession) out(raw []byte, human func(w io.Writer)) {
	if s.g.json {
		if len(raw) == 0 {
			return
		}
		s.env.stdout.Write(raw)
		if raw[len(raw)-1] != '\n' {
			io.WriteString(s.env.stdout, "\n")
		}
		return
	}
	human(s.env.stdout)
}

// replayNote is appended to a summary when the origin replayed a POST.
func ctlReplayNote(replayed bool) string {
	if replayed {
		return " (already applied by an earlier attempt; not applied twice)"
	}
	return ""
}

// exit prints err as one line and returns the exit code.
func (s *ctlSession) exit(err error) int {
	if err == nil {
		return 0
	}
	line, code := s.describe(err)
	fmt.Fprintf(s.env.stderr, "statusedge ctl: %s\n", line)
	return code
}

func (s *ctlSession) describe(err error) (string, int) {
	var ue *ctlUsageError
	if errors.As(err, &ue) {
		return ctlClean(ue.msg), 2
	}
	retry := ""
	if s.mutating && s.idemKey != "" {
		retry = fmt.Sprintf("; it may or may not have been applied: rerun with --idempotency-key %s to retry safely", s.idemKey)
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		if ae.Message == "" && ae.Field == "" && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) {
			// The API always says why in JSON: this is something else, such
			// as an edge (the pages' address, :8080) given as --origin.
			return fmt.Sprintf("--origin %s is not a management API (HTTP %d without its error body): give the API's address, as statusedge dev prints it (http://127.0.0.1:7080 by default), not the pages'",
				ctlClean(s.g.origin), ae.Status), 2
		}
		msg := ctlClean(ae.Message)
		if msg == "" {
			msg = strings.ToLower(http.StatusText(ae.Status))
		}
		what := msg
		if ae.Field != "" {
			what = ctlClean(ae.Field) + ": " + msg
		}
		hint := ""
		if f := s.flagFor(ae.Field); f != "" {
			hint = "; check --" + f
		}
		switch {
		case ae.Status == http.StatusBadRequest || ae.Status == http.StatusUnprocessableEntity || ae.Status == http.StatusConflict:
			return fmt.Sprintf("%s (HTTP %d%s)", what, ae.Status, hint), 2
		case ae.Status == http.StatusUnauthorized:
			return fmt.Sprintf("%s (HTTP 401; check --token or STATUSEDGE_TOKEN)", what), 1
		case ae.Status == http.StatusForbidden:
			return fmt.Sprintf("%s (HTTP 403; this token has no rights here: use the site's token or the operator token)", what), 1
		case ae.Status == http.StatusNotFound:
			if s.verbName == "delete" && ae.Attempts > 1 {
				return fmt.Sprintf("%s (HTTP 404; an earlier attempt whose answer was lost may have deleted it)", what), 1
			}
			return fmt.Sprintf("%s (HTTP 404%s)", what, hint), 2 // an id or name that is not there: bad input
		case ae.Status >= 500:
			return fmt.Sprintf("origin unavailable: %s (HTTP %d after %d attempts%s)", what, ae.Status, ae.Attempts, retry), 1
		}
		return fmt.Sprintf("%s (HTTP %d)", what, ae.Status), 1
	}
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, client.ErrUnreachable) {
		return fmt.Sprintf("gave up after --timeout %v%s", s.g.timeout, retry), 1
	}
	var unreach *client.UnreachableError
	if errors.As(err, &unreach) {
		cause := unreach.Err
		var ue *url.Error
		if errors.As(cause, &ue) {
			cause = ue.Err // drop the repeated method and URL
		}
		why := ctlClean(cause.Error())
		if errors.Is(err, context.DeadlineExceeded) {
			why = fmt.Sprintf("no answer within --timeout %v", s.g.timeout)
		}
		return fmt.Sprintf("cannot reach the origin at %s (%d attempts): %s%s", ctlClean(s.g.origin), unreach.Attempts, why, retry), 1
	}
	return ctlClean(err.Error()), 1
}

// flagFor maps an API error's field ("scheduled_until", "components.abc",
// "branding.accent_color") to the verb's flag, or "".
func (s *ctlSession) flagFor(field string) string {
	if field == "" {
		return ""
	}
	parts := strings.Split(field, ".")
	for _, p := range []string{parts[0], parts[len(parts)-1]} {
		name := strings.ReplaceAll(p, "_", "-")
		for _, cand := range []string{name, strings.TrimSuffix(name, "s"), strings.TrimSuffix(name, "-id")} {
			if cand != "" && s.fs.Lookup(cand) != nil && !ctlIsGlobal(cand) {
				return cand
			}
		}
	}
	return ""
}

func ctlIsGlobal(name string) bool {
	switch name {
	case "origin", "token", "json", "timeout", "idempotency-key":
		return true
	}
	return false
}

// clean makes text from the network or the user safe to print on one
// terminal line: control characters (escape sequences, line breaks) become
// spaces or '?', and it is cut at 300 characters.
func ctlClean(s string) string {
	s = strings.ToValidUTF8(s, "?")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 300 {
			b.WriteString("…")
			break
		}
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteRune(' ')
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.In(r, unicode.Bidi_Control):
			b.WriteRune('?')
		default:
			b.WriteRune(r)
		}
		n++
	}
	return b.String()
}

// multiFlag is a repeatable string flag.
type ctlMulti []string

func (m *ctlMulti) String() string { return strings.Join(*m, ",") }
func (m *ctlMulti) Set(v string) error {
	*m = append(*m, v)
	return nil
}

// tableWriter prints aligned columns.
func ctlTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// outZoned is out for output that prints times: they are in the site's
// zone, as its page shows them (UTC when the site cannot be read).
func (s *ctlSession) outZoned(ctx context.Context, site string, raw []byte, text func(io.Writer)) {
	if !s.g.json && s.loc == nil && s.c != nil {
		s.loc = time.UTC
		if st, err := s.c.Site(ctx, site); err == nil {
			if loc, err := time.LoadLocation(st.TimeZone); err == nil {
				s.loc = loc
			}
		}
	}
	s.out(raw, text)
}

// tm is t as printed: in the site's zone once outZoned has read it.
func (s *ctlSession) tm(t time.Time) string {
	if t.IsZero() || s.loc == nil || s.loc == time.UTC {
		return ctlTime(t)
	}
	return t.In(s.loc).Format("2006-01-02 15:04:05 MST")
}

func (s *ctlSession) tmPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return s.tm(*t)
}

func ctlTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// firstLine is the first line of a Markdown body, shortened for a table.
func ctlFirstLine(s string, max int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = ctlClean(s)
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}

func ctlNounNames(ns []ctlNoun) string {
	names := make([]string, len(ns))
	for i, n := range ns {
		names[i] = n.name
	}
	return strings.Join(names, ", ")
}

func ctlVerbNames(n *ctlNoun) string {
	names := make([]string, len(n.verbs))
	for i, v := range n.verbs {
		names[i] = v.name
	}
	return strings.Join(names, ", ")
}

func (e *ctlEnv) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: statusedge ctl [flags] <noun> <verb> [flags]")
	fmt.Fprintln(w, "\nOrigin and token also come from STATUSEDGE_ORIGIN and STATUSEDGE_TOKEN, the site from STATUSEDGE_SITE.")
	fmt.Fprintln(w, "\nflags of every verb (before or after the noun and verb):")
	gfs := flag.NewFlagSet("", flag.ContinueOnError)
	(&ctlGlobals{timeout: ctlDefaultTimeout}).register(gfs)
	gtw := ctlTable(w)
	gfs.VisitAll(func(f *flag.Flag) { fmt.Fprintf(gtw, "  --%s\t%s%s\n", f.Name, f.Usage, ctlDefault(f)) })
	gtw.Flush()
	fmt.Fprintln(w, "\nnouns and verbs:")
	tw := ctlTable(w)
	for _, n := range ctlNouns() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", n.name, ctlVerbNames(&n), n.short)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nRun 'statusedge ctl <noun> <verb> -h' for a verb's flags. Exit codes: 0 ok, 2 bad input, 1 other failures.")
}

func (e *ctlEnv) nounUsage(w io.Writer, n *ctlNoun) {
	fmt.Fprintf(w, "usage: statusedge ctl %s <verb> [flags]\n\n%s\n\nverbs:\n", n.name, n.short)
	tw := ctlTable(w)
	for _, v := range n.verbs {
		fmt.Fprintf(tw, "  %s %s\t%s\n", v.name, v.args, v.short)
	}
	tw.Flush()
}

// ctlDefault is " (default X)" for a flag whose default is not its zero
// value, so help says what leaving it out means.
func ctlDefault(f *flag.Flag) string {
	switch f.DefValue {
	case "", "false", "0", "0s", "[]":
		return ""
	}
	return fmt.Sprintf(" (default %s)", f.DefValue)
}

func (e *ctlEnv) verbUsage(w io.Writer, n *ctlNoun, v *ctlVerb, fs *flag.FlagSet) {
	args := ""
	if v.args != "" {
		args = " " + v.args
	}
	fmt.Fprintf(w, "usage: statusedge ctl %s %s%s [flags]\n\n%s\n\nflags:\n", n.name, v.name, args, v.short)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	tw := ctlTable(w)
	for _, name := range names {
		if ctlIsGlobal(name) {
			continue
		}
		f := fs.Lookup(name)
		fmt.Fprintf(tw, "  --%s\t%s%s\n", name, f.Usage, ctlDefault(f))
	}
	tw.Flush()
	fmt.Fprintln(w, "  and --origin, --token, --json, --timeout, --idempotency-key (see 'statusedge ctl -h')")
}
