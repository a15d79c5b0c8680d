package main

import (
	"context"
	"fmt"
	"io"
)

func runEdge(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "statusedge edge: not built yet")
	return 1
}
