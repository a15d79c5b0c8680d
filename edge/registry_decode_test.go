package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/statusedge/statusedge/content"
)

// registryJSON streams a registry of n sites whose names are size bytes.
func registryJSON(n, size int) *io.PipeReader {
	pr, pw := io.Pipe()
	go func() {
		name := strings.Repeat("n", size)
		fmt.Fprint(pw, `{"version":7,"sites":[`)
		for i := range n {
			if i > 0 {
				fmt.Fprint(pw, ",")
			}
			b, _ := json.Marshal(content.RegistryEntry{ID: fmt.Sprintf("site%04d", i), Name: name, Version: uint64(i)})
			pw.Write(b)
		}
		fmt.Fprint(pw, `]}`)
		pw.Close()
	}()
	return pr
}

// The review: 64 MiB bounded the whole registry, so a table over it (64
// tenants at the origin's 1 MiB entry bound, or thousands of ordinary
// ones) left every starting edge with no registry at all. The bound is per
// entry now: a 72 MiB table of 1 MiB entries loads, and only an entry over
// maxEntry is refused.
func TestRegistryDecodeBoundsEachEntry(t *testing.T) {
	tests := []struct {
		name     string
		n, size  int
		wantErr  error
		wantSite int
	}{
		{"72 entries of 1 MiB", 72, 1 << 20, nil, 72},
		{"no sites", 0, 0, nil, 0},
		{"one entry over maxEntry", 3, maxEntry + 1, errEntryTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := registryJSON(tt.n, tt.size)
			reg, err := decodeRegistry(r)
			r.Close() // the writer stops where the decoder did
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case reg.Version != 7 || len(reg.Sites) != tt.wantSite:
				t.Fatalf("version %d, %d sites", reg.Version, len(reg.Sites))
			case tt.n > 0 && (reg.Sites[tt.n-1].ID != fmt.Sprintf("site%04d", tt.n-1) || len(reg.Sites[0].Name) != tt.size):
				t.Fatalf("last site %q, name %d bytes", reg.Sites[tt.n-1].ID, len(reg.Sites[0].Name))
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"version":"x"}`, `{"sites":{}}`, `{"sites":[1]}`, `{"version":1`} {
		if _, err := decodeRegistry(strings.NewReader(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}
