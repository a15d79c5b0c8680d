package render

import "github.com/statusedge/statusedge/content"

// componentsSize estimates the bytes componentsHTML writes.
func componentsSize(v *view, days int) int {
	n := 256 + 400*len(v.site.Components)
	for _, c := range v.site.Components {
		if c.Showcase && !c.Group {
			n += 140 * days
		}
	}
	return n
}

// componentsHTML appends the ul#components list of the status page: groups
// (li.component.group > details) holding their components, each with its
// status spelled out and, for showcase components, the uptime bar.
//
// It is written by hand, every text through appendEscaped and every
// attribute quoted, because with 1,000 components it is nearly all of the
// page and html/template costs several times more per element.
// TestHostileContentIsInert and FuzzComponentsHTML check its output.
func componentsHTML(dst []byte, v *view, days int) []byte {
	last := content.DayNumber(v.asOf, v.loc)
	first := last - int32(days) + 1
	incs := v.incidentDays(first, last)
	hidden := func(c *content.Component) bool {
		return c.OnlyShowIfDegraded && v.statusOf(c) == content.Operational
	}
	showcase := 0
	for _, c := range v.site.Components {
		if c.Showcase && !c.Group {
			showcase++
		}
	}
	buf := dst

	row := func(c *content.Component) {
		st := v.statusOf(c)
		buf = append(buf, `<li class="component" data-id="`...)
		buf = appendEscaped(buf, c.ID)
		buf = append(buf, `" data-status="`...)
		buf = appendEscaped(buf, string(st))
		buf = append(buf, "\">\n<div class=\"row\"><h3 class=\"name\">"...)
		buf = appendEscaped(buf, c.Name)
		buf = appendStatus(append(buf, `</h3>`...), st)
		buf = append(buf, "</div>\n"...)
		if c.Description != nil && *c.Description != "" {
			buf = append(buf, `<p class="desc">`...)
			buf = appendEscaped(buf, *c.Description)
			buf = append(buf, "</p>\n"...)
		}
		if c.Showcase {
			ds := v.uptimeOf(c, days)
			var now content.ComponentStatus
			if !c.CreatedAt.After(v.asOf) {
				now = c.Status
			}
			buf = uptimeBar(buf, c.Name, ds, first, v.componentIncidents(c, incs), now)
		}
		buf = append(buf, "</li>\n"...)
	}

	buf = append(buf, "<ul id=\"components\" class=\"plain\">\n"...)
	for _, c := range v.site.Components {
		if !v.topLevel(c) || hidden(c) {
			continue
		}
		if !c.Group {
			row(c)
			continue
		}
		var kids []*content.Component
		for _, k := range v.children[c.ID] {
			if !hidden(k) {
				kids = append(kids, k)
			}
		}
		if len(kids) == 0 {
			continue
		}
		st := v.statusOf(c)
		buf = append(buf, `<li class="component group" data-id="`...)
		buf = appendEscaped(buf, c.ID)
		buf = append(buf, `" data-status="`...)
		buf = appendEscaped(buf, string(st))
		buf = append(buf, `"><details open><summary><span class="row"><h3 class="name">`...)
		buf = appendEscaped(buf, c.Name)
		buf = appendStatus(append(buf, `</h3>`...), st)
		buf = append(buf, "</span></summary>\n<ul>"...)
		for _, k := range kids {
			row(k)
		}
		buf = append(buf, "</ul></details></li>\n"...)
	}
	return append(buf, "</ul>"...)
}

// appendStatus appends span.status.s-{status} with the status spelled out.
func appendStatus(buf []byte, st content.ComponentStatus) []byte {
	buf = append(buf, `<span class="status s-`...)
	buf = appendEscaped(buf, string(st))
	buf = append(buf, `">`...)
	buf = appendEscaped(buf, st.Text())
	return append(buf, `</span>`...)
}
