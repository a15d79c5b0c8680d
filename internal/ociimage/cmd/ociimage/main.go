// Command ociimage writes statusedge's container image as a tarball (an OCI
// image layout plus a docker-save manifest.json) without a Docker engine:
// `make image` runs it. In: flags naming the version, revision, source and
// creation time; out: the tarball at -o. See package ociimage.
//
//	go run ./internal/ociimage/cmd/ociimage -version 1.2.0 -o bin/statusedge-image.tar
//
// Exit codes: 0 written, 1 build failed, 2 bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/statusedge/statusedge/internal/ociimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ociimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c ociimage.Config
	out := fs.String("o", "bin/statusedge-image.tar", "tarball to write")
	fs.StringVar(&c.Version, "version", "", "image version: the tag and the org.opencontainers.image.version label (required)")
	fs.StringVar(&c.Revision, "revision", "", "source revision (git commit) for the org.opencontainers.image.revision label")
	fs.StringVar(&c.Source, "source", "", "source URL for the org.opencontainers.image.source label")
	fs.StringVar(&c.Repository, "repository", ociimage.DefaultRepository, "image name in the tag")
	fs.StringVar(&c.Arch, "arch", "", "GOARCH of the binary and the image (default: this machine's)")
	fs.StringVar(&c.Package, "package", ociimage.DefaultPackage, "main package to build")
	created := fs.String("created", os.Getenv("SOURCE_DATE_EPOCH"), "creation time as Unix seconds (default $SOURCE_DATE_EPOCH, else 0: reproducible)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ociimage: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *created != "" {
		sec, err := strconv.ParseInt(*created, 10, 64)
		if err != nil || sec < 0 {
			fmt.Fprintf(stderr, "ociimage: -created %q: want Unix seconds\n", *created)
			return 2
		}
		c.Created = time.Unix(sec, 0)
	}
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "%v (-version)\n", err)
		return 2
	}
	img, err := ociimage.Build(ctx, c, *out)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	d, err := img.Digest()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %s %s\n", *out, c.Ref(), d)
	return 0
}
