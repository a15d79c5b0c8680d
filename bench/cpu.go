package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// ProcessCPU is the CPU time (user and system) that process pid and its
// descendants have used so far, from /proc. Taken before and after a load,
// it tells what each request cost the server whether or not the load
// generator kept the server's core busy.
func ProcessCPU(pid int) (time.Duration, error) {
	total, err := taskCPU(pid)
	if err != nil {
		return 0, err
	}
	for _, c := range children(pid) {
		if d, err := ProcessCPU(c); err == nil { // a child may have just exited
			total += d
		}
	}
	return total, nil
}

// taskCPU reads utime and stime of one process.
func taskCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: cpu of %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields counted here start after its closing parenthesis.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: cpu of %d: malformed stat %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: cpu of %d: malformed stat %q", pid, b)
	}
	var ticks int64
	for _, s := range f[11:13] { // utime and stime, fields 14 and 15
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: cpu of %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// children lists the child processes of pid (of all its threads).
func children(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(s); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// CoreTimes is one core's line of /proc/stat: the ticks it spent in each
// state since boot.
type CoreTimes struct {
	Busy, Idle uint64 // idle counts iowait too
}

// ReadCore reads core cpu's times from /proc/stat.
func ReadCore(cpu int) (CoreTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CoreTimes{}, fmt.Errorf("bench: %w", err)
	}
	return parseCore(string(b), cpu)
}

func parseCore(stat string, cpu int) (CoreTimes, error) {
	prefix := "cpu" + strconv.Itoa(cpu) + " "
	for line := range strings.Lines(stat) {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)[1:]
		if len(f) < 8 {
			break
		}
		var t CoreTimes
		for i, s := range f[:8] { // user nice system idle iowait irq softirq steal
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return CoreTimes{}, fmt.Errorf("bench: /proc/stat %s: %w", prefix, err)
			}
			if i == 3 || i == 4 {
				t.Idle += n
			} else {
				t.Busy += n
			}
		}
		return t, nil
	}
	return CoreTimes{}, fmt.Errorf("bench: /proc/stat has no line for cpu%d", cpu)
}

// BusySince is the share of the ticks since earlier that the core was busy.
func (t CoreTimes) BusySince(earlier CoreTimes) float64 {
	busy, idle := t.Busy-earlier.Busy, t.Idle-earlier.Idle
	if busy+idle == 0 {
		return 0
	}
	return float64(busy) / float64(busy+idle)
}

// readCores reads the times of cores; a core it cannot read is left zero.
func readCores(cores []int) []CoreTimes {
	out := make([]CoreTimes, len(cores))
	for i, c := range cores {
		out[i], _ = ReadCore(c)
	}
	return out
}

// busySince is the mean share of the time cores were busy since earlier
// (readCores of the same cores); 0 if a core could not be read.
func busySince(cores []int, earlier []CoreTimes) float64 {
	if len(cores) == 0 {
		return 0
	}
	var sum float64
	for i, c := range cores {
		now, err := ReadCore(c)
		if err != nil || earlier[i] == (CoreTimes{}) {
			return 0
		}
		sum += now.BusySince(earlier[i])
	}
	return sum / float64(len(cores))
}
