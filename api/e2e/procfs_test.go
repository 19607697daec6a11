package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

// scrapeAll reads a Prometheus text page's unlabelled and first-labelled
// values by metric name.
func scrapeAll(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name, rest, ok = line[:i], line[strings.LastIndexByte(line, '}')+2:], true
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); ok && err == nil {
			if _, seen := out[name]; !seen {
				out[name] = v
			}
		}
	}
	return out
}

// rssMB is a process's resident memory, from /proc.
func rssMB(t *testing.T, pid int) float64 {
	t.Helper()
	mb, err := rssOf(pid)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// rssOf is a process's resident memory in MB, from /proc.
func rssOf(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// fdCount is how many file descriptors a process holds open.
func fdCount(t *testing.T, pid int) float64 {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return float64(len(entries))
}

// cpuSeconds is the CPU time (user and system) a process has used so far, from /proc.
func cpuSeconds(pid int) (float64, error) {
	const hz = 100 // USER_HZ on Linux
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command may hold spaces: the fields after it start past the last ')'.
	f := strings.Fields(string(raw)[strings.LastIndexByte(string(raw), ')')+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / hz, nil
}
