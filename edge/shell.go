package edge

import (
	"html"
	"sync"

	"github.com/statusedge/statusedge/content"
)

// Shell draws the skeleton page from a registry entry alone (no content
// query), so the edge can always send it. The skeleton package implements it.
type Shell interface {
	// Shell returns the HTML page for site e as audience sees it ("" for
	// the whole site).
	Shell(e content.RegistryEntry, audience string) []byte
	// ContentSecurityPolicy is the header value to send with e's shell (it
	// allows the shell's inline script and style by hash).
	ContentSecurityPolicy(e content.RegistryEntry) string
}

// PlainShell is a script-free placeholder shell: the site's name and its
// component names, with a note that the page is loading.
type PlainShell struct{}

// Shell implements Shell.
func (PlainShell) Shell(e content.RegistryEntry, audience string) []byte {
	b := []byte("<!doctype html><html><head><meta charset=\"utf-8\"><title>")
	b = append(b, html.EscapeString(e.Name)...)
	b = append(b, "</title><meta http-equiv=\"refresh\" content=\"2\"></head><body><h1>"...)
	b = append(b, html.EscapeString(e.Name)...)
	b = append(b, "</h1><p class=\"se-loading\">Loading current status…</p><ul>"...)
	for _, c := range e.VisibleLayout(audience) {
		b = append(b, "<li>"...)
		b = append(b, html.EscapeString(c.Name)...)
		b = append(b, "</li>"...)
	}
	return append(b, "</ul></body></html>"...)
}

// ContentSecurityPolicy implements Shell: the plain shell has no script.
func (PlainShell) ContentSecurityPolicy(content.RegistryEntry) string { return pageCSP }

// shellAnswer is a site's shell for one audience, built once per registry
// entry (the entry is replaced when the registry changes).
type shellAnswer struct {
	body, csp []byte
}

type shellMemo struct{ m sync.Map } // audience id → *shellAnswer

func (m *shellMemo) get(sh Shell, e content.RegistryEntry, audience string) *shellAnswer {
	if v, ok := m.m.Load(audience); ok {
		return v.(*shellAnswer)
	}
	a := &shellAnswer{body: sh.Shell(e, audience), csp: []byte(sh.ContentSecurityPolicy(e))}
	m.m.Store(audience, a)
	return a
}
