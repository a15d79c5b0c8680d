package gossip

import "sync/atomic"

// Metrics is a snapshot of a node's counters since it started.
type Metrics struct {
	InvalidatesSent     uint64 // invalidate messages handed to memberlist (one per peer sent to)
	InvalidatesReceived uint64 // invalidate messages decoded from peers
	CertsSent           uint64
	CertsReceived       uint64
	StatesSent          uint64 // push/pull states sent (LocalState)
	StatesMerged        uint64 // push/pull states merged (MergeRemoteState)

	BroadcastsQueued     uint64 // broadcasts queued (publishes and rebroadcasts of news)
	BroadcastsSuperseded uint64 // queued broadcasts replaced by a newer version before they were done
	StalePublishes       uint64 // Publish/PublishCert calls not newer than what the node knew
	PublishesCoalesced   uint64 // publishes held by PublishInterval (only the newest goes out)

	Delivered     uint64 // Invalidate calls made
	CertDelivered uint64 // CertChanged calls made
	DecodeErrors  uint64 // messages or states dropped as undecodable
	NamesDropped  uint64 // names dropped because MaxNames was reached
	JoinFailures  uint64 // attempts to join the seeds that reached none
	// Forged counts announcements and state entries dropped for a missing
	// or wrong signature (on a node with a VerifyKey).
	Forged uint64
}

type counters struct {
	invSent, invRecv, certSent, certRecv, statesSent, statesMerged atomic.Uint64
	queued, superseded, stale, coalesced                           atomic.Uint64
	delivered, certDelivered, decodeErrors, namesDropped           atomic.Uint64
	joinFailures, forged                                           atomic.Uint64
}

func (c *counters) snapshot() Metrics {
	return Metrics{
		InvalidatesSent:      c.invSent.Load(),
		InvalidatesReceived:  c.invRecv.Load(),
		CertsSent:            c.certSent.Load(),
		CertsReceived:        c.certRecv.Load(),
		StatesSent:           c.statesSent.Load(),
		StatesMerged:         c.statesMerged.Load(),
		BroadcastsQueued:     c.queued.Load(),
		BroadcastsSuperseded: c.superseded.Load(),
		StalePublishes:       c.stale.Load(),
		PublishesCoalesced:   c.coalesced.Load(),
		Delivered:            c.delivered.Load(),
		CertDelivered:        c.certDelivered.Load(),
		DecodeErrors:         c.decodeErrors.Load(),
		NamesDropped:         c.namesDropped.Load(),
		JoinFailures:         c.joinFailures.Load(),
		Forged:               c.forged.Load(),
	}
}
