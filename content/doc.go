// Package content is statusedge's vocabulary: the canonical content of a
// status page (Site, Component, Incident, Maintenance, Audience), its status
// enums spelled exactly as Statuspage's API v2 spells them, the status history
// with daily uptime, the per-audience view, and the Registry entry that the
// origin hands to edges.
//
// Nothing here does I/O. The origin's replicated store owns the values and
// hands out immutable *Site snapshots; the renderer turns a snapshot into
// bytes; the edge reads RegistryEntry values to route and admit visitors.
//
// Uptime (see UptimeFormula): a day's uptime is
// 1 − (major outage + 0.3 × partial outage) ÷ (tracked time − maintenance).
// Degraded performance counts as up; a group averages its children.
package content
