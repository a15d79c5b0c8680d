// Package style is the status page's one stylesheet, shared by the
// renderer (origin/render, which inlines it in every HTML page) and the
// skeleton shell (skeleton, which inlines it with its placeholder rules), so
// that a completed shell looks exactly like the server render.
//
// In: a site's accent colour (any string; only #rgb or #rrggbb is used,
// anything else falls back to DefaultAccent). Out: the CSS text, for a
// <style> element (Sheet). The sheet needs no web font, image or other
// request, has light and dark themes (prefers-color-scheme) in custom
// properties on :root, and its text colours meet WCAG AA contrast
// (contrast_test.go checks every status colour on its backgrounds).
//
//	<style>{{style.Sheet(site.Branding.AccentColor)}}</style>
package style
