// Package gossip spreads statusedge's version news across every region.
//
// Every origin replica and every edge of every region runs one Node; all of
// them form a single hashicorp/memberlist cluster. A node's metadata names
// its Role (origin or edge) and Region (Members).
//
// What flows in and out:
//
//   - In, on an origin: Publish(site, version) after a change commits (the
//     version is the raft index of the change), PublishCert(name, version)
//     after a certificate is stored, and Config.Versions, the store's
//     site → version map, which is the truth behind anti-entropy.
//   - Out, on every node: Config.Invalidator.Invalidate(site, version) and
//     Config.CertListener.CertChanged(name, version) for each newer version
//     learned from a peer, in increasing order per name (never an older
//     version than one already delivered; intermediate versions may be
//     skipped). The node's own publishes are not delivered to itself.
//
// How:
//
//   - Pacing: per site, at most one version leaves a publisher per
//     PublishInterval (200 ms): the first publish of a quiet site goes out
//     at once, later ones are coalesced and the newest goes out when the
//     interval ends. A burst of 100 updates to one site costs two versions'
//     worth of messages, and edges render two versions, not 100.
//   - A version that goes out is sent straight to up to Config.Fanout (64)
//     random peers by UDP, so it arrives after one network delay, and is
//     queued in memberlist's TransmitLimitedQueue as a named broadcast keyed
//     by site, so a newer version replaces an older one still queued. A node
//     that learns a newer version passes it on the same way. Epidemic gossip
//     alone misses a node now and then (then only anti-entropy repairs it);
//     the direct send makes that rare.
//   - NotifyMsg never blocks: it decodes, raises the node's site → version
//     map, and records the version in a pending map (bounded by the number
//     of names, coalescing by site) drained by one goroutine that calls the
//     Invalidator. A slow Invalidator delays news, never loses the newest.
//   - Anti-entropy: memberlist's periodic push/pull (LocalState,
//     MergeRemoteState, over TCP) swaps the whole map, so a node that missed
//     broadcasts (loss, partition, restart) converges at the next exchange.
//     WaitSynced returns once the join's exchange with a seed (an origin, for
//     an edge) has been merged and delivered, not just any peer's, which may be
//     further behind: a restarted edge waits for it before calling itself fresh.
//   - The wire format (wire.go) is a version byte, a kind byte and varint
//     fields; it is canonical and fuzzed (FuzzDecode).
//   - Config.SecretKey turns on memberlist's AES-GCM encryption; it is
//     required off loopback. Every node holds it, edges too, so it keeps
//     strangers out but proves nothing about who speaks.
//   - Trust: origins sign every version they announce (Config.SignKey, an
//     ed25519 key; DeriveSignKey derives it from the cluster secret), in
//     invalidations and in each anti-entropy entry; every node holds the
//     public half (Config.VerifyKey, required off loopback) and drops
//     anything unsigned or badly signed before it touches its map
//     (Metrics.Forged). Nodes relay the signatures they hold, so edges
//     repair each other without being able to invent a version. Only news
//     is verified (one signature check per newer version), and an origin
//     signs each of its store's versions once.
//
// Timings: ProfileWAN (memberlist's WAN failure detection: 5 s probes, 3 s
// probe timeout) for real regions, ProfileLAN inside one, ProfileLocal for
// dev and tests. Every profile gossips every 100 ms (DefaultGossipInterval):
// memberlist sends nothing when the queue is empty, so a short interval
// costs nothing at rest and bounds the propagation delay. Every profile
// pushes/pulls every 15 s (DefaultPushPullInterval): the state is a few
// bytes per site, and this interval bounds how stale a node that missed the
// news (loss, partition) can stay.
//
// Example (example_test.go, compiled by go test): an edge joining the
// cluster.
//
// Fault injection for tests lives in the gossiptest subpackage.
package gossip
