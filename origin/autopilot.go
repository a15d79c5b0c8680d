package origin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// A replica that has not caught up must not vote: with an empty log (a
// new member, or one whose data dir was lost) it would grant its vote to
// any candidate, and could so help elect a leader that lacks committed
// entries. Two things keep it out (the way Consul's autopilot does):
//
//   - voteGate answers every vote and pre-vote request "not granted" until
//     the replica is caught up (Node.Ready), whatever the configuration
//     says;
//   - the leader's autopilot loop adds joining replicas as non-voters and
//     promotes one to voter only once its applied index has stayed within
//     PromoteLag of the leader's for PromoteAfter; a voter that reports it
//     is not caught up (restarted on an empty dir) is demoted to non-voter
//     first, when the other voters are healthy, and promoted the same way.

// Autopilot defaults (see Config.PromoteAfter and Config.PromoteLag).
const (
	DefaultPromoteAfter = time.Second
	DefaultPromoteLag   = 64
)

// voteGate is raft's transport with vote requests to a replica that may
// not vote answered on its behalf.
type voteGate struct {
	*raft.NetworkTransport
	out   chan raft.RPC
	allow atomic.Pointer[func() bool]
	self  raft.RPCHeader
	// leaderCommit is the leader's commit index on the first entries this
	// replica was sent (0 until then): what an empty replica must apply
	// to be caught up.
	leaderCommit atomic.Uint64
}

func newVoteGate(t *raft.NetworkTransport, id string, stop <-chan struct{}) *voteGate {
	g := &voteGate{NetworkTransport: t, out: make(chan raft.RPC),
		self: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(id), Addr: []byte(t.LocalAddr())}}
	go g.run(stop)
	return g
}

// Consumer implements raft.Transport.
func (g *voteGate) Consumer() <-chan raft.RPC { return g.out }

func (g *voteGate) mayVote() bool {
	f := g.allow.Load()
	return f != nil && (*f)()
}

func (g *voteGate) run(stop <-chan struct{}) {
	in := g.NetworkTransport.Consumer()
	for {
		var rpc raft.RPC
		select {
		case <-stop:
			return
		case rpc = <-in:
		}
		switch req := rpc.Command.(type) {
		case *raft.AppendEntriesRequest:
			if len(req.Entries) > 0 && req.LeaderCommitIndex > 0 {
				g.leaderCommit.CompareAndSwap(0, req.LeaderCommitIndex)
			}
		case *raft.InstallSnapshotRequest:
			g.leaderCommit.CompareAndSwap(0, req.LastLogIndex)
		case *raft.RequestVoteRequest:
			if !g.mayVote() {
				rpc.Respond(&raft.RequestVoteResponse{RPCHeader: g.self, Term: req.Term - 1}, nil)
				continue
			}
		case *raft.RequestPreVoteRequest:
			if !g.mayVote() {
				rpc.Respond(&raft.RequestPreVoteResponse{RPCHeader: g.self, Term: req.Term - 1}, nil)
				continue
			}
		}
		select {
		case <-stop:
			return
		case g.out <- rpc:
		}
	}
}

// MemberState is the answer of GET /internal/v1/member: what the leader's
// autopilot needs to know of a replica.
type MemberState struct {
	Applied    uint64 `json:"applied"`
	CaughtUp   bool   `json:"caught_up"`
	WantsVoter bool   `json:"wants_voter"`
}

func (n *Node) internalMember(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, MemberState{Applied: n.raft.AppliedIndex(), CaughtUp: n.caughtUpNow(), WantsVoter: n.cfg.Voter})
}

// memberState asks the replica at api for its MemberState.
func (n *Node) memberState(ctx context.Context, api string) (MemberState, error) {
	var st MemberState
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(api, "/")+"/internal/v1/member", nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("Authorization", "Bearer "+n.cfg.ClusterSecret)
	resp, err := n.client.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("origin: %s member state: %s", api, resp.Status)
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&st)
	return st, err
}

// autopilot runs on every replica; on the leader it promotes caught-up
// non-voters that want to vote and demotes voters that are not caught up.
// since (the leader's memory, lost on a leader change, which only
// restarts a stabilization period) holds when each non-voter was first
// seen caught up.
func (n *Node) autopilotLoop() {
	since := map[raft.ServerID]time.Time{}
	n.every(n.cfg.PromoteAfter/4, func() {
		if !n.IsLeader() {
			clear(since)
			return
		}
		conf := n.raft.GetConfiguration().Configuration()
		var members map[string]string
		n.fsm.read(func(s *state) { members = cloneMap(s.Members) })
		states := map[raft.ServerID]MemberState{}
		healthy := map[raft.ServerID]bool{}
		for _, s := range conf.Servers {
			if s.ID == raft.ServerID(n.cfg.ID) {
				continue
			}
			api := members[string(s.ID)]
			if api == "" {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), n.cfg.PromoteAfter/2)
			st, err := n.memberState(ctx, api)
			cancel()
			if err == nil {
				states[s.ID], healthy[s.ID] = st, st.CaughtUp
			}
		}
		lead := n.raft.AppliedIndex()
		for _, s := range conf.Servers {
			st, ok := states[s.ID]
			if !ok {
				delete(since, s.ID)
				continue
			}
			switch {
			case s.Suffrage == raft.Voter && !st.CaughtUp && n.othersHealthy(conf, s.ID, healthy):
				n.log.Warn("autopilot: demoting a voter that is not caught up", "server", s.ID, "applied", st.Applied, "leader_applied", lead)
				if err := n.raft.DemoteVoter(s.ID, 0, n.cfg.ApplyTimeout).Error(); err != nil {
					n.log.Warn("autopilot: demote", "server", s.ID, "error", err)
				}
			case s.Suffrage == raft.Nonvoter && st.WantsVoter && st.CaughtUp && st.Applied+n.cfg.PromoteLag >= lead:
				first, seen := since[s.ID]
				if !seen {
					since[s.ID] = time.Now()
					continue
				}
				if time.Since(first) < n.cfg.PromoteAfter {
					continue
				}
				n.log.Info("autopilot: promoting a caught-up non-voter", "server", s.ID, "applied", st.Applied, "leader_applied", lead)
				if err := n.raft.AddVoter(s.ID, s.Address, 0, n.cfg.ApplyTimeout).Error(); err != nil {
					n.log.Warn("autopilot: promote", "server", s.ID, "error", err)
				}
				delete(since, s.ID)
			default:
				delete(since, s.ID)
			}
		}
	})
}

// othersHealthy reports whether every voter but id (and the leader) is
// caught up: demoting id then costs no fault tolerance that the cluster
// has now.
func (n *Node) othersHealthy(conf raft.Configuration, id raft.ServerID, healthy map[raft.ServerID]bool) bool {
	for _, s := range conf.Servers {
		if s.Suffrage == raft.Voter && s.ID != id && s.ID != raft.ServerID(n.cfg.ID) && !healthy[s.ID] {
			return false
		}
	}
	return true
}

// waitVoter waits until id is a voter in the configuration (autopilot
// promotes it) or ctx ends.
func (n *Node) waitVoter(ctx context.Context, id string) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		for _, s := range n.raft.GetConfiguration().Configuration().Servers {
			if string(s.ID) == id && s.Suffrage == raft.Voter {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("origin: %s not promoted to voter yet (a non-voter until caught up): %w", id, ctx.Err())
		case <-t.C:
		}
	}
}
