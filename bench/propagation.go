package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Target is one edge whose freshness is measured, and the Host it serves.
type Target struct {
	Name string // e.g. the region
	URL  string // the edge, http://127.0.0.1:port
	Host string // the site's hostname
	Path string // the page watched, default "/"
}

// Writer publishes changes through the management API, as a responder
// would: each is a component status flip.
type Writer struct {
	API    string // the management API, e.g. http://127.0.0.1:8081
	Token  string // operator or site token
	Client *http.Client
}

// SetStatus sets a component's status and returns the site version the
// write produced and how long the API took to acknowledge it.
func (w Writer) SetStatus(ctx context.Context, site, componentID, status string) (uint64, time.Duration, error) {
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	body, _ := json.Marshal(map[string]string{"status": status})
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch,
		fmt.Sprintf("%s/v1/sites/%s/components/%s", w.API, site, componentID), bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("bench: write: %w", err)
	}
	sent := time.Now()
	var (
		resp *http.Response
		b    []byte
	)
	// A 503 (no leader reachable: an election under load) is retried for
	// up to 10 s, as the CLI does; the ack time counts from the first try,
	// as the responder waits for it.
	for {
		req.Header.Set("Authorization", "Bearer "+w.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err = client.Do(req)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: write: %w", err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || time.Since(sent) > 10*time.Second {
			break
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodPatch, req.URL.String(), bytes.NewReader(body))
	}
	ack := time.Since(sent)
	if resp.StatusCode != http.StatusOK {
		return 0, ack, fmt.Errorf("bench: write: %d %s", resp.StatusCode, b)
	}
	version, err := strconv.ParseUint(resp.Header.Get("X-Statusedge-Version"), 10, 64)
	if err != nil {
		var c struct {
			Version uint64 `json:"version"`
		}
		if json.Unmarshal(b, &c) != nil || c.Version == 0 {
			return 0, ack, errors.New("bench: write: the answer carries no version")
		}
		version = c.Version
	}
	return version, ack, nil
}

// Propagation measures, over changes writes, the time from the management
// API's acknowledgment of a change to the moment each target serves a page
// of that version or newer (its X-Statusedge-Version header), and the time
// each write took to be acknowledged (the last Samples, "write ack"). Each
// change is a component status flip of site. poll is how often each target
// is asked (default 2 ms); gap is the least time between two changes (more
// than gossip's publish pacing measures lone changes rather than the pacing
// of a burst).
func Propagation(ctx context.Context, w Writer, site, componentID string, targets []Target, changes int, poll, gap time.Duration) ([]Samples, error) {
	if poll <= 0 {
		poll = 2 * time.Millisecond
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	if w.Client == nil {
		w.Client = client
	}
	out := make([]Samples, len(targets)+1)
	for i, t := range targets {
		out[i].Name = t.Name
		if targets[i].Path == "" {
			targets[i].Path = "/"
		}
	}
	acks := &out[len(targets)]
	acks.Name = "write ack"
	statuses := []string{"degraded_performance", "operational"}
	var last time.Time
	for n := 0; n < changes; n++ {
		if wait := gap - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return out, ctx.Err()
			case <-time.After(wait):
			}
		}
		last = time.Now()
		version, ack, err := w.SetStatus(ctx, site, componentID, statuses[n%2])
		if err != nil {
			return out, fmt.Errorf("bench: change %d: %w", n, err)
		}
		acked := time.Now()
		acks.Values = append(acks.Values, ack)
		var wg sync.WaitGroup
		errs := make([]error, len(targets))
		for i, t := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := waitVersion(ctx, client, t, version, acked, poll)
				errs[i] = err
				out[i].Values = append(out[i].Values, d)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				return out, fmt.Errorf("bench: change %d: %s: %w", n, targets[i].Name, err)
			}
		}
	}
	return out, nil
}

func waitVersion(ctx context.Context, client *http.Client, t Target, version uint64, since time.Time, poll time.Duration) (time.Duration, error) {
	deadline := since.Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, t.URL+t.Path, nil)
		req.Host = t.Host
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if v, _ := strconv.ParseUint(resp.Header.Get("X-Statusedge-Version"), 10, 64); v >= version && resp.StatusCode == http.StatusOK {
				return time.Since(since), nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("version %d not served after 30s", version)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(poll):
		}
	}
}
