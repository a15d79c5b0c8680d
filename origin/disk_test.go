package origin

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// loopDisk is an ext4 filesystem on a loop device (an image file in the
// test's temp dir): a real disk of its own that a test can freeze
// (fsfreeze) or break (EXT4_IOC_SHUTDOWN) without touching anyone else's.
// It needs root, as on this machine and in CI.
type loopDisk struct {
	t         testing.TB
	dev, mnt  string
	frozen    bool
	unmounted bool
}

// mountLoop makes, mounts and (at cleanup) unmounts and detaches a
// loopDisk of size bytes.
func mountLoop(t testing.TB, size int64) *loopDisk {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	f, err := os.Create(img)
	if err == nil {
		err = errors.Join(f.Truncate(size), f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v (needs root, as in CI): %v: %s", name, args, err, out)
		}
		return string(bytes.TrimSpace(out))
	}
	run("mkfs.ext4", "-q", "-F", img)
	d := &loopDisk{t: t, dev: run("losetup", "--find", "--show", img), mnt: filepath.Join(dir, "mnt")}
	if err := os.Mkdir(d.mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", d.dev, d.mnt).CombinedOutput(); err != nil {
		exec.Command("losetup", "-d", d.dev).Run()
		t.Fatalf("mount %s: %v: %s", d.dev, err, out)
	}
	t.Cleanup(func() {
		d.thaw()
		d.unmount()
		if out, err := exec.Command("losetup", "-d", d.dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", d.dev, err, out)
		}
	})
	return d
}

// freeze freezes the filesystem (fsfreeze -f): every write to it hangs,
// uninterruptibly, until thaw. A cleanup registered now thaws it, so it
// runs before the cleanups of anything started earlier (a process stuck
// on a frozen disk cannot even be killed).
func (d *loopDisk) freeze() {
	d.t.Helper()
	if out, err := exec.Command("fsfreeze", "-f", d.mnt).CombinedOutput(); err != nil {
		d.t.Fatalf("fsfreeze -f %s: %v: %s", d.mnt, err, out)
	}
	d.frozen = true
	d.t.Cleanup(d.thaw)
}

func (d *loopDisk) thaw() {
	if !d.frozen {
		return
	}
	if out, err := exec.Command("fsfreeze", "-u", d.mnt).CombinedOutput(); err != nil {
		d.t.Errorf("fsfreeze -u %s: %v: %s", d.mnt, err, out)
	}
	d.frozen = false
}

// fail shuts the filesystem down as a dying disk would
// (EXT4_IOC_SHUTDOWN without flushing the journal): from now on every
// write and every fsync on it fails with EIO.
func (d *loopDisk) fail() {
	d.t.Helper()
	f, err := os.Open(d.mnt)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	const ext4IocShutdown = 0x8004587D // _IOR('X', 125, __u32)
	flags := uint32(2)                 // EXT4_GOING_FLAGS_NOLOGFLUSH
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), ext4IocShutdown, uintptr(unsafe.Pointer(&flags))); errno != 0 {
		d.t.Fatalf("EXT4_IOC_SHUTDOWN %s: %v", d.mnt, errno)
	}
}

func (d *loopDisk) unmount() {
	if d.unmounted {
		return
	}
	d.unmounted = true
	if out, err := exec.Command("umount", d.mnt).CombinedOutput(); err != nil {
		// Still busy (a process the test failed to stop): detach it
		// lazily, so that neither the mount nor the loop device outlives
		// the test.
		exec.Command("umount", "-l", d.mnt).Run()
		d.t.Errorf("umount %s: %v: %s", d.mnt, err, out)
	}
}

// loopDisks mounts a loop disk for each replica id, before the cluster
// starts (so they are unmounted after its processes stop), and returns
// them with the option that puts those replicas' data dirs on them.
func loopDisks(t testing.TB, ids ...string) (map[string]*loopDisk, func(*procNode)) {
	disks := map[string]*loopDisk{}
	for _, id := range ids {
		disks[id] = mountLoop(t, 64<<20)
	}
	return disks, func(p *procNode) {
		if d := disks[p.id]; d != nil {
			p.dir = filepath.Join(d.mnt, p.id)
		}
	}
}

// TestLeaderFrozenDiskIsLinearizable: the leader's data dir is on a real
// filesystem that gets frozen (fsfreeze) mid-burst, so its writes to
// raft.db hang. The leader fences itself, a healthy replica takes over
// and writes resume; once thawed, the old leader follows and catches up,
// and every acknowledged write is on all three exactly once.
func TestLeaderFrozenDiskIsLinearizable(t *testing.T) {
	t.Parallel()
	disks, on := loopDisks(t, "n0", "n1", "n2")
	c := newProcCluster(t, 3, on)
	pb := startProcBurst(t, c)
	pb.waitAcks(t, 60, "writes before the freeze")
	old := c.waitLeader()
	disks[old.id].freeze()
	pb.waitAcks(t, 60, "writes with the leader's disk frozen")
	for _, p := range c.nodes {
		if p == old {
			continue
		}
		if st, err := c.status(p); err == nil && st.Leader == old.id {
			t.Fatalf("%s still names the frozen %s leader", p.id, old.id)
		}
	}
	disks[old.id].thaw()
	pb.waitAcks(t, 30, "writes after the thaw")
	pb.settle(t, c, c.nodes)
	if log, _ := os.ReadFile(old.logPath); !bytes.Contains(log, []byte("disk stalled: stepping down")) {
		t.Fatalf("%s never saw its disk stall:\n%s", old.id, c.logTail(old))
	}
}

// TestTermWriteRefusedStopsCleanly: a follower's disk fails (every write
// EIO) and then the cluster changes term, which raft must save before it
// goes on (a failed save is a panic in hashicorp/raft). The replica fences
// itself, retries for --disk-fail-timeout, then stops with exit code 4 and
// one line; the others keep writing, and the replica restarted on a new
// disk catches up with every acknowledged write.
func TestTermWriteRefusedStopsCleanly(t *testing.T) {
	t.Parallel()
	disks, on := loopDisks(t, "n1")
	c := newProcCluster(t, 3, on)
	n1 := c.nodes[1]
	// Restart n1 with a short give-up bound (it is caught up: a restart
	// from its own state).
	n1.cmd.Process.Signal(syscall.SIGTERM)
	<-n1.done
	c.start(1, "--disk-fail-timeout", "2s")
	c.waitMembers()
	pb := startProcBurstN(t, c, 2)
	pb.waitAcks(t, 30, "writes before the disk fails")
	disks["n1"].fail()
	// A new term: the leader goes (n1, if it led, steps down by itself
	// when it cannot store its log).
	if l := c.waitLeader(); l != n1 {
		i := slices.Index(c.nodes, l)
		c.kill(i)
		c.start(i)
	}
	pb.waitAcks(t, 30, "writes with n1's disk failed")
	select {
	case <-n1.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("n1 still runs on its failed disk:\n%s", c.logTail(n1))
	}
	log, _ := os.ReadFile(n1.logPath)
	if code := n1.cmd.ProcessState.ExitCode(); code != 4 {
		t.Fatalf("n1 exited with %v, want code 4:\n%s", n1.cmd.ProcessState, c.logTail(n1))
	}
	if bytes.Contains(log, []byte("panic")) || !bytes.Contains(log, []byte("statusedge origin: origin: disk failed: cannot save the raft term")) {
		t.Fatalf("n1's log should end in one line naming the raft term:\n%s", c.logTail(n1))
	}
	pb.waitAcks(t, 30, "writes without n1")
	pb.settle(t, c, c.live())
	// A new disk: n1 starts empty and is caught up by the cluster.
	disks["n1"].unmount()
	n1.dir = filepath.Join(t.TempDir(), "n1")
	c.start(1)
	want := waitTimelineEndsWith(t, c.nodes[0], pb.token, pb.incident, "barrier")
	if got := waitTimelineEndsWith(t, n1, pb.token, pb.incident, "barrier"); !slices.Equal(got, want) {
		t.Fatalf("n1 restarted on a new disk has %d updates, the others %d", len(got), len(want))
	}
}
