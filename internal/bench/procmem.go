package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/procfs"
)

// memory is the memory of a process or a group of processes, in bytes.
type memory struct {
	rss, hwm uint64 // VmRSS and VmHWM (peak RSS since start or the last reset)
	pss      uint64 // proportional set size: shared pages divided among their users
	procs    int
}

// readMemory sums VmRSS and VmHWM over pids. Processes that have exited
// in the meantime are skipped.
func readMemory(pids []int) (memory, error) {
	var m memory
	for _, pid := range pids {
		p, err := procfs.NewProc(pid)
		if err != nil {
			continue
		}
		st, err := p.NewStatus()
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return memory{}, fmt.Errorf("failed to read the status of process %d: %w", pid, err)
		}
		m.rss += st.VmRSS
		m.hwm += st.VmHWM
		m.procs++
		if r, err := p.ProcSMapsRollup(); err == nil {
			m.pss += r.Pss
		}
	}
	return m, nil
}

// resetPeak resets VmHWM to the current RSS for each of pids (writing 5 to
// /proc/PID/clear_refs, Linux 4.0 and later).
func resetPeak(pids []int) error {
	for _, pid := range pids {
		err := os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("failed to reset the peak RSS of process %d: %w", pid, err)
		}
	}
	return nil
}

// processTree returns root and all its descendants.
func processTree(root int) ([]int, error) {
	all, err := procfs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("failed to list processes: %w", err)
	}
	parent := map[int]int{}
	for _, p := range all {
		st, err := p.Stat()
		if err != nil {
			continue // exited
		}
		parent[p.PID] = st.PPID
	}
	tree := []int{root}
	for changed := true; changed; {
		changed = false
		for pid, pp := range parent {
			if slices.Contains(tree, pp) && !slices.Contains(tree, pid) {
				tree = append(tree, pid)
				changed = true
			}
		}
	}
	return tree, nil
}

// findProcess returns the pid of the process whose command line has
// exactly the given arguments after the program name, or an error.
func findProcess(args ...string) (int, error) {
	return findProcessFunc(fmt.Sprintf("%q", args), func(cl []string) bool {
		return len(cl) == len(args) && slices.Equal(cl[1:], args[1:])
	})
}

// findProcessWithArg returns the pid of the process that has arg among its
// arguments.
func findProcessWithArg(arg string) (int, error) {
	return findProcessFunc("with argument "+arg, func(cl []string) bool { return slices.Contains(cl, arg) })
}

func findProcessFunc(what string, match func([]string) bool) (int, error) {
	all, err := procfs.AllProcs()
	if err != nil {
		return 0, fmt.Errorf("failed to list processes: %w", err)
	}
	for _, p := range all {
		if cl, err := p.CmdLine(); err == nil && match(cl) {
			return p.PID, nil
		}
	}
	return 0, fmt.Errorf("no process %s", what)
}

// userHZ is the unit of the CPU times in /proc/PID/stat on Linux.
const userHZ = 100

// cpuTime returns the user and system CPU time used so far by pids and,
// with reaped, by the children of the first of them that have exited and
// been waited for (so that a Postfix master accounts for its short-lived
// workers). Processes that have exited are skipped.
func cpuTime(reaped bool, pids ...int) time.Duration {
	var ticks uint64
	for i, pid := range pids {
		p, err := procfs.NewProc(pid)
		if err != nil {
			continue
		}
		st, err := p.Stat()
		if err != nil {
			continue
		}
		ticks += uint64(st.UTime) + uint64(st.STime)
		if i == 0 && reaped {
			ticks += uint64(st.CUTime) + uint64(st.CSTime)
		}
	}
	return time.Duration(ticks) * time.Second / userHZ
}
