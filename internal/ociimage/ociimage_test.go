package ociimage

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestBuildTarball builds the image the way `make image` does and checks
// what a container runtime would get from it: both the OCI layout and the
// docker-save manifest load and verify, the config runs a non-root user with
// the version labels, and the layer's binary is static and runs.
func TestBuildTarball(t *testing.T) {
	c := Config{
		ModuleDir: "../..",
		Version:   "1.2.3-test",
		Revision:  "0123456789abcdef",
		Source:    "https://example.test/statusedge",
		Created:   time.Unix(1_700_000_000, 0),
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	img, err := Build(context.Background(), c, out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}

	// The docker-save view: manifest.json tags it statusedge:1.2.3-test.
	dimg, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatalf("docker-save view: %v", err)
	}
	if err := validate.Image(dimg); err != nil {
		t.Fatalf("docker-save view does not verify: %v", err)
	}
	// The OCI layout view, unpacked as `skopeo copy oci-archive:` would.
	dir := t.TempDir()
	untar(t, out, dir)
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("OCI layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != want {
		t.Fatalf("index.json manifests = %+v, want one with digest %s", im.Manifests, want)
	}
	if got := im.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; got != "1.2.3-test" {
		t.Errorf("index ref.name = %q, want the version", got)
	}
	oimg, err := idx.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(oimg); err != nil {
		t.Fatalf("OCI layout does not verify: %v", err)
	}
	// Both views are one image: the same config blob.
	dc, err := dimg.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if oc, _ := oimg.ConfigName(); dc != oc {
		t.Errorf("docker view config %s, OCI view config %s: not the same image", dc, oc)
	}

	cf, err := oimg.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	if u := cf.Config.User; u == "" || u == "0" || u == "root" || strings.HasPrefix(u, "0:") {
		t.Errorf("user %q: the image must not run as root", u)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", cf.Config.User)
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version":  "1.2.3-test",
		"org.opencontainers.image.revision": "0123456789abcdef",
		"org.opencontainers.image.source":   "https://example.test/statusedge",
		"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
		"org.opencontainers.image.title":    "statusedge",
	} {
		if got := cf.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != BinaryPath {
		t.Errorf("entrypoint %q, want [%s]", cf.Config.Entrypoint, BinaryPath)
	}

	files := layerFiles(t, oimg)
	bin, ok := files[BinaryPath[1:]]
	if !ok {
		t.Fatalf("no %s in the layer (have %v)", BinaryPath, keys(files))
	}
	if bin.hdr.Mode&0o111 == 0 || bin.hdr.Uid != 0 {
		t.Errorf("binary mode %o uid %d: want executable, owned by root (the user cannot replace it)", bin.hdr.Mode, bin.hdr.Uid)
	}
	if p := files["etc/passwd"]; !strings.Contains(string(p.body), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd %q lacks the nonroot user", p.body)
	}
	if d := files["data/"]; d.hdr.Uid != UID {
		t.Errorf("/data owned by %d, want %d (the origin writes its raft store there)", d.hdr.Uid, UID)
	}
	for name, f := range files {
		if !f.hdr.ModTime.Equal(c.Created) {
			t.Errorf("%s mtime %v, want Created %v (reproducible layers)", name, f.hdr.ModTime, c.Created)
		}
	}

	// The binary is static: no interpreter, no shared libraries.
	exe := filepath.Join(t.TempDir(), "statusedge")
	if err := os.WriteFile(exe, bin.body, 0o755); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(exe)
	if err != nil {
		t.Fatalf("binary is not ELF: %v", err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("binary has a PT_INTERP program header: dynamically linked")
		}
	}
	if libs, _ := ef.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v", libs)
	}
	ef.Close()

	// And it runs: `statusedge --help` prints the usage and exits 0; a
	// subcommand's -h too (the flags the Kubernetes manifests pass exist).
	for _, args := range [][]string{{"--help"}, {"origin", "-h"}, {"edge", "-h"}} {
		var outb bytes.Buffer
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = &outb, &outb
		if err := cmd.Run(); err != nil {
			t.Fatalf("statusedge %v: %v\n%s", args, err, outb.Bytes())
		}
		if !strings.Contains(outb.String(), "usage: statusedge") {
			t.Errorf("statusedge %v printed %q, want the usage", args, outb.String())
		}
	}
	var ob bytes.Buffer
	cmd := exec.Command(exe, "origin", "-h")
	cmd.Stdout, cmd.Stderr = &ob, &ob
	_ = cmd.Run()
	for _, flag := range []string{"-raft-advertise", "-api-url", "-join", "-bootstrap", "-voter", "-gossip-addr", "-gossip-join"} {
		if !strings.Contains(ob.String(), flag) {
			t.Errorf("statusedge origin -h lacks %s, which terraform/modules/region passes", flag)
		}
	}
}

// TestImageIsReproducible: the same binary and config give the same digest.
func TestImageIsReproducible(t *testing.T) {
	c := Config{Version: "1.0.0", Created: time.Unix(42, 0)}
	a, err := Image(c, []byte("\x7fELF not really"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Image(c, []byte("\x7fELF not really"))
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("digests differ: %s, %s", da, db)
	}
	c.Version = "1.0.1"
	other, err := Image(c, []byte("\x7fELF not really"))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := other.Digest(); d == da {
		t.Errorf("another version gave the same digest %s", d)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		want    string // "" = valid
	}{
		{"semver", "1.2.3", ""},
		{"git describe", "v0.4.0-12-gdeadbee-dirty", ""},
		{"empty", "", "Version is required"},
		{"slash", "1.0/../x", "only letters"},
		{"space", "1.0 beta", "only letters"},
		{"colon", "a:b", "only letters"},
		{"newline", "1\n", "only letters"},
		{"too long", strings.Repeat("a", 129), "128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{Version: tc.version}.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := Build(context.Background(), Config{}, filepath.Join(t.TempDir(), "x.tar")); err == nil {
		t.Error("Build without a version succeeded")
	}
}

type tarFile struct {
	hdr  *tar.Header
	body []byte
}

func layerFiles(t *testing.T, img v1.Image) map[string]tarFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1 (no base image)", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]tarFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = tarFile{h, b}
	}
	return files
}

func untar(t *testing.T, path, dir string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || strings.Contains(h.Name, "..") || filepath.IsAbs(h.Name) {
			t.Fatalf("unexpected tar entry %q (type %c)", h.Name, h.Typeflag)
		}
		p := filepath.Join(dir, h.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func keys(m map[string]tarFile) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
