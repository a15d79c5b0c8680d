package origin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

// snapshotState builds a state with everything a snapshot must keep: the
// demo site, synthetic sites with history, a site with empty (not nil)
// slices and awkward strings, token hashes, idempotency records, members.
func snapshotState(t *testing.T) *state {
	t.Helper()
	m := newMachine(t)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	m.ok(&Command{Op: OpImportSite, Import: demo.Site(now)})
	st := m.st
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 20 {
		s := syntheticSite(fmt.Sprintf("syn%02d", i), 5, 30, now, rng)
		s.Version = uint64(100 + i)
		st.Sites[s.ID] = s
	}
	odd := syntheticSite("odd", 1, 2, now, rng)
	odd.Name = "Ünïcode \"quoted\"\n<script>&amp;\u2028 \x00 tab\t"
	odd.Incidents, odd.Maintenances, odd.Audiences = []*content.Incident{}, []*content.Maintenance{}, []*content.Audience{}
	// An instant with an offset: encoding/json gives it time.Local when the
	// offset matches the local zone's, a fixed zone otherwise.
	odd.CreatedAt = time.Date(2026, 11, 1, 9, 30, 0, 0, time.FixedZone("", 3600))
	odd.UpdatedAt = time.Date(2026, 7, 1, 9, 30, 0, 123, time.FixedZone("", -4*3600))
	st.Sites[odd.ID] = odd
	st.Tokens["odd"] = HashToken("se_odd")
	st.Members["n1"], st.Members["n2"] = "http://127.0.0.1:1", "http://127.0.0.1:2"
	st.Idem["k1"] = &idemRecord{At: now, Fingerprint: "fp", Result: &Result{Status: 201, Body: json.RawMessage(`{"id":"x"}`), Index: 7, SiteID: "odd", Version: 7}}
	st.IdemOrder = append(st.IdemOrder, "k1")
	st.Index, st.Changed = 999, 998
	st.reindex()
	return st
}

// TestSnapshotV2RestoresWhatV1Restores checks that the new format loses and
// changes nothing: the state restored from it equals the state restored
// from the old one-document JSON (which still restores), and encodes to the
// same JSON as the original.
func TestSnapshotV2RestoresWhatV1Restores(t *testing.T) {
	st := snapshotState(t)
	var v2 bytes.Buffer
	if err := encodeState(&v2, st); err != nil {
		t.Fatal(err)
	}
	v1, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Len()*3 > len(v1) {
		t.Errorf("v2 snapshot is %d bytes, v1 %d: want at least 3x smaller", v2.Len(), len(v1))
	}
	got, err := decodeState(bytes.NewReader(v2.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want, err := decodeState(bytes.NewReader(v1))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("v2 and v1 snapshots restore different states")
	}
	if len(got.Sites) != len(st.Sites) || got.slugs["acme"] != demo.SiteID || got.tokenSites[HashToken("se_odd")] != "odd" {
		t.Fatalf("restored %d sites of %d, or lost an index", len(got.Sites), len(st.Sites))
	}
	if got.Sites["odd"].Incidents == nil {
		t.Fatal("an empty slice came back nil")
	}
	again, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, v1) {
		t.Fatal("restored state encodes differently from the original")
	}
}

// v2Snapshot frames lines as a version-2 snapshot.
func v2Snapshot(t *testing.T, lines ...string) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(snapshotMagic)
	zw, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		zw.Write([]byte(l + "\n"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDecodeSnapshotRejectsDamage(t *testing.T) {
	good := v2Snapshot(t, `{"sites":1,"state":{"index":3}}`, `{"id":"a","slug":"a"}`)
	head := `{"sites":2,"state":{"index":3}}`
	tests := []struct {
		name  string
		in    string
		ok    bool
		sites int
	}{
		{"v2", good, true, 1},
		{"v2 no sites", v2Snapshot(t, `{"sites":0,"state":{"index":3,"tokens":null}}`), true, 0},
		{"v1 document", `{"index":3,"sites":{"a":{"id":"a","slug":"a"}}}`, true, 1},
		{"v1 with leading space", " \n{\"index\":3}", true, 0},
		{"empty", "", false, 0},
		{"unknown format", "PK\x03\x04 a zip", false, 0},
		{"magic only", snapshotMagic, false, 0},
		{"magic then garbage", snapshotMagic + "not zstd at all", false, 0},
		{"truncated stream", good[:len(good)-6], false, 0},
		{"fewer sites than the header says", v2Snapshot(t, head, `{"id":"a"}`), false, 0},
		{"more sites than the header says", v2Snapshot(t, `{"sites":1,"state":{}}`, `{"id":"a"}`, `{"id":"b"}`), false, 0},
		{"repeated site id", v2Snapshot(t, head, `{"id":"a"}`, `{"id":"a"}`), false, 0},
		{"site without id", v2Snapshot(t, `{"sites":1,"state":{}}`, `{"name":"x"}`), false, 0},
		{"site not an object", v2Snapshot(t, `{"sites":1,"state":{}}`, `[1,2]`), false, 0},
		{"header without state", v2Snapshot(t, `{"sites":0}`), false, 0},
		{"negative count", v2Snapshot(t, `{"sites":-1,"state":{}}`), false, 0},
		{"header not JSON", v2Snapshot(t, `sites=1`), false, 0},
		{"v1 truncated", `{"index":3,"sites":{"a":`, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := decodeState(strings.NewReader(tt.in))
			if !tt.ok {
				if err == nil {
					t.Fatalf("decoded %d sites from a damaged snapshot", len(st.Sites))
				}
				if !strings.HasPrefix(err.Error(), "origin: decode snapshot") {
					t.Fatalf("error %q lacks context", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Sites) != tt.sites || st.Index != 3 || st.Tokens == nil || st.Members == nil || st.Idem == nil {
				t.Fatalf("decoded %+v", st)
			}
			for id := range st.Sites {
				if st.slugs[st.Sites[id].Slug] != id {
					t.Fatal("slug index not rebuilt")
				}
			}
		})
	}
	if _, err := decodeState(strings.NewReader(v2Snapshot(t, `{"sites":1,"state":{}}`, `{"name":"x"}`))); !errors.Is(err, errSnapshot) {
		t.Fatalf("err = %v, want errSnapshot", err)
	}
}
