// Package origin holds statusedge's canonical content: every status page's
// sites, components, groups, incidents, maintenances and audiences,
// replicated with hashicorp/raft, changed only through the management API.
//
// What flows in: management API requests (/v1/..., operator or site token),
// forwarded commands from followers (/internal/v1/apply, cluster secret) and
// raft traffic from peers. What flows out: immutable *content.Site snapshots
// (Node.Site, Node.SiteByHost), the content.Registry and per-site versions
// for edges (/internal/v1/registry, /internal/v1/versions long poll), pages
// rendered through a Renderer (/internal/v1/render, PublicHandler), and a
// Change for every applied change (Node.Subscribe) for gossip.
//
// # Writes
//
// A request is decoded strictly (400 for malformed JSON or an unknown field)
// and validated (422 naming the field) on the replica that received it,
// which also chooses everything non-deterministic: the time, new ids, the
// bcrypt hash of a password, a new site token's SHA-256. The result is a
// Command, proposed with raft.Apply on the leader (a follower forwards it to
// the leader's /internal/v1/apply). The state machine validates it again
// against the state and either applies it whole or not at all: a change
// builds a new *content.Site (copy-on-write), stamps it with Version = the
// raft index and swaps it in, so readers never see half of a change. The
// write is answered only after commit and apply; a forwarding follower also
// waits (bounded) until it has applied it itself, so a client reading the
// same replica reads its write.
//
// Idempotency-Key records (principal + key → first answer, with an HMAC of
// method, path and body) live in the replicated state, so a retry to any
// replica, before or after a leader change, gets the first answer. They
// expire 24 hours after their command's time. An incident's or a
// maintenance's answer is recorded compactly (answerRef, from
// LimitsContent on) and rebuilt from the state on a replay, so the
// records cost what the updates' text costs, not that times the updates.
//
// # Reads
//
// Reads are local: a replica answers from its own applied state without
// asking the leader. They are sequentially consistent per replica (each
// replica applies the same log in order, so it shows a prefix of the
// history, and a version is never reused), monotonic on one replica (also
// across restarts: until a restarted replica has re-applied the index it
// had reached before, recorded as a watermark in its stable store, the
// internal API waits and then answers 503), but may be stale by the
// replication lag. A caller that needs a given version asks for it
// (render's min_version, WaitVersion). Write answers are linearizable:
// they reflect the state at the command's commit point.
//
// # Example
//
// A single-voter origin on disk, its API served, a site imported: see
// Example in example_test.go (run by go test).
//
// Snapshots hold the whole state (sites with their history, token hashes,
// idempotency records, members) as zstd-compressed JSON lines, one line per
// site, so Persist and Restore use every core (see encodeState; the older
// one-document JSON snapshots still restore). Snapshot only copies maps of
// immutable pointers; the encoding happens in Persist.
package origin
