package main

import (
	"context"
	"fmt"
	"io"
)

func runOrigin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "statusedge origin: not built yet")
	return 1
}
