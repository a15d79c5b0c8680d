// Package ociimage builds statusedge's container image without a Docker
// engine and without pulling a base image: in, the module's source (it runs
// `go build` with CGO_ENABLED=0, so the binary is static) and the version
// metadata; out, one tarball that holds the image twice over, as an OCI image
// layout (oci-layout, index.json, blobs/sha256/...) and as the `docker save`
// manifest.json that points at the same blobs, so `docker load`,
// `podman load`, `skopeo copy oci-archive:...` and `crane push` all take it.
//
// The image is one layer on an empty image: the binary at
// /usr/local/bin/statusedge, /etc/passwd and /etc/group naming the non-root
// user nonroot (65532), its home, /data (the origin's raft directory when no
// volume is mounted) and /tmp. The config runs as 65532:65532 and carries
// the org.opencontainers.image.* labels (version, revision, created, source,
// title). Every timestamp is Created, so the same inputs give the same
// digest. `make image` runs it through cmd/ociimage.
package ociimage

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image layout and identity.
const (
	// BinaryPath is where the binary sits in the image (the entrypoint).
	BinaryPath = "/usr/local/bin/statusedge"
	// UID and GID of the image's user, nonroot (as in distroless images).
	UID = 65532
	GID = 65532
	// DefaultRepository names the image in its tags.
	DefaultRepository = "statusedge"
	// DefaultPackage is the main package that becomes the binary.
	DefaultPackage = "./cmd/statusedge"
)

// Config says what to build. Zero fields take the documented defaults.
type Config struct {
	// ModuleDir is the Go module to build in (default: the working directory).
	ModuleDir string
	// Package is the main package (default DefaultPackage).
	Package string
	// Arch is the GOARCH of the binary and the image (default: this machine's).
	Arch string
	// Repository names the image in its tags (default DefaultRepository);
	// the tag is Version.
	Repository string
	// Version, Revision and Source become the org.opencontainers.image.version,
	// .revision and .source labels. Version is required.
	Version, Revision, Source string
	// Created is the image's creation time and every file's mtime (default:
	// the Unix epoch, so builds are reproducible; `make image` passes the
	// commit time).
	Created time.Time
}

// Validate checks c.
func (c Config) Validate() error {
	if c.Version == "" {
		return errors.New("ociimage: Version is required")
	}
	for _, r := range c.Version {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("ociimage: Version %q: a tag allows only letters, digits, '.', '-' and '_'", c.Version)
		}
	}
	if len(c.Version) > 128 {
		return fmt.Errorf("ociimage: Version is %d characters; a tag allows 128", len(c.Version))
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Package == "" {
		c.Package = DefaultPackage
	}
	if c.Arch == "" {
		c.Arch = runtime.GOARCH
	}
	if c.Repository == "" {
		c.Repository = DefaultRepository
	}
	if c.Created.IsZero() {
		c.Created = time.Unix(0, 0)
	}
	c.Created = c.Created.UTC()
	return c
}

// Ref is the image's name and tag, e.g. statusedge:1.2.0.
func (c Config) Ref() string {
	c = c.withDefaults()
	return c.Repository + ":" + c.Version
}

// Build compiles the binary, builds the image and writes the tarball to out
// (through a temporary file, so a failed build leaves no half tarball).
func Build(ctx context.Context, c Config, out string) (v1.Image, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	dir, err := os.MkdirTemp("", "ociimage-")
	if err != nil {
		return nil, fmt.Errorf("ociimage: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "statusedge")
	if err := BuildBinary(ctx, c, bin); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("ociimage: %w", err)
	}
	img, err := Image(c, b)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, fmt.Errorf("ociimage: %w", err)
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("ociimage: %w", err)
	}
	err = WriteTarball(f, img, c.Ref())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("ociimage: write %s: %w", out, err)
	}
	return img, nil
}

// BuildBinary runs `go build` for Linux on c.Arch with cgo off (a static
// binary), -trimpath, stripped, with the embedded time zone database (the
// image has no /usr/share/zoneinfo and sites name their time zones).
func BuildBinary(ctx context.Context, c Config, out string) error {
	c = c.withDefaults()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "timetzdata", "-ldflags", "-s -w", "-o", out, c.Package)
	cmd.Dir = c.ModuleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+c.Arch)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ociimage: go build %s: %w\n%s", c.Package, err, stderr.Bytes())
	}
	return nil
}

// Labels are the image's OCI annotations as labels.
func Labels(c Config) map[string]string {
	c = c.withDefaults()
	l := map[string]string{
		"org.opencontainers.image.title":       "statusedge",
		"org.opencontainers.image.description": "multi-tenant status pages: origin replicas (raft), regional edges, ctl",
		"org.opencontainers.image.version":     c.Version,
		"org.opencontainers.image.created":     c.Created.Format(time.RFC3339),
	}
	if c.Revision != "" {
		l["org.opencontainers.image.revision"] = c.Revision
	}
	if c.Source != "" {
		l["org.opencontainers.image.source"] = c.Source
	}
	return l
}

// Image builds the image around binary (a static Linux executable).
func Image(c Config, binary []byte) (v1.Image, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	layerTar, err := rootfs(c.Created, binary)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("ociimage: layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: c.Created},
			CreatedBy: "statusedge internal/ociimage: " + BinaryPath + ", /etc/passwd, /etc/group, /data, /tmp",
			Comment:   "static binary, CGO_ENABLED=0",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("ociimage: append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("ociimage: config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = c.Arch, "linux", v1.Time{Time: c.Created}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint: []string{BinaryPath},
		Cmd:        []string{"--help"},
		WorkingDir: "/home/nonroot",
		Env:        []string{"PATH=/usr/local/bin", "HOME=/home/nonroot"},
		Labels:     Labels(c),
		// edge visitors, origin API, raft, gossip (TCP and UDP)
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "7070/tcp": {}, "7000/tcp": {}, "7946/tcp": {}, "7946/udp": {}},
		Volumes:      map[string]struct{}{"/data": {}},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("ociimage: config: %w", err)
	}
	return img, nil
}

// rootfs is the layer's uncompressed tar.
func rootfs(mtime time.Time, binary []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: uid, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", GID)
	steps := []func() error{
		func() error { return dir("etc/", 0o755, 0) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return dir("home/", 0o755, 0) },
		func() error { return dir("home/nonroot/", 0o700, UID) },
		func() error { return dir("data/", 0o700, UID) },
		func() error { return dir("tmp/", 0o1777, 0) },
		func() error { return dir("usr/", 0o755, 0) },
		func() error { return dir("usr/local/", 0o755, 0) },
		func() error { return dir("usr/local/bin/", 0o755, 0) },
		func() error { return file(BinaryPath[1:], 0o755, binary) },
		tw.Close,
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, fmt.Errorf("ociimage: layer tar: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// WriteTarball writes img to w as an OCI image layout in a tar (with the
// index's org.opencontainers.image.ref.name set to the tag) plus a
// `docker save` manifest.json tagging it ref; both name the same blobs.
func WriteTarball(w io.Writer, img v1.Image, ref string) error {
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	mdigest, err := img.Digest()
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cdigest, err := img.ConfigName()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	tag := ref
	if i := lastColon(ref); i >= 0 {
		tag = ref[i+1:]
	}
	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: mt, Digest: mdigest, Size: int64(len(manifest)),
			Annotations: map[string]string{
				"org.opencontainers.image.ref.name": tag,
				"io.containerd.image.name":          ref,
			},
		}},
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	blob := func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
	docker := []tarball.Descriptor{{Config: blob(cdigest), RepoTags: []string{ref}}}

	tw := tar.NewWriter(w)
	put := func(name string, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	if err := put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := put(blob(mdigest), manifest); err != nil {
		return err
	}
	if err := put(blob(cdigest), config); err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := put(blob(d), b); err != nil {
			return err
		}
		docker[0].Layers = append(docker[0].Layers, blob(d))
	}
	dockerJSON, err := json.Marshal(docker)
	if err != nil {
		return err
	}
	if err := put("index.json", indexJSON); err != nil {
		return err
	}
	if err := put("manifest.json", dockerJSON); err != nil {
		return err
	}
	return tw.Close()
}

// lastColon is the index of the tag separator in ref (not a registry port's
// colon), or -1.
func lastColon(ref string) int {
	for i := len(ref) - 1; i >= 0 && ref[i] != '/'; i-- {
		if ref[i] == ':' {
			return i
		}
	}
	return -1
}
