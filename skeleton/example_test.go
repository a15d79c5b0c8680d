package skeleton_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/skeleton"
)

// The shell for a registry entry, and the CSP that admits its script.
func Example() {
	sk, err := skeleton.New()
	if err != nil {
		log.Fatal(err)
	}
	entry := demo.Site(time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)).Entry()
	shell := sk.Shell(entry, "") // "" = the public audience
	csp := sk.ContentSecurityPolicy(entry)
	fmt.Println(bytes.Contains(shell, []byte("Acme Cloud")), strings.Contains(csp, sk.ScriptHash()))
	// Output: true true
}
