package main

import (
	"context"
	"fmt"
	"io"
)

func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "statusedge ctl: not built yet")
	return 1
}
