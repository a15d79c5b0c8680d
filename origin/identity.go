package origin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/statusedge/statusedge/content"
)

// A cluster has an identity: a random id made when it is bootstrapped,
// kept in every replica's data dir (identityFile) and presented on every
// raft connection (identityStream). A replica holding another cluster's
// state can neither join nor take part in this one's elections or log.

// identityFile holds the cluster id in the data dir.
const identityFile = "cluster-id"

// ReadClusterID returns the id of the cluster whose state dir holds, or ""
// when dir holds no cluster id.
func ReadClusterID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("origin: read %s: %w", identityFile, err)
	}
	id := strings.TrimSpace(string(b))
	if err := checkClusterID(id); err != nil {
		return "", fmt.Errorf("%w: %s in %s: %v", ErrDamagedStore, identityFile, dir, err)
	}
	return id, nil
}

// checkClusterID accepts 1-64 bytes of [A-Za-z0-9_-].
func checkClusterID(id string) error {
	if id == "" || len(id) > 64 {
		return errors.New("want 1-64 characters")
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("character %q not allowed", c)
		}
	}
	return nil
}

// writeClusterID stores id in dir durably (temp file, fsync, rename, fsync
// of the directory).
func writeClusterID(dir, id string) error {
	tmp := filepath.Join(dir, identityFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("origin: write %s: %w", identityFile, err)
	}
	_, err = f.WriteString(id + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, identityFile))
	}
	if err == nil {
		if d, derr := os.Open(dir); derr == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("origin: write %s: %w", identityFile, err)
	}
	return nil
}

// identity is this replica's cluster id, empty until it bootstraps, joins
// or is first reached by a cluster while it holds no state.
type identity struct {
	dir string
	log hclog.Logger

	mu sync.Mutex
	id string
	// adopt allows a replica without state or id to take the id of the
	// first cluster that reaches it (a member restarted on an empty dir,
	// or one added with `ctl cluster join`).
	adopt bool
}

func (i *identity) get() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.id
}

// set stores id if the replica has none; it fails for another id.
func (i *identity) set(id string) error {
	if err := checkClusterID(id); err != nil {
		return fmt.Errorf("origin: cluster id %q: %v", id, err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	switch i.id {
	case id:
		return nil
	case "":
		if err := writeClusterID(i.dir, id); err != nil {
			return err
		}
		i.id, i.adopt = id, false
		return nil
	}
	return fmt.Errorf("%w: this replica belongs to cluster %s, not %s", ErrForeignCluster, i.id, id)
}

// admit reports whether a peer presenting id may talk raft with us.
func (i *identity) admit(id string) bool {
	i.mu.Lock()
	have, adopt := i.id, i.adopt
	i.mu.Unlock()
	if have != "" || !adopt {
		return have != "" && have == id
	}
	if err := i.set(id); err != nil {
		i.log.Warn("adopt cluster id", "cluster", id, "error", err)
		return false
	}
	i.log.Info("joined by cluster", "cluster", id)
	return true
}

// newClusterID returns a fresh random cluster id.
func newClusterID() string { return content.NewID() }

// identityMagic opens every raft connection; the dialer's cluster id
// follows (one length byte, then the id), and the acceptor answers one
// byte: identityOK or the connection is closed.
var identityMagic = []byte("SEC1")

const identityOK = 'Y'

// handshakeTimeout bounds reading a peer's identity.
const handshakeTimeout = 5 * time.Second

// identityStream is raft's TCP stream layer with the cluster-id handshake,
// and a fence that cuts this replica off from its peers while its disk is
// stalled (see diskWatch).
type identityStream struct {
	ln    net.Listener
	adv   net.Addr
	id    *identity
	log   hclog.Logger
	fence atomic.Bool

	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once

	// live holds every open raft connection, dialed or accepted, so a
	// fence can cut them all (raft keeps some outside its pool).
	liveMu sync.Mutex
	live   map[*trackedConn]struct{}
}

// trackedConn leaves the stream's live set when closed.
type trackedConn struct {
	net.Conn
	s    *identityStream
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.liveMu.Lock()
		delete(c.s.live, c)
		c.s.liveMu.Unlock()
	})
	return c.Conn.Close()
}

func (s *identityStream) track(c net.Conn) net.Conn {
	tc := &trackedConn{Conn: c, s: s}
	s.liveMu.Lock()
	s.live[tc] = struct{}{}
	s.liveMu.Unlock()
	return tc
}

// setFence fences (or unfences) the replica; fencing closes every open
// raft connection.
func (s *identityStream) setFence(on bool) {
	s.fence.Store(on)
	if !on {
		return
	}
	s.liveMu.Lock()
	open := make([]net.Conn, 0, len(s.live))
	for c := range s.live {
		open = append(open, c.Conn)
	}
	s.liveMu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

func newIdentityStream(bind string, adv net.Addr, id *identity, log hclog.Logger) (*identityStream, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	if adv == nil {
		adv = ln.Addr()
	}
	if ta, ok := adv.(*net.TCPAddr); !ok || ta.IP == nil || ta.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("raft address %s is not advertisable (set an advertise address)", adv)
	}
	s := &identityStream{ln: ln, adv: adv, id: id, log: log, conns: make(chan net.Conn), done: make(chan struct{}), live: map[*trackedConn]struct{}{}}
	go s.acceptLoop()
	return s, nil
}

func (s *identityStream) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.Close()
			return
		}
		go s.handshake(c)
	}
}

// handshake admits c after checking the dialer's cluster id.
func (s *identityStream) handshake(c net.Conn) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	peer, err := readIdentity(c)
	switch {
	case err != nil:
		s.log.Warn("raft connection without a cluster id refused", "remote", c.RemoteAddr(), "error", err)
		c.Close()
		return
	case s.fence.Load():
		c.Close()
		return
	case !s.id.admit(peer):
		s.log.Warn("raft connection from another cluster refused", "remote", c.RemoteAddr(), "their_cluster", peer, "our_cluster", s.id.get())
		c.Close()
		return
	}
	if _, err := c.Write([]byte{identityOK}); err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	select {
	case s.conns <- s.track(c):
	case <-s.done:
		c.Close()
	}
}

func readIdentity(r io.Reader) (string, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", err
	}
	if !bytes.Equal(hdr[:4], identityMagic) {
		return "", errors.New("not a statusedge raft peer")
	}
	id := make([]byte, hdr[4])
	if _, err := io.ReadFull(r, id); err != nil {
		return "", err
	}
	return string(id), nil
}

// Accept returns the next admitted connection.
func (s *identityStream) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting.
func (s *identityStream) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ln.Close()
	})
	return nil
}

// Addr is the advertised address.
func (s *identityStream) Addr() net.Addr { return s.adv }

// Dial connects to a peer and presents this replica's cluster id.
func (s *identityStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if s.fence.Load() {
		return nil, errors.New("origin: raft fenced: local disk stalled")
	}
	id := s.id.get()
	if id == "" {
		return nil, errors.New("origin: no cluster id yet")
	}
	c, err := net.DialTimeout("tcp", string(addr), timeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(timeout))
	msg := append(append(append([]byte{}, identityMagic...), byte(len(id))), id...)
	var ack [1]byte
	if _, err = c.Write(msg); err == nil {
		_, err = io.ReadFull(c, ack[:])
	}
	if err != nil || ack[0] != identityOK {
		c.Close()
		return nil, fmt.Errorf("%w: peer %s refused cluster %s (or is not a statusedge replica): %v", ErrForeignCluster, addr, id, err)
	}
	c.SetDeadline(time.Time{})
	return s.track(c), nil
}
