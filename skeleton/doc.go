// Package skeleton builds the page shell that an edge sends at once when the
// origin is slower than its budget, and the small inline script that
// completes it in the browser.
//
// In: a content.RegistryEntry (name, logo, accent colour, time zone,
// component layout, audiences) and the audience id; nothing else, so an edge
// can always send a shell without a content query. Out: the shell's HTML
// (Shell), at most ShellBudget bytes gzipped so that it arrives in the first
// round trip, and the CSP sources that allow its inline script and
// stylesheet by hash (ScriptHash, StyleHash, or the whole header value from
// ContentSecurityPolicy); never 'unsafe-inline'.
//
// The shell is origin/render's index page with placeholders: the same header
// (with its Sign out button on private and audience sites),
// stylesheet (origin/render/style, then the placeholder rules) and footer, and a
// placeholder row, description line and uptime bar for every component the
// audience may see, each the size of the real one. The script (at most
// ScriptBudget bytes gzipped, no framework) fetches SummaryPath and
// UptimePath, and IncidentsPath for the recently resolved list, from the same
// origin with the visitor's cookies, so private and audience pages work, and
// rebuilds <main> with the renderer's markup: the status banner, active
// incidents and maintenances with their update timelines, the components
// with statuses spelled out and their uptime bars (the same disclosure of
// each day, with the same tooltips), and the recent incidents. The fresh nodes replace the placeholders in one
// DOM operation, so nothing on screen shifts; on a page with no active
// incident or maintenance the components stay exactly where the
// placeholders were. Every string from the server goes in as text; update
// bodies (Markdown) are parsed into elements by the script, links limited to
// http, https and mailto, raw HTML dropped. Without JavaScript a <noscript>
// notice links to the JSON and the Atom feed.
//
// Example (example_test.go, run by go test): a shell and its CSP.
package skeleton
