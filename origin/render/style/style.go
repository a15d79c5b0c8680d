package style

import (
	_ "embed"
	"net/url"
	"regexp"
	"strings"
)

// DefaultAccent is the accent colour of a site that sets none, or an
// invalid one.
const DefaultAccent = "#4f46e5"

// sheet is style.css, the stylesheet with accentMarker where the site's
// accent colour goes.
//
//go:embed style.css
var sheet string

// accentMarker stands in style.css for the accent colour.
const accentMarker = "{{accent}}"

var hexColour = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// Accent returns c if it is a #rgb or #rrggbb colour, else DefaultAccent:
// only a validated value ever reaches the CSS.
func Accent(c string) string {
	if hexColour.MatchString(c) {
		return c
	}
	return DefaultAccent
}

// Icon is the default favicon: a dot in the accent colour (validated by
// Accent), as a data: URL, so a browser fetches nothing for it.
func Icon(accent string) string {
	// Percent-encoded throughout, so HTML templates keep it byte for byte.
	return "data:image/svg+xml,%3Csvg%20xmlns=%27http://www.w3.org/2000/svg%27%20viewBox=%270%200%2016%2016%27%3E" +
		"%3Ccircle%20cx=%278%27%20cy=%278%27%20r=%277%27%20fill=%27%23" + strings.TrimPrefix(Accent(accent), "#") + "%27/%3E%3C/svg%3E"
}

// Favicon is a page's icon: iconURL when it is an absolute http or https
// URL, else Icon(accent). The renderer, the skeleton and the edge's sign-in
// page all use it, so a browser never asks any of them for /favicon.ico.
func Favicon(iconURL, accent string) string {
	if u, err := url.Parse(iconURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		return u.String()
	}
	return Icon(accent)
}

// Sheet is the stylesheet with the accent colour accent (validated by
// Accent). It never contains "</" (it cannot close its <style> element).
func Sheet(accent string) string {
	before, after, _ := strings.Cut(sheet, accentMarker)
	return before + Accent(accent) + after
}
