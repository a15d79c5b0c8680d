package origin

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
)

// storeLockTimeout is how long Open waits for raft.db's file lock before
// it reports the data dir in use.
const storeLockTimeout = 300 * time.Millisecond

// checkStore opens path (raft.db) alone, checks every page, and closes it,
// turning bbolt's lock wait, errors, panics and faults on a damaged file
// into one error: ErrDataDirInUse or ErrDamagedStore. exists says whether
// there was a file.
func checkStore(dir, path string, wantState bool) (exists bool, err error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if wantState {
			return false, fmt.Errorf("%w: %s is missing but %s names a cluster", ErrDamagedStore, path, identityFile)
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("origin: %s: %w", path, err)
	case fi.Size() == 0:
		// bbolt would make a new, empty store of it.
		return true, fmt.Errorf("%w: %s is empty", ErrDamagedStore, path)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %s: %v", ErrDamagedStore, path, p)
		}
	}()
	// A fault on a truncated memory map becomes a panic, recovered above.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: storeLockTimeout})
	if errors.Is(err, bbolt.ErrTimeout) {
		return true, inUse(dir, path)
	}
	if err != nil {
		return true, fmt.Errorf("%w: %s: %v", ErrDamagedStore, path, err)
	}
	defer db.Close()
	// Every key of every bucket, on this goroutine (bbolt's Check runs on
	// its own, where a fault could not be recovered).
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bbolt.Bucket) error { return walkBucket(b) })
	})
	if err != nil {
		return true, fmt.Errorf("%w: %s: %v", ErrDamagedStore, path, err)
	}
	return true, nil
}

func walkBucket(b *bbolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				return walkBucket(nb)
			}
		}
		return nil
	})
}

// inUse names the process holding path's lock, when /proc/locks says.
func inUse(dir, path string) error {
	if pid := lockHolder(path); pid > 0 {
		return fmt.Errorf("%w: %s is held by process %d", ErrDataDirInUse, dir, pid)
	}
	return fmt.Errorf("%w: %s is held by another process", ErrDataDirInUse, dir)
}

// lockHolder returns the pid holding a flock on path, or 0 if unknown.
func lockHolder(path string) int {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	inode := ":" + strconv.FormatUint(st.Ino, 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF"; waiters have "->".
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[1] == "->" || !strings.HasSuffix(fs[5], inode) {
			continue
		}
		if pid, err := strconv.Atoi(fs[4]); err == nil {
			return pid
		}
	}
	return 0
}

// CheckDataDir reports, without changing anything, whether Open could
// start on dir: ErrDataDirInUse when another process has it open,
// ErrDamagedStore when its raft.db or cluster id is damaged, nil otherwise
// (a missing dir included). Commands call it before they bind ports, so a
// second start on a dir in use names the dir, not a port.
func CheckDataDir(dir string) error {
	id, err := ReadClusterID(dir)
	if err != nil {
		return err
	}
	_, err = checkStore(dir, filepath.Join(dir, "raft.db"), id != "")
	return err
}
