// Package memstat reads the process's memory use for benchmarks.
package memstat

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// PeakRSSMB is the process's peak resident memory in MB (VmHWM), or 0 where /proc is missing.
func PeakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if rest, ok := strings.CutPrefix(scanner.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}
