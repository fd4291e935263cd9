// Package procbench times whole processes as a user sees them: from start
// to exit, the cases run in turn (a, b, c, a, b, c, ...) so a machine
// getting busier or quieter weighs on all of them alike, and the median
// reported, with the peak memory (the largest resident set of the process
// and its children).
package procbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"
)

// Case is one command to time.
type Case struct {
	Name string
	Args []string
	Dir  string
	Env  []string // added to this process's environment
}

// Result is a case's median wall time and peak memory over its runs.
type Result struct {
	Name   string
	Median time.Duration
	// MaxRSS is the median over the runs of the peak resident set of the
	// process tree, in bytes.
	MaxRSS int64
	Runs   int
}

// Alternating runs every case once to warm caches, then runs times in
// turn, and returns the results in the cases' order. A failed run fails
// the whole measurement, with its output.
func Alternating(ctx context.Context, runs int, cases []Case) ([]Result, error) {
	times := make([][]time.Duration, len(cases))
	rss := make([][]int64, len(cases))
	for round := 0; round <= runs; round++ {
		for i, c := range cases {
			d, maxRSS, err := once(ctx, c)
			if err != nil {
				return nil, err
			}
			if round > 0 {
				times[i] = append(times[i], d)
				rss[i] = append(rss[i], maxRSS)
			}
		}
	}
	out := make([]Result, len(cases))
	for i, c := range cases {
		out[i] = Result{Name: c.Name, Median: median(times[i]), MaxRSS: median(rss[i]), Runs: runs}
	}
	return out, nil
}

func once(ctx context.Context, c Case) (time.Duration, int64, error) {
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w\n%s", c.Name, err, output.Bytes())
	}
	var maxRSS int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return d, maxRSS, nil
}

func median[T int64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := append([]T(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// MS is d in milliseconds, for tables.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// MiB is n bytes in mebibytes, for tables.
func MiB(n int64) float64 { return float64(n) / (1 << 20) }
