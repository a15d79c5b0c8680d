// Package client is a Go client of statusedge's management API (docs/API.md
// §1): sites, components, groups, incidents and their updates, maintenances,
// audiences and cluster membership, on any origin replica.
//
// In: a Config (the origin's base URL, a bearer token, retry bounds) and
// typed inputs (SiteInput, IncidentInput, …) whose nil fields are left out
// of the request, so the same types serve POST and PATCH. Out: the content
// package's types (content.Site, content.Incident, …) decoded from the
// origin's answers, or an error.
//
// The client is built for responders on a bad network in the middle of an
// outage:
//
//   - Every mutating call (POST, PATCH, DELETE) carries one Idempotency-Key,
//     random unless the caller passes IdempotencyKey, and every retry of that
//     call sends the same key, so the origin applies a change at most once.
//   - Network errors and 502/503/504 answers are retried with exponential
//     backoff and jitter (honouring Retry-After), up to Config.MaxAttempts and
//     never past the context's deadline.
//   - An error answer becomes an *APIError carrying the HTTP status, the field
//     at fault and the origin's message; errors.Is matches it against ErrInvalid,
//     ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict or ErrUnavailable.
//     A request that never got an answer wraps ErrUnreachable.
//
// Example (example_test.go, compiled by go test): posting an incident and
// telling a refusal from no answer.
//
// A Client is safe for concurrent use.
package client
