package edge

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/andybalholm/brotli"
	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/redis/rueidis"
)

// encoding is a content coding the edge stores and serves.
type encoding uint8

const (
	encIdentity encoding = iota
	encGzip
	encBrotli
	numEnc
)

var encNames = [numEnc]string{"identity", "gzip", "br"}

// variant is one stored response body: one key, one encoding. It is
// immutable once built; its body is handed to fasthttp without copying.
type variant struct {
	key        string // the full cache key, checked on every L1 hit
	status     int    // 200, or 404 for a page the site does not have
	version    uint64
	renderedAt int64 // unix nanoseconds, when the edge got the render
	enc        encoding
	ctype      []byte
	etag       []byte // quoted, strong, per encoding
	verHdr     []byte // decimal version for X-Statusedge-Version
	body       []byte
	// target is set on a stale-fallback stub (see lastStub): the page it
	// stands for, held weakly so that L1 pays for the bytes once.
	target weak.Pointer[variant]
	// twin is this page marked stale (see Server.staleTwin), built the
	// first time it is served stale; twinQueued is set while the twin
	// worker encodes it.
	twin       atomic.Pointer[variant]
	twinQueued atomic.Bool
}

// clone is a copy of v (sharing the bytes) without its stale twin.
func (v *variant) clone() *variant {
	return &variant{key: v.key, status: v.status, version: v.version, renderedAt: v.renderedAt, enc: v.enc,
		ctype: v.ctype, etag: v.etag, verHdr: v.verHdr, body: v.body, target: v.target}
}

// page is what an L1 entry serves: the variant itself, or for a
// stale-fallback stub the page it points at (nil once that is collected).
func (v *variant) page() *variant {
	if v.target == (weak.Pointer[variant]{}) {
		return v
	}
	return v.target.Value()
}

// variantOverhead approximates a variant's fixed cost in L1 (struct, slice
// headers, ristretto's item), so the cost bound holds for small pages too.
const variantOverhead = 1024

func (v *variant) cost() int64 {
	return int64(len(v.key)+cap(v.ctype)+cap(v.etag)+cap(v.verHdr)+allocSize(cap(v.body))) + variantOverhead
}

// allocSize is about what the Go allocator takes for an n-byte slice: a
// large object takes whole 8 KiB pages, a small one a size class at most
// an eighth larger.
func allocSize(n int) int {
	if n > 32<<10 {
		return (n + 8<<10 - 1) &^ (8<<10 - 1)
	}
	return n + n/8
}

// keyPrefix versions the key layout (bump it when anything changes).
const keyPrefix = "se1"

// appendBaseKey appends the encoding-less cache key of one page:
// se1|site|version|audience|day|path. Every part that changes the bytes is
// in it; the path comes last and is a normalized route (no '|').
func appendBaseKey(b []byte, site string, version uint64, aud string, day int32, path []byte) []byte {
	return appendMinuteKey(b, site, version, aud, day, 0, path)
}

// appendMinuteKey is appendBaseKey for a page that holds one minute only (a
// live site: something not operational, so uptime moves with the clock):
// se1|site|version|audience|day@minute|path, minute in unix minutes. A
// minute of 0 is no minute: the key is appendBaseKey's, as every
// all-operational site's keys are.
func appendMinuteKey(b []byte, site string, version uint64, aud string, day int32, minute int64, path []byte) []byte {
	b = append(b, keyPrefix...)
	b = append(b, '|')
	b = append(b, site...)
	b = append(b, '|')
	b = strconv.AppendUint(b, version, 10)
	b = append(b, '|')
	b = append(b, aud...)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(day), 10)
	if minute != 0 {
		b = append(b, '@')
		b = strconv.AppendInt(b, minute, 10)
	}
	b = append(b, '|')
	return append(b, path...)
}

// appendLastKey appends the key of the newest copy of a page across
// versions and days (the stale fallback): last|site|audience|path.
func appendLastKey(b []byte, site, aud string, path []byte) []byte {
	b = append(b, "last|"...)
	b = append(b, site...)
	b = append(b, '|')
	b = append(b, aud...)
	b = append(b, '|')
	return append(b, path...)
}

func appendEnc(b []byte, e encoding) []byte {
	b = append(b, '|')
	return append(b, encNames[e]...)
}

// page is a render, before compression.
type page struct {
	status     int
	version    uint64
	renderedAt time.Time
	ctype      string
	body       []byte
}

// compressor compresses once per render.
type compressor struct {
	brotliLevel int
	// slots bound the compressions that run at once, and each holds a
	// gzip and a brotli writer reused from one body to the next. A brotli writer at
	// quality 7 and up holds a hash table of 8–32 MiB whatever the body:
	// in a sync.Pool, which every GC empties, each render allocated and
	// zeroed it again, and that allocation set off the next GC (latency
	// for every visitor, seconds of it under a spike of updates). The
	// slots are the CPUs less one, at least one: compressing is CPU-bound,
	// so more at once would finish no sooner and would leave visitors no
	// core. The writers' memory is bounded by the slots.
	slotsOnce sync.Once
	slots     chan *compressSlot
}

// compressSlot is one compression slot: its writers (nil until the first
// body in their encoding) and the brotli writer's window.
type compressSlot struct {
	gz    *gzip.Writer
	br    *brotli.Writer
	lgwin int
}

func (c *compressor) slot() *compressSlot {
	c.slotsOnce.Do(func() {
		n := max(runtime.GOMAXPROCS(0)-1, 1)
		c.slots = make(chan *compressSlot, n)
		for range n {
			c.slots <- &compressSlot{}
		}
	})
	return <-c.slots
}

func (c *compressor) release(s *compressSlot) { c.slots <- s }

// decode undoes encode.
func (c *compressor) decode(e encoding, body []byte) ([]byte, error) {
	var r io.Reader
	switch e {
	case encGzip:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("edge: gunzip: %w", err)
		}
		r = zr
	case encBrotli:
		r = brotli.NewReader(bytes.NewReader(body))
	default:
		return body, nil
	}
	out, err := io.ReadAll(io.LimitReader(r, maxPage))
	if err != nil {
		return nil, fmt.Errorf("edge: decode %s: %w", encNames[e], err)
	}
	return out, nil
}

// Brotli windows: 2^10 (1 KiB) to 2^24 (16 MiB), brotli's own bounds. A
// slot's writer has at least minSlotWindow (a page of up to 256 KiB fits),
// and a larger one once a larger body came: a window larger than a body
// needs changes nothing in the bytes but the header's window size.
const (
	minBrotliWindow = 10
	minSlotWindow   = 18
	maxBrotliWindow = 24
)

// brotliWindow is the smallest window that holds n bytes.
func brotliWindow(n int) int {
	return min(max(bits.Len(uint(n)), minBrotliWindow), maxBrotliWindow)
}

// gzipLevel is the gzip level of every stored page: on the demo page
// (142 KB) level 7 is 1.4 % larger than level 9 (9,451 against 9,321 bytes)
// for a third of the CPU (2.5 ms against 7.3 ms; BenchmarkCompressPage),
// and every update compresses each hot path once per edge.
const gzipLevel = 7

// minCompressBytes: a body shorter than this is stored and sent as is in
// every encoding (compressing it would save a few bytes at best, and a
// flood of tiny 404s would cost a compression each).
const minCompressBytes = 512

// encode compresses body in e, in a slot of its own.
func (c *compressor) encode(e encoding, body []byte) ([]byte, error) {
	if e == encIdentity {
		return exact(body), nil
	}
	sl := c.slot()
	defer c.release(sl)
	return c.encodeIn(sl, e, body)
}

// encodeIn compresses body in e, holding slot sl.
func (c *compressor) encodeIn(sl *compressSlot, e encoding, body []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)
	switch e {
	case encGzip:
		if sl.gz == nil {
			sl.gz, _ = gzip.NewWriterLevel(&buf, gzipLevel)
		} else {
			sl.gz.Reset(&buf)
		}
		w := sl.gz
		defer w.Reset(nil) // no hold on buf
		if _, err := w.Write(body); err != nil {
			return nil, fmt.Errorf("edge: gzip: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("edge: gzip: %w", err)
		}
	case encBrotli:
		if lgwin := max(brotliWindow(len(body)), minSlotWindow); sl.br == nil || sl.lgwin < lgwin {
			sl.br = brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: c.brotliLevel, LGWin: lgwin})
			sl.lgwin = lgwin
		} else {
			sl.br.Reset(&buf)
		}
		w := sl.br
		defer w.Reset(nil) // no hold on buf
		if _, err := w.Write(body); err != nil {
			sl.br = nil // its state is unknown: a new one next time
			return nil, fmt.Errorf("edge: brotli: %w", err)
		}
		if err := w.Close(); err != nil {
			sl.br = nil
			return nil, fmt.Errorf("edge: brotli: %w", err)
		}
	default:
		return exact(body), nil
	}
	return exact(buf.Bytes()), nil
}

// exact is b in a slice of its own length: a body lives in L1 for a long
// time, and the spare capacity a growing buffer leaves behind would be
// memory that L1's cost does not see.
func exact(b []byte) []byte {
	if cap(b)-len(b) <= len(b)/32 {
		return b
	}
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// variants builds the three encodings of p under base (an encoding-less key).
func (c *compressor) variants(base []byte, p page) ([numEnc]*variant, error) {
	var out [numEnc]*variant
	// Of the bytes alone: the same bytes at another version are the same
	// page (and an audience's page at a version another audience moved
	// must not look changed).
	sum := xxhash.Sum64(p.body)
	tiny := len(p.body) < minCompressBytes
	var sl *compressSlot
	if !tiny {
		sl = c.slot()
		defer c.release(sl)
	}
	for e := range numEnc {
		stored := e
		if tiny {
			stored = encIdentity
		}
		body, err := c.encodeIn(sl, stored, p.body)
		if err != nil {
			return out, err
		}
		etag := make([]byte, 0, 32)
		etag = append(etag, '"')
		etag = strconv.AppendUint(etag, sum, 36)
		etag = append(etag, '-')
		etag = append(etag, encNames[stored]...)
		etag = append(etag, '"')
		out[e] = &variant{
			key: string(appendEnc(bytes.Clone(base), e)), status: p.status, version: p.version,
			renderedAt: p.renderedAt.UnixNano(), enc: stored, ctype: []byte(p.ctype), etag: etag,
			verHdr: strconv.AppendUint(nil, p.version, 10), body: body,
		}
	}
	return out, nil
}

// l1 is the in-process cache: ristretto keyed by the xxhash of the full key,
// every hit checked against the key stored in the variant (so a hash
// collision is a miss, never another key's bytes).
type l1 struct {
	c *ristretto.Cache[uint64, *variant]
}

func newL1(maxBytes int64) (*l1, error) {
	c, err := ristretto.NewCache(&ristretto.Config[uint64, *variant]{
		NumCounters: max(maxBytes/2048, 1<<12) * 10,
		MaxCost:     maxBytes,
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("edge: l1: %w", err)
	}
	return &l1{c: c}, nil
}

func (c *l1) get(key []byte) *variant {
	v, ok := c.c.Get(xxhash.Sum64(key))
	if !ok || v == nil || v.key != string(key) {
		return nil
	}
	return v
}

// set stores v under its own key (ttl 0: until evicted).
func (c *l1) set(v *variant, ttl time.Duration) {
	c.c.SetWithTTL(xxhash.Sum64String(v.key), v, v.cost(), ttl)
}

// Redis value layout: magic, enc, status, version, renderedAt, then
// length-prefixed key, content type and etag, then the body.
const redisMagic = "SE1\n"

func marshalVariant(v *variant) []byte {
	b := make([]byte, 0, len(redisMagic)+1+2+8+8+6+len(v.key)+len(v.ctype)+len(v.etag)+len(v.body))
	b = append(b, redisMagic...)
	b = append(b, byte(v.enc))
	b = binary.BigEndian.AppendUint16(b, uint16(v.status))
	b = binary.BigEndian.AppendUint64(b, v.version)
	b = binary.BigEndian.AppendUint64(b, uint64(v.renderedAt))
	for _, f := range [][]byte{[]byte(v.key), v.ctype, v.etag} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return append(b, v.body...)
}

var errBadValue = errors.New("edge: malformed redis value")

func unmarshalVariant(b []byte) (*variant, error) {
	if len(b) < len(redisMagic)+19 || string(b[:len(redisMagic)]) != redisMagic {
		return nil, errBadValue
	}
	b = b[len(redisMagic):]
	v := &variant{enc: encoding(b[0]), status: int(binary.BigEndian.Uint16(b[1:])),
		version: binary.BigEndian.Uint64(b[3:]), renderedAt: int64(binary.BigEndian.Uint64(b[11:]))}
	b = b[19:]
	if v.enc >= numEnc {
		return nil, errBadValue
	}
	var fields [3][]byte
	for i := range fields {
		if len(b) < 2 {
			return nil, errBadValue
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, errBadValue
		}
		fields[i], b = b[2:2+n:2+n], b[2+n:] // capped: cost() counts cap
	}
	v.key, v.ctype, v.etag, v.body = string(fields[0]), fields[1], fields[2], b
	v.verHdr = strconv.AppendUint(nil, v.version, 10)
	return v, nil
}

// l2 is the regional Redis through rueidis with client-side caching. It
// connects in the background, and after an error it stays out of the path
// for a moment (a breaker), so a dead or frozen Redis costs visitors nothing.
type l2 struct {
	addr     string
	ttl      time.Duration
	localTTL time.Duration
	timeout  time.Duration
	m        *metrics
	log      *slog.Logger // nil: no logs

	client   atomic.Pointer[rueidis.Client]
	downTill atomic.Int64
	writes   chan l2Write
}

const (
	l2Breaker    = time.Second
	l2WriteQueue = 1024
	// l2LocalCache bounds rueidis' client-side cache across all its
	// connections (it keeps one cache per connection, and by default opens
	// more connections on more cores): it counts against the edge's RSS
	// beside L1, and L1 already answers the hot keys.
	l2LocalCache  = 8 << 20
	l2Pipelines   = 1 // rueidis PipelineMultiplex: 1<<1 connections
	redisKeySpace = "statusedge:"
)

func (c *l2) up() (rueidis.Client, bool) {
	p := c.client.Load()
	if p == nil || time.Now().UnixNano() < c.downTill.Load() {
		return nil, false
	}
	return *p, true
}

func (c *l2) fail(err error) {
	c.m.redisErrors.Inc()
	now := time.Now()
	if c.log != nil && now.UnixNano() >= c.downTill.Load() { // once per breaker opening
		c.log.Warn("redis error: serving without redis for a moment", "addr", c.addr, "for", l2Breaker, "err", err)
	}
	c.downTill.Store(now.Add(l2Breaker).UnixNano())
}

// connect dials until it succeeds or ctx ends.
func (c *l2) connect(ctx context.Context, retry time.Duration) {
	for {
		cl, err := rueidis.NewClient(rueidis.ClientOption{
			InitAddress:       []string{c.addr},
			CacheSizeEachConn: l2LocalCache >> l2Pipelines,
			PipelineMultiplex: l2Pipelines,
			ConnWriteTimeout:  time.Second,
			Dialer:            netDialer(500 * time.Millisecond),
			DisableRetry:      true,
		})
		if err == nil {
			c.client.Store(&cl)
			return
		}
		c.m.redisErrors.Inc()
		if c.log != nil {
			c.log.Warn("redis connect failed; retrying", "addr", c.addr, "retry", retry, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

// getAll fetches the given keys in one round trip; a nil entry is a miss.
func (c *l2) getAll(ctx context.Context, keys ...[]byte) []*variant {
	out := make([]*variant, len(keys))
	cl, ok := c.up()
	if !ok {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmds := make([]rueidis.CacheableTTL, len(keys))
	for i, k := range keys {
		cmds[i] = rueidis.CT(cl.B().Get().Key(redisKeySpace+string(k)).Cache(), c.localTTL)
	}
	for i, r := range cl.DoMultiCache(ctx, cmds...) {
		b, err := r.AsBytes()
		if err != nil {
			if !rueidis.IsRedisNil(err) {
				c.fail(err)
				return make([]*variant, len(keys))
			}
			continue
		}
		v, err := unmarshalVariant(b)
		if err != nil || v.key != string(keys[i]) {
			continue
		}
		out[i] = v
	}
	return out
}

// getWithin is getAll of one key for a visitor's request: it answers
// within the timeout whatever the client does (rueidis makes a caller
// wait for a reconnect another caller started, under that caller's
// deadline), a miss past it.
func (c *l2) getWithin(ctx context.Context, key []byte) *variant {
	if _, ok := c.up(); !ok {
		return nil
	}
	got := make(chan *variant, 1)
	go func() { got <- c.getAll(ctx, key)[0] }()
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case v := <-got:
		return v
	case <-t.C:
		return nil
	}
}

// l2Write is one queued SET.
type l2Write struct {
	key, value []byte
	ttl        time.Duration
}

// put queues a write; a full queue drops it (Redis is a cache). A page
// that is not a 200 (a 404) lives no longer in Redis than in L1
// (notFoundTTL): made-up ids must not fill Redis for a day.
func (c *l2) put(key []byte, v *variant) {
	if _, ok := c.up(); !ok {
		return
	}
	ttl := c.ttl
	if v.status != 200 {
		ttl = min(ttl, notFoundTTL)
	}
	select {
	case c.writes <- l2Write{key: []byte(redisKeySpace + string(key)), value: marshalVariant(v), ttl: ttl}:
	default:
	}
}

func (c *l2) writer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-c.writes:
			cl, ok := c.up()
			if !ok {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, c.timeout)
			err := cl.Do(wctx, cl.B().Set().Key(string(w.key)).Value(rueidis.BinaryString(w.value)).
				Ex(w.ttl).Build()).Error()
			cancel()
			if err != nil {
				c.fail(err)
			}
		}
	}
}

func (c *l2) close() {
	if p := c.client.Load(); p != nil {
		(*p).Close()
	}
}

// registryKey holds the newest registry this region's edges loaded, so an
// edge that starts while the origin is down can still route (and serve the
// copies Redis has).
const registryKey = redisKeySpace + "registry"

func (c *l2) putRegistry(ctx context.Context, b []byte) {
	cl, ok := c.up()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := cl.Do(ctx, cl.B().Set().Key(registryKey).Value(rueidis.BinaryString(b)).Build()).Error(); err != nil {
		c.fail(err)
	}
}

func (c *l2) getRegistry(ctx context.Context) ([]byte, bool) {
	cl, ok := c.up()
	if !ok {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	b, err := cl.Do(ctx, cl.B().Get().Key(registryKey).Build()).AsBytes()
	if err != nil {
		if !rueidis.IsRedisNil(err) {
			c.fail(err)
		}
		return nil, false
	}
	return b, true
}
