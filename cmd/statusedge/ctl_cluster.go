package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/statusedge/statusedge/origin/client"
)

func clusterNoun() ctlNoun {
	return ctlNoun{name: "cluster", short: "raft membership of the origin replicas (operator token)", verbs: []ctlVerb{
		{name: "status", short: "show the leader, the servers and the last raft index", setup: clusterStatus},
		{name: "join", short: "add a replica as a voter or (--voter=false) a non-voter", setup: clusterJoin},
		{name: "remove", args: "ID", short: "remove a replica", setup: clusterRemove},
	}}
}

func clusterStatus(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		cl, err := c.Cluster(ctx, client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "leader: %s   last index: %d\n", ctlDash(ctlClean(cl.Leader)), cl.LastIndex)
			tw := ctlTable(w)
			fmt.Fprintln(tw, "ID\tRAFT ADDRESS\tSUFFRAGE\tSTATE\tAPI")
			for _, sv := range cl.Servers {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ctlClean(sv.ID), ctlClean(sv.Address), ctlDash(ctlClean(sv.Suffrage)),
					ctlDash(ctlClean(sv.State)), ctlDash(ctlClean(sv.API)))
			}
			tw.Flush()
		})
		return nil
	}
}

func clusterJoin(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	id := fs.String("id", "", "the joining replica's server id (required)")
	addr := fs.String("address", "", "its raft address host:port (required)")
	voter := fs.Bool("voter", true, "join as a voter (--voter=false: a non-voter that replicates but never votes)")
	apiAddr := fs.String("api-address", "", "its management API URL (optional)")
	return func(ctx context.Context) error {
		if strings.TrimSpace(*id) == "" {
			return ctlFlagErr("id", "required: the joining replica's server id")
		}
		if !s.set["address"] {
			return ctlFlagErr("address", "required: the raft address host:port")
		}
		if h, p, err := net.SplitHostPort(*addr); err != nil || h == "" || p == "" {
			return ctlFlagErr("address", "must be host:port")
		}
		if err := ctlCheckURL("api-address", *apiAddr); err != nil {
			return err
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		if err := c.Join(ctx, client.JoinInput{ID: *id, Address: *addr, Voter: *voter, APIAddr: *apiAddr}, s.write(&raw, nil)...); err != nil {
			return err
		}
		kind := "voter"
		if !*voter {
			kind = "non-voter"
		}
		s.out(raw, func(w io.Writer) { fmt.Fprintf(w, "joined %s at %s as a %s\n", ctlClean(*id), ctlClean(*addr), kind) })
		return nil
	}
}

func clusterRemove(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	return func(ctx context.Context) error {
		if strings.TrimSpace(s.args[0]) == "" {
			return ctlUsagef("cluster remove: the server id must not be empty")
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		if err := c.Remove(ctx, s.args[0], s.write(&raw, nil)...); err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { fmt.Fprintf(w, "removed %s\n", ctlClean(s.args[0])) })
		return nil
	}
}
