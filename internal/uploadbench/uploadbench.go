// Package uploadbench compares push-files with `rsync -a --delete` over the
// same loopback sshd, on a generated tree of 2,000 files and 50 MB: first
// upload, no-op re-upload, one changed file, 100 deleted files. It prints
// wall time and bytes sent for both (`go tool mage bench-upload`).
package uploadbench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
)

const (
	files = 2000
	total = 50 << 20
)

// Step is one measured scenario.
type Step struct {
	Name  string
	Apply func(tree string) error
}

// Steps are run in order against both tools.
var Steps = []Step{
	{"first upload", func(string) error { return nil }},
	{"no-op re-upload", func(string) error { return nil }},
	{"1 changed file", func(tree string) error {
		return os.WriteFile(filepath.Join(tree, "d0", "f0.bin"), []byte("changed"), 0o644)
	}},
	{"100 deleted files", func(tree string) error {
		for i := 1000; i < 1100; i++ {
			if err := os.Remove(filepath.Join(tree, fmt.Sprintf("d%d", i%20), fmt.Sprintf("f%d.bin", i))); err != nil {
				return err
			}
		}
		return nil
	}},
}

// Generate writes the benchmark tree into dir.
func Generate(dir string) error {
	buf := make([]byte, total/files)
	for i := 0; i < files; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%d", i%20))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		_, _ = rand.Read(buf)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d.bin", i)), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

type counter struct {
	net.Conn
	sent *atomic.Int64
}

func (c counter) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.sent.Add(int64(n))
	return n, err
}

// Run prints the comparison to out.
func Run(ctx context.Context, out io.Writer) error {
	work, err := os.MkdirTemp("", "selfhosted-bench-upload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for _, d := range []string{"sshd", "ours", "rsync", "server"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o700); err != nil {
			return err
		}
	}
	sshd, err := testenv.NewSSHD(filepath.Join(work, "sshd"), filepath.Join(work, "sshd.log"))
	if err != nil {
		return err
	}
	defer sshd.Stop()
	ours, theirs := filepath.Join(work, "ours"), filepath.Join(work, "rsync")
	if err := Generate(ours); err != nil {
		return err
	}
	if err := exec.Command("cp", "-a", ours+"/.", theirs).Run(); err != nil {
		return err
	}
	host, err := remote.Resolve(sshd.Alias, sshd.Config)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d files, %d MB, loopback sshd\n%-20s %12s %14s %12s %14s %8s\n", files, total>>20, "step", "push-files", "bytes sent", "rsync", "bytes sent", "ratio")
	for _, step := range Steps {
		if err := step.Apply(ours); err != nil {
			return err
		}
		if err := step.Apply(theirs); err != nil {
			return err
		}
		var sent atomic.Int64
		start := time.Now()
		c, err := remote.DialWith(ctx, host, sshd.Config, func(conn net.Conn) net.Conn { return counter{conn, &sent} })
		if err != nil {
			return err
		}
		_, err = c.Push(ctx, filepath.Join(work, "server", "ours"), ours, remote.PushOptions{})
		c.Close()
		if err != nil {
			return err
		}
		oursTime := time.Since(start)

		start = time.Now()
		cmd := exec.CommandContext(ctx, "rsync", "-a", "--delete", "--stats", "-e", "ssh -F "+sshd.Config, theirs+"/", sshd.Alias+":"+filepath.Join(work, "server", "rsync")+"/")
		stats, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("rsync: %v: %s", err, stats)
		}
		rsyncTime := time.Since(start)
		fmt.Fprintf(out, "%-20s %10.0fms %14d %10.0fms %14d %7.2fx\n", step.Name,
			ms(oursTime), sent.Load(), ms(rsyncTime), rsyncSent(string(stats)), float64(oursTime)/float64(rsyncTime))
	}
	fmt.Fprintln(out, "targets: no-op and small changes at most 0.8x rsync's time, first upload at most 1.2x")
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

var sentRE = regexp.MustCompile(`Total bytes sent: ([\d,]+)`)

func rsyncSent(stats string) int64 {
	m := sentRE.FindStringSubmatch(stats)
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
	return n
}
