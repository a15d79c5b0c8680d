// Package tls is the edges' HTTPS: certificates for custom domains, issued on
// demand through ACME (caddyserver/certmagic) and stored once for every edge
// of every region in the origin's raft store. (It shares its name with
// crypto/tls: importers alias one of them.)
//
// In:
//   - the registry's verified custom domains (Names.Set, from each registry
//     the edge loads): the only names that get a handshake, a certificate or
//     an order. Any other SNI, a scanner's random names included, is refused
//     with a map lookup before certmagic sees it, and no other site's
//     certificate is ever sent in its place;
//   - the origin's certificate storage (/internal/v1/certs/..., the cert
//     secret): Storage implements certmagic.Storage and its Locker with
//     leases in raft, so two edges in two regions never order the same name
//     at once and the second edge finds the first one's certificate;
//   - cert{name, version} events from gossip (Manager.CertChanged): the edge
//     reloads that certificate from storage.
//
// Out: Manager.TLSConfig for the HTTPS listener (TLS 1.2+, TLS-ALPN-01,
// OCSP stapling as certmagic does it), Manager.HTTPChallenge for port 80
// (HTTP-01 answered by whichever edge the CA reaches, from storage), and
// orders counted cluster-wide against the CA's limits, a failing name
// backing off (origin's cert.order).
//
// Out too, with Config.CacheDir: a sealed copy of the certificates the edge
// serves on its disk (certmagic's LocalCache), read first when one is
// loaded.
//
// Held certificates stay in memory: an edge keeps serving them while the
// origin or the CA is down, and renewal is retried until it succeeds; an
// edge restarted while the origin is down serves them from its local copy.
// The listeners are served by the edge (Frontend.Serve with
// edge.Server.ServeWith), under its timeouts and connection limits.
package tls
