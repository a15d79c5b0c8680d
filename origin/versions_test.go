package origin

import (
	"bytes"
	"io"
	"maps"
	"slices"
	"testing"
	"time"
)

// A versions delta lists only the sites changed after the edge's version
// and those deleted after it; a replica that cannot tell the deletions (it
// restored a snapshot newer than the edge's version) or is behind the edge
// answers with every site.
func TestVersionsDelta(t *testing.T) {
	f := newFSM()
	var idx uint64
	apply := func(cmd *Command) {
		t.Helper()
		idx++
		cmd.At = t0.Add(time.Duration(idx) * time.Minute)
		if res := f.applyCommand(idx, cmd); res.Err != nil {
			t.Fatalf("%s: %v", cmd.Op, res.Err)
		}
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		apply(&Command{Op: OpCreateSite, NewIDs: []string{"s" + name}, SiteIn: &SiteInput{Name: ptrTo(name), Slug: ptrTo(name)}})
	}
	apply(&Command{Op: OpPatchSite, Site: "sb", SiteIn: &SiteInput{Name: ptrTo("b2")}})                                     // 5
	apply(&Command{Op: OpDeleteSite, Site: "sc"})                                                                           // 6
	apply(&Command{Op: OpDeleteSite, Site: "sd"})                                                                           // 7
	apply(&Command{Op: OpCreateSite, NewIDs: []string{"sd"}, SiteIn: &SiteInput{Name: ptrTo("d again"), Slug: ptrTo("d")}}) // 8: back
	type answer struct {
		sites   map[string]uint64
		removed []string
		delta   bool
	}
	ask := func(after uint64) answer {
		_, sites, removed, delta := f.versions(after)
		slices.Sort(removed)
		return answer{sites, removed, delta}
	}
	all := map[string]uint64{"sa": 1, "sb": 5, "sd": 8}
	tests := []struct {
		name  string
		after uint64
		want  answer
	}{
		{"first ask: every site", 0, answer{all, nil, false}},
		{"since 4: b changed, c gone, d gone and back", 4, answer{map[string]uint64{"sb": 5, "sd": 8}, []string{"sc"}, true}},
		{"since 6", 6, answer{map[string]uint64{"sd": 8}, nil, true}},
		{"up to date: nothing", 8, answer{map[string]uint64{}, nil, true}},
		{"an edge ahead of this replica: every site", 9, answer{all, nil, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ask(tt.after)
			if got.delta != tt.want.delta || !maps.Equal(got.sites, tt.want.sites) || !slices.Equal(got.removed, tt.want.removed) {
				t.Fatalf("versions(%d) = %+v, want %+v", tt.after, got, tt.want)
			}
		})
	}
	// After a snapshot restore the deletions before it are not known one
	// by one: an edge from before it gets every site; one since, a delta.
	var buf bytes.Buffer
	if err := encodeState(&buf, f.st.clone()); err != nil {
		t.Fatal(err)
	}
	if err := f.Restore(io.NopCloser(&buf)); err != nil {
		t.Fatal(err)
	}
	if got := ask(4); got.delta || !maps.Equal(got.sites, all) {
		t.Fatalf("versions(4) after a restore at 8 = %+v, want every site", got)
	}
	apply(&Command{Op: OpDeleteSite, Site: "sa"}) // 9
	if got := ask(8); !got.delta || len(got.sites) != 0 || !slices.Equal(got.removed, []string{"sa"}) {
		t.Fatalf("versions(8) after the restore = %+v, want sa removed", got)
	}
}
