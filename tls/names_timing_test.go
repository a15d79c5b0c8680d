package tls

import (
	"fmt"
	"testing"
)

// BenchmarkDecisionRandomSNI is what a scanner's handshake with a random
// name costs the edge before it is refused: the decision, with 10,000
// verified domains in the set.
func BenchmarkDecisionRandomSNI(b *testing.B) {
	var n Names
	names := make([]string, 10_000)
	for i := range names {
		names[i] = fmt.Sprintf("status.customer%d.example.com", i)
	}
	n.Set(names)
	snis := make([]string, 1024)
	for i := range snis {
		snis[i] = fmt.Sprintf("x%08x.scanner.example.net", i*2654435761)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if n.Allowed(snis[i%len(snis)]) {
			b.Fatal("allowed")
		}
	}
}
