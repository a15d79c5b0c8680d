package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/client"
)

// Local input checks. They mirror the origin's (docs/API.md §1) so that a
// stressed responder learns about a typo before anything is sent; the origin
// checks everything again.

const (
	ctlMaxBody = 64 << 10
	ctlMaxName = 255
)

var (
	ctlSlugRE  = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	ctlColorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	ctlIDShape = regexp.MustCompile(`^[a-z0-9]{12}$`)
)

func ctlEnumList[T ~string](all []T) string {
	parts := make([]string, len(all))
	for i, v := range all {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}

func ctlCheckEnum[T ~string](flagName, v string, all []T) error {
	for _, a := range all {
		if string(a) == v {
			return nil
		}
	}
	return ctlFlagErr(flagName, "must be one of %s", ctlEnumList(all))
}

func ctlCheckName(flagName, v string) error {
	if strings.TrimSpace(v) == "" {
		return ctlFlagErr(flagName, "must not be empty")
	}
	return ctlCheckText(flagName, v, ctlMaxName)
}

func ctlCheckText(flagName, v string, max int) error {
	if len(v) > max {
		return ctlFlagErr(flagName, "must be at most %d bytes (got %d)", max, len(v))
	}
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return ctlFlagErr(flagName, "must be valid UTF-8 text")
	}
	return nil
}

// ctlCheckTime reads a time flag: RFC 3339 (2026-11-24T14:05:00Z), "now",
// or relative to now ("+1h", "+90m", "-10m"). It rewrites *v as RFC 3339,
// what the API takes.
func ctlCheckTime(flagName string, v *string) (time.Time, error) {
	return ctlParseTime(flagName, v, time.Now())
}

func ctlParseTime(flagName string, v *string, now time.Time) (time.Time, error) {
	s := strings.TrimSpace(*v)
	var t time.Time
	var err error
	switch {
	case s == "now":
		t = now
	case strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-"):
		var d time.Duration
		if d, err = time.ParseDuration(s); err == nil {
			t = now.Add(d)
		}
	default:
		t, err = time.Parse(time.RFC3339, s)
	}
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, ctlFlagErr(flagName, "must be an RFC 3339 time such as 2026-11-24T14:05:00Z, now, or relative such as +1h or -10m")
	}
	t = t.Truncate(time.Second)
	*v = t.UTC().Format(time.RFC3339)
	return t, nil
}

func ctlCheckURL(flagName, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ctlFlagErr(flagName, "must be an http or https URL")
	}
	return nil
}

func ctlCheckPassword(flagName, v string) error {
	if len(v) > 72 || (v != "" && len(v) < 8) {
		return ctlFlagErr(flagName, "must be 8 to 72 bytes (or empty to remove it)")
	}
	return nil
}

func ctlCheckDate(flagName, v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse("2006-01-02", v); err != nil {
		return ctlFlagErr(flagName, "must be a date YYYY-MM-DD")
	}
	return nil
}

func ctlCheckTimeZone(flagName, v string) error {
	if v == "" || v == "Local" || strings.Contains(v, "..") || strings.HasPrefix(v, "/") {
		return ctlFlagErr(flagName, "must be an IANA time zone such as Europe/Berlin")
	}
	if _, err := time.LoadLocation(v); err != nil {
		return ctlFlagErr(flagName, "must be an IANA time zone such as Europe/Berlin")
	}
	return nil
}

func ctlCheckCIDRs(flagName string, vs []string) error {
	for _, v := range vs {
		if _, err := netip.ParsePrefix(v); err != nil {
			return ctlFlagErr(flagName, "%q is not a CIDR prefix such as 10.0.0.0/8", ctlClean(v))
		}
	}
	return nil
}

func ctlCheckPosition(flagName string, v int) error {
	if v < 0 || v > 1_000_000 {
		return ctlFlagErr(flagName, "must be between 0 and 1000000")
	}
	return nil
}

// bodyInput is the --body / --body-file pair; "--body -" reads stdin.
type ctlBody struct{ text, file string }

func (s *ctlSession) bodyFlags(what string) *ctlBody {
	b := &ctlBody{}
	s.fs.StringVar(&b.text, "body", "", what+" (Markdown; - reads stdin)")
	s.fs.StringVar(&b.file, "body-file", "", "read the body from this file")
	return b
}

// read returns the body, nil if none was given and it is optional.
func (s *ctlSession) readBody(b *ctlBody, required bool) (*string, error) {
	hasText, hasFile := s.set["body"], s.set["body-file"]
	var text string
	switch {
	case hasText && hasFile:
		return nil, ctlFlagErr("body", "give --body or --body-file, not both")
	case hasFile:
		f, err := os.Open(b.file)
		if err != nil {
			return nil, ctlFlagErr("body-file", "%v", errors.Unwrap(err))
		}
		defer f.Close()
		if text, err = ctlReadLimited(f); err != nil {
			return nil, ctlFlagErr("body-file", "%v", err)
		}
	case hasText && b.text == "-":
		var err error
		if text, err = ctlReadLimited(s.env.stdin); err != nil {
			return nil, ctlFlagErr("body", "reading stdin: %v", err)
		}
	case hasText:
		text = b.text
	}
	name := "body"
	if hasFile {
		name = "body-file"
	}
	if strings.TrimSpace(text) == "" {
		if required {
			if hasText || hasFile {
				return nil, ctlFlagErr(name, "must not be empty")
			}
			return nil, ctlFlagErr("body", "required (or --body-file F, or --body - to read stdin)")
		}
		if !hasText && !hasFile {
			return nil, nil
		}
		return nil, ctlFlagErr(name, "must not be empty")
	}
	if err := ctlCheckText(name, text, ctlMaxBody); err != nil {
		return nil, err
	}
	return &text, nil
}

// readLimited reads at most one byte over the body limit (so too long is
// reported, not truncated) and drops trailing line breaks.
func ctlReadLimited(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no input")
	}
	b, err := io.ReadAll(io.LimitReader(r, ctlMaxBody+1))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// componentStatus is one --component NAME_OR_ID=STATUS.
type ctlComponentStatus struct {
	ref    string
	status content.ComponentStatus
}

// parseComponentStatuses checks every NAME_OR_ID=STATUS value of a flag.
func ctlParseComponentStatuses(flagName string, vals []string) ([]ctlComponentStatus, error) {
	var out []ctlComponentStatus
	seen := map[string]bool{}
	for _, v := range vals {
		i := strings.LastIndex(v, "=")
		if i <= 0 || strings.TrimSpace(v[:i]) == "" || i == len(v)-1 {
			return nil, ctlFlagErr(flagName, "%q: must be NAME_OR_ID=STATUS, e.g. api=major_outage", ctlClean(v))
		}
		ref, st := strings.TrimSpace(v[:i]), content.ComponentStatus(strings.TrimSpace(v[i+1:]))
		if !st.Valid() {
			return nil, ctlFlagErr(flagName, "%q: status must be one of %s", ctlClean(v), ctlEnumList(content.ComponentStatuses))
		}
		if seen[ref] {
			return nil, ctlFlagErr(flagName, "%q is given twice", ctlClean(ref))
		}
		seen[ref] = true
		out = append(out, ctlComponentStatus{ref: ref, status: st})
	}
	return out, nil
}

// checkRefs checks plain NAME_OR_ID values of a repeatable flag.
func ctlCheckRefs(flagName string, vals []string) error {
	seen := map[string]bool{}
	for _, v := range vals {
		if strings.TrimSpace(v) == "" {
			return ctlFlagErr(flagName, "must not be empty")
		}
		if seen[v] {
			return ctlFlagErr(flagName, "%q is given twice", ctlClean(v))
		}
		seen[v] = true
	}
	return nil
}

type ctlRefKind int

const (
	ctlAnyKind       ctlRefKind = iota
	ctlComponentKind            // prefer components over groups of the same name
	ctlGroupKind                // groups only
)

// resolve maps component names (or ids) to ids with one list call. Matching
// is by id, then exact name, then case-insensitive name; an unknown or
// ambiguous name is bad input naming the flag. If the list call cannot be
// made and every ref already looks like an id, they are sent as they are
// and the origin checks them.
func (s *ctlSession) resolve(ctx context.Context, c *client.Client, site, flagName string, kind ctlRefKind, refs []string) ([]string, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	list, err := c.Components(ctx, site)
	if err != nil {
		allIDs := true
		for _, r := range refs {
			allIDs = allIDs && ctlIDShape.MatchString(r)
		}
		if allIDs && errors.Is(err, client.ErrUnreachable) {
			return refs, nil
		}
		return nil, err
	}
	ids := make([]string, len(refs))
	for i, ref := range refs {
		id, err := ctlMatch(list, ref, kind)
		if err != nil {
			return nil, ctlFlagErr(flagName, "%v", err)
		}
		ids[i] = id
	}
	return ids, nil
}

func ctlMatch(list []*content.Component, ref string, kind ctlRefKind) (string, error) {
	ok := func(c *content.Component) bool { return kind != ctlGroupKind || c.Group }
	for _, c := range list {
		if c.ID == ref && ok(c) {
			return c.ID, nil
		}
	}
	for _, fold := range []bool{false, true} {
		var hits []*content.Component
		for _, c := range list {
			if ok(c) && (c.Name == ref || (fold && strings.EqualFold(c.Name, ref))) {
				hits = append(hits, c)
			}
		}
		if len(hits) > 1 && kind == ctlComponentKind {
			var plain []*content.Component
			for _, c := range hits {
				if !c.Group {
					plain = append(plain, c)
				}
			}
			if len(plain) > 0 {
				hits = plain
			}
		}
		switch {
		case len(hits) == 1:
			return hits[0].ID, nil
		case len(hits) > 1:
			ids := make([]string, len(hits))
			for i, h := range hits {
				ids[i] = h.ID
			}
			return "", fmt.Errorf("%q matches %d components (%s): use the id", ctlClean(ref), len(hits), strings.Join(ids, ", "))
		}
	}
	what := "component"
	if kind == ctlGroupKind {
		what = "group"
	}
	return "", fmt.Errorf("no %s %q on this site (see 'statusedge ctl component list')", what, ctlClean(ref))
}

// resolveOne resolves the positional NAME_OR_ID of a component or group verb.
// componentsInput ends the input of an audience, group or maintenance: an
// update must change something (unchanged: no other field was given), the
// client is connected, and --component names become ids (nil when the flag
// was not given).
func (s *ctlSession) componentsInput(ctx context.Context, site, noun string, unchanged bool, kind ctlRefKind, names []string) (*[]string, error) {
	if unchanged && !s.set["component"] && !s.set["add-component"] && !s.set["remove-component"] {
		return nil, ctlUsagef("%s update: nothing to change (see 'statusedge ctl %s update -h')", noun, noun)
	}
	c, err := s.client()
	if err != nil || !s.set["component"] {
		return nil, err
	}
	ids, err := s.resolve(ctx, c, site, "component", kind, names)
	if err != nil {
		return nil, err
	}
	return &ids, nil
}

// ctlComponentEdits are an update's --add-component and --remove-component:
// the list changes in place, keeping what is not named.
type ctlComponentEdits struct{ add, remove ctlMulti }

func (e *ctlComponentEdits) register(fs *flag.FlagSet, what string) {
	fs.Var(&e.add, "add-component", "update: add a "+what+" component NAME_OR_ID, keeping the others; repeatable")
	fs.Var(&e.remove, "remove-component", "update: remove a "+what+" component NAME_OR_ID, keeping the others; repeatable")
}

// input resolves the edits to ids (nil when not given).
func (e *ctlComponentEdits) input(ctx context.Context, s *ctlSession, site string, create bool, kind ctlRefKind) (add, remove *[]string, err error) {
	if !s.set["add-component"] && !s.set["remove-component"] {
		return nil, nil, nil
	}
	switch {
	case create:
		return nil, nil, ctlFlagErr("add-component", "only on update (give --component to create)")
	case s.set["component"]:
		return nil, nil, ctlFlagErr("component", "replaces the list: use it or --add-component/--remove-component, not both")
	}
	c, err := s.client()
	if err != nil {
		return nil, nil, err
	}
	for _, l := range []struct {
		flag  string
		names ctlMulti
		dst   **[]string
	}{{"add-component", e.add, &add}, {"remove-component", e.remove, &remove}} {
		if !s.set[l.flag] {
			continue
		}
		if err := ctlCheckRefs(l.flag, l.names); err != nil {
			return nil, nil, err
		}
		ids, err := s.resolve(ctx, c, site, l.flag, kind, l.names)
		if err != nil {
			return nil, nil, err
		}
		*l.dst = &ids
	}
	return add, remove, nil
}

func (s *ctlSession) resolveOne(ctx context.Context, c *client.Client, site string, kind ctlRefKind) (string, error) {
	ref := s.args[0]
	if strings.TrimSpace(ref) == "" {
		return "", ctlUsagef("%s %s: the id must not be empty", s.nounName, s.verbName)
	}
	list, err := c.Components(ctx, site)
	if err != nil {
		if ctlIDShape.MatchString(ref) && errors.Is(err, client.ErrUnreachable) {
			return ref, nil
		}
		return "", err
	}
	id, err := ctlMatch(list, ref, kind)
	if err != nil {
		return "", ctlUsagef("%s %s: %v", s.nounName, s.verbName, err)
	}
	return id, nil
}

// checkID checks a positional id argument (incidents, maintenances, audiences).
// idClient checks the id argument, then connects: what every verb on one
// object does first.
func (s *ctlSession) idClient() (*client.Client, error) {
	if err := s.checkID(); err != nil {
		return nil, err
	}
	return s.client()
}

// checkIDs checks every positional id (checkID for each).
func (s *ctlSession) checkIDs() error {
	for _, a := range s.args {
		if strings.TrimSpace(a) == "" || strings.ContainsAny(a, "/?#") {
			return ctlUsagef("%s %s: %q is not an id", s.nounName, s.verbName, ctlClean(a))
		}
	}
	return nil
}

func (s *ctlSession) checkID() error { return s.checkIDs() }
