package origin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/klauspost/compress/zstd"

	"github.com/statusedge/statusedge/content"
)

// Snapshot format, version 2:
//
//	"statusedge-snapshot/2\n"        the magic, uncompressed
//	zstd stream of JSON lines:
//	  {"sites":N,"state":{...}}      the header: the state without its sites
//	  {site}                         N lines, one site each, by id ascending
//
// Each line is what encoding/json writes for the value, so the content is
// exactly the version-1 snapshot (one JSON document of the whole state)
// split in pieces. Splitting lets Persist and Restore use every core;
// zstd makes the file about a tenth of the JSON (history timestamps
// repeat). A snapshot that starts with '{' is version 1 and still restores.
const snapshotMagic = "statusedge-snapshot/2\n"

// snapshotHeader is the first line of a version-2 snapshot.
type snapshotHeader struct {
	Sites int    `json:"sites"` // number of site lines that follow
	State *state `json:"state"` // everything but the sites
}

// errSnapshot marks a snapshot that cannot be decoded.
var errSnapshot = errors.New("origin: bad snapshot")

// encodeState writes st as a version-2 snapshot to w.
func encodeState(w io.Writer, st *state) error {
	if _, err := io.WriteString(w, snapshotMagic); err != nil {
		return err
	}
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(zw, 1<<20)
	enc := json.NewEncoder(bw)
	head := *st
	head.Sites = nil
	if err := enc.Encode(snapshotHeader{Sites: len(st.Sites), State: &head}); err != nil {
		zw.Close()
		return err
	}
	if err := encodeSites(bw, st.Sites); err != nil {
		zw.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		zw.Close()
		return err
	}
	return zw.Close()
}

// encodeSites writes the sites as JSON lines by id ascending, marshalling
// them on every core while the lines are written in order.
func encodeSites(w io.Writer, sites map[string]*content.Site) error {
	type line struct {
		b    []byte
		err  error
		done chan struct{}
	}
	type job struct {
		s *content.Site
		l *line
	}
	workers := runtime.GOMAXPROCS(0)
	queue := make(chan *line, 4*workers) // in id order; bounds the lines in memory
	jobs := make(chan job)
	go func() {
		for _, id := range sortedKeys(sites) {
			l := &line{done: make(chan struct{})}
			queue <- l
			jobs <- job{sites[id], l}
		}
		close(jobs)
		close(queue)
	}()
	for range workers {
		go func() {
			for j := range jobs {
				j.l.b, j.l.err = json.Marshal(j.s)
				if j.l.err != nil {
					j.l.err = fmt.Errorf("site %s: %w", j.s.ID, j.l.err)
				}
				close(j.l.done)
			}
		}()
	}
	var first error
	for l := range queue { // drained to the end, so no goroutine is left blocked
		<-l.done
		if first == nil {
			first = l.err
		}
		if first == nil {
			if _, err := w.Write(append(l.b, '\n')); err != nil {
				first = err
			}
		}
	}
	return first
}

// decodeState reads a snapshot of either version.
func decodeState(r io.Reader) (*state, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	head, err := br.Peek(len(snapshotMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("origin: decode snapshot: %w", err)
	}
	var st *state
	switch {
	case string(head) == snapshotMagic:
		br.Discard(len(snapshotMagic))
		st, err = decodeStateV2(br)
	case len(bytes.TrimLeft(head, " \t\r\n")) == 0 || bytes.TrimLeft(head, " \t\r\n")[0] == '{':
		st = newState()
		err = json.NewDecoder(br).Decode(st)
	default:
		err = fmt.Errorf("%w: unknown format", errSnapshot)
	}
	if err != nil {
		return nil, fmt.Errorf("origin: decode snapshot: %w", err)
	}
	for _, m := range []*map[string]string{&st.Tokens, &st.Members} {
		if *m == nil {
			*m = map[string]string{}
		}
	}
	if st.Sites == nil {
		st.Sites = map[string]*content.Site{}
	}
	if st.Idem == nil {
		st.Idem = map[string]*idemRecord{}
	}
	st.reindex()
	return st, nil
}

// decodeStateV2 reads the zstd stream after the magic: the header line,
// then the site lines, decoded by one worker per core.
func decodeStateV2(r io.Reader) (*state, error) {
	zr, err := zstd.NewReader(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 1<<20)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", errSnapshot, err)
	}
	var head snapshotHeader
	if err := json.Unmarshal(line, &head); err != nil {
		return nil, fmt.Errorf("%w: header: %w", errSnapshot, err)
	}
	if head.State == nil || head.Sites < 0 {
		return nil, fmt.Errorf("%w: header without state", errSnapshot)
	}
	st := head.State
	st.Sites = make(map[string]*content.Site, min(head.Sites, 1<<20))

	opts := jsonv1.DefaultOptionsV1() // exactly encoding/json's semantics, faster
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	setErr := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	lines := make(chan []byte, 64)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for line := range lines {
				s := new(content.Site)
				if err := jsonv2.Unmarshal(line, s, opts); err != nil {
					setErr(fmt.Errorf("%w: site: %w", errSnapshot, err))
					continue
				}
				mu.Lock()
				_, dup := st.Sites[s.ID]
				st.Sites[s.ID] = s
				mu.Unlock()
				if s.ID == "" || dup {
					setErr(fmt.Errorf("%w: site id %q empty or repeated", errSnapshot, s.ID))
				}
			}
		}()
	}
	var readErr error
	for i := 0; i < head.Sites; i++ {
		line, err := br.ReadBytes('\n')
		if err != nil {
			readErr = fmt.Errorf("%w: site %d of %d: %w", errSnapshot, i+1, head.Sites, err)
			break
		}
		lines <- line
	}
	close(lines)
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("data after the last site")
		}
		return nil, fmt.Errorf("%w: %w", errSnapshot, err)
	}
	return st, nil
}
