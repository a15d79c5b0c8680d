// Package render is the origin's Content Renderer: it turns one immutable
// site snapshot into the bytes visitors and their tools fetch.
//
// In: a *content.Site (the origin store's snapshot at some version), an
// audience id ("" for the whole site), a path (docs/API.md §3, with an
// optional ?page=N) and the current time. Out: the body, its content type,
// or an error wrapping fs.ErrNotExist (unknown path, id or page) or
// content.ErrUnknownAudience.
//
// Rendering is a pure function. The page is "as of" max(site.UpdatedAt,
// start of now's day in the site's zone), or, while something on the site is
// not operational (content.Site.Live), max(site.UpdatedAt, start of now's
// minute), so an ongoing outage's uptime and duration are right within a
// minute; nothing else of now is used and no relative time is printed, so
// (snapshot version, audience, path, day, and the minute while live) fixes
// the bytes and the edge may cache them under that key forever.
//
// Example (example_test.go, run by go test): the v2 status of the demo site.
//
// # Paths
//
//	/                         HTML status page
//	/history?page=N           HTML past incidents and maintenances by month (3 months a page)
//	/incidents/{id}           HTML incident with its timeline
//	/maintenances/{id}        HTML maintenance with its timeline
//	/uptime?page=N            HTML monthly uptime calendars of showcase components (3 months a page)
//	/history.atom             Atom 1.0, one entry per incident or maintenance update
//	/history.rss              RSS 2.0, the same entries
//	/api/v2/*.json            the 8 Statuspage v2 endpoints, field for field
//	/api/statusedge/uptime.json  daily uptime of showcase components and their groups
//
// # Statuspage v2
//
// Timestamps are ISO-8601 with milliseconds in the page's offset; nullable
// fields are always present; updates are newest first; a group's status is
// the worst of its children's and it lists their ids in "components";
// status.indicator follows computeStatus (see status.go), with
// "maintenance" only while a maintenance runs. An update's body is the text
// as posted (Markdown); HTML pages show it rendered by goldmark and
// sanitized by bluemonday (links http/https/mailto with rel="nofollow
// noopener", emphasis, lists, code; never raw HTML, scripts or handlers).
// A body nested more than 8 containers deep or holding more than 256 "["
// is shown as escaped plain text instead (goldmark takes seconds on such
// 64 KiB inputs). Rendered bodies are cached in the Renderer (bounded).
//
// # Cost
//
// The status page's uptime bars are written by hand (components.go), not
// by html/template; with 1,000 showcase components they are ~12 MB of the
// page, and content.History.Uptime is most of the CPU (see
// render_timing_test.go).
//
// # HTML markup (for the skeleton shell and client scripts)
//
// Every page: header.site (a.brand, nav with aria-current on the current
// link), main#main, footer; <link rel="alternate"> to both feeds in <head>;
// critical CSS inline, no script, no external request except an optional
// logo image. Times are <time datetime="RFC 3339">text</time> in the
// site's zone. The / page holds, in order:
//
//	section#overall.{none|minor|major|critical|maintenance}[data-indicator]
//	    p.status-description, small > time (as of)
//	section#incidents      article.incident[data-id][data-status] > h3 > a,
//	                       p.meta > span.incident-status, ol.timeline >
//	                       li.update#update-{id}[data-status] > h4 > span.update-status,
//	                       div.body, ul.affected
//	section#maintenances   article.maintenance[data-id][data-status] (same inside,
//	                       span.maintenance-status); absent when none
//	ul#components          li.component[data-id][data-status] (top level), where a
//	                       group is li.component.group > details > summary and
//	                       ul > li.component; each has h3.name, span.status.s-{status}
//	                       (the status spelled out), p.desc, and for showcase
//	                       components details.daily (closed) > summary >
//	                       svg.uptime-bar[aria-hidden] (one rect.b0..b5 per day, its
//	                       <title> the date, uptime %, bad time and incidents) and
//	                       span.uptime-legend > span.uptime-pct, span.more; then
//	                       ol.days > li.b0..b5 per day (the title's text, the
//	                       incidents as links to them)
//	section#recent         resolved incidents of the last 7 days, link to /history
//
// Bar classes: b0 no data, b1 operational, b2 degraded, b3 partial outage,
// b4 major outage, b5 maintenance (they set --c, the colour).
//
// # Accessibility of the uptime bars
//
// A mouse user hovers a day for its tooltip. A keyboard or screen reader
// user gets each bar as one tab stop, a <summary> named "API: 99.87% uptime
// over 90 days. Daily detail", which discloses the list of days (date,
// uptime, bad time, incidents as links) without script. Days are not tab
// stops of their own: 90 per bar would make a page of many components
// unusable by keyboard, and CSS-only tooltips on focus cannot be dismissed
// with Escape (WCAG 1.4.13). While closed, the days are out of the tab order
// and the accessibility tree. a11y_test.go checks this against uptime.json;
// skeleton's TestKeyboardReachesEachDay walks it with the keyboard in
// Chromium. The stylesheet is origin/render/style, shared with the skeleton,
// with a WCAG contrast test.
//
// /history has div#history >
// section.month#month-YYYY-MM; /uptime has div#uptime >
// section.component-uptime[data-id] > div.month[data-month] > ol.cal.
package render
