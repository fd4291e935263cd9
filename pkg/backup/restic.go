package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Restic builds restic commands for one repository. Credentials travel in
// the command's environment (RESTIC_REPOSITORY, RESTIC_PASSWORD and the
// backend's variables), never in argv.
type Restic struct {
	// Binary is the restic executable (default "restic").
	Binary string
	// Env holds RESTIC_* and backend variables (AWS_*, B2_*, ...).
	Env []string
	// Host is the fixed host name snapshots are grouped under.
	Host string
}

// DefaultHost groups the stack's snapshots whatever the container's name.
const DefaultHost = "selfhosted"

// ResticEnvPrefixes are the variables of .env passed to restic.
var ResticEnvPrefixes = []string{"RESTIC_", "AWS_", "B2_", "AZURE_", "GOOGLE_", "OS_", "ST_", "RCLONE_"}

// DefaultRepository is used when RESTIC_REPOSITORY is not configured: a
// local folder on the server, which is not off-site.
const DefaultRepository = "/var/backups/selfhosted/restic"

// NewRestic picks restic's variables out of env. With no repository
// configured, it uses DefaultRepository and returns a warning to show.
func NewRestic(env map[string]string) (Restic, string) {
	r := Restic{Host: DefaultHost}
	var warning string
	for k, v := range env {
		for _, p := range ResticEnvPrefixes {
			if strings.HasPrefix(k, p) {
				r.Env = append(r.Env, k+"="+v)
			}
		}
	}
	if env["RESTIC_REPOSITORY"] == "" {
		r.Env = append(r.Env, "RESTIC_REPOSITORY="+DefaultRepository)
		warning = "RESTIC_REPOSITORY is not set: snapshots go to " + DefaultRepository + " on the server, which is NOT off-site (a lost disk loses them too); set RESTIC_REPOSITORY in .env to an off-site repository"
	}
	return r, warning
}

func (r Restic) command(args ...string) run.Command {
	bin := r.Binary
	if bin == "" {
		bin = "restic"
	}
	return run.Command{Args: append([]string{bin}, args...), Env: r.Env}
}

// Init creates the repository.
func (r Restic) Init() run.Command { return r.command("init", "--json") }

// Backup snapshots paths, minus excludes, with tags.
func (r Restic) Backup(paths, excludes, tags []string) run.Command {
	args := []string{"backup", "--json", "--host", r.Host}
	for _, e := range excludes {
		args = append(args, "--exclude", e)
	}
	for _, t := range tags {
		args = append(args, "--tag", t)
	}
	return r.command(append(args, paths...)...)
}

// Snapshots lists the snapshots of this host.
func (r Restic) Snapshots() run.Command {
	return r.command("snapshots", "--json", "--host", r.Host)
}

// Restore restores snapshot (an id or "latest") into target, only below include.
func (r Restic) Restore(snapshot, target string, include ...string) run.Command {
	args := []string{"restore", snapshot, "--host", r.Host, "--target", target}
	for _, i := range include {
		args = append(args, "--include", i)
	}
	return r.command(args...)
}

// Retention is how many snapshots forget keeps.
type Retention struct {
	Last, Daily, Weekly, Monthly int
}

// DefaultRetention keeps a week of dailies, a month of weeklies and a year of monthlies.
var DefaultRetention = Retention{Last: 3, Daily: 7, Weekly: 4, Monthly: 12}

// Forget forgets snapshots beyond retention and prunes their data.
func (r Restic) Forget(keep Retention) run.Command {
	return r.command(append([]string{"forget", "--host", r.Host, "--prune"}, keep.flags()...)...)
}

func (keep Retention) flags() []string {
	var args []string
	for _, k := range []struct {
		flag string
		n    int
	}{{"--keep-last", keep.Last}, {"--keep-daily", keep.Daily}, {"--keep-weekly", keep.Weekly}, {"--keep-monthly", keep.Monthly}} {
		if k.n > 0 {
			args = append(args, k.flag, strconv.Itoa(k.n))
		}
	}
	return args
}

// ForgetPlan says, as JSON, which snapshots the retention would forget.
func (r Restic) ForgetPlan(keep Retention) run.Command {
	return r.command(append([]string{"forget", "--host", r.Host, "--dry-run", "--json"}, keep.flags()...)...)
}

// ParseForgetPlan reads ForgetPlan's output: the ids to forget.
func ParseForgetPlan(out []byte) ([]string, error) {
	var groups []struct {
		Remove []Snapshot `json:"remove"`
	}
	// restic prints the JSON on its last line.
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if err := json.Unmarshal(lines[len(lines)-1], &groups); err != nil {
		return nil, fmt.Errorf("read restic's forget plan: %w", err)
	}
	var ids []string
	for _, g := range groups {
		for _, s := range g.Remove {
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}

// ForgetIDs forgets the snapshots named.
func (r Restic) ForgetIDs(ids []string) run.Command {
	return r.command(append([]string{"forget"}, ids...)...)
}

// Prune removes the data no snapshot uses.
func (r Restic) Prune() run.Command { return r.command("prune") }

// Ls lists a snapshot's files as JSON lines.
func (r Restic) Ls(snapshot string) run.Command {
	return r.command("ls", "--json", "--host", r.Host, snapshot)
}

// ParseLs counts the regular files of `restic ls --json` and their bytes,
// below prefix.
func ParseLs(out []byte, prefix string) (files, size int64, err error) {
	for _, line := range bytes.Split(out, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var node struct {
			Type string `json:"type"`
			Path string `json:"path"`
			Size int64  `json:"size"`
		}
		if err := json.Unmarshal(line, &node); err != nil {
			return 0, 0, fmt.Errorf("read restic's listing: %w", err)
		}
		if node.Type == "file" && strings.HasPrefix(node.Path, prefix) {
			files++
			size += node.Size
		}
	}
	return files, size, nil
}

// Check verifies the repository, reading subset of the data (e.g. "5%").
func (r Restic) Check(subset string) run.Command {
	args := []string{"check"}
	if subset != "" {
		args = append(args, "--read-data-subset", subset)
	}
	return r.command(args...)
}

// ListLocks lists the ids of the repository's locks.
func (r Restic) ListLocks() run.Command { return r.command("list", "locks", "--no-lock") }

// CatLock prints a lock as JSON.
func (r Restic) CatLock(id string) run.Command { return r.command("cat", "lock", id, "--no-lock") }

// RemoveLocks removes stale locks only (restic unlock without --remove-all).
func (r Restic) RemoveLocks() run.Command { return r.command("unlock") }

// Snapshot is one entry of `restic snapshots --json`.
type Snapshot struct {
	ID       string    `json:"id"`
	ShortID  string    `json:"short_id"`
	Time     time.Time `json:"time"`
	Paths    []string  `json:"paths"`
	Hostname string    `json:"hostname"`
	Tags     []string  `json:"tags"`
	// Summary is written by restic 0.17 and later; older versions leave it nil.
	Summary *struct {
		TotalBytesProcessed int64 `json:"total_bytes_processed"`
	} `json:"summary,omitempty"`
}

// Size is the snapshot's size as restic recorded it, or "-" when the
// restic that took it did not record one (before 0.17).
func (s Snapshot) Size() string {
	if s.Summary == nil {
		return "-"
	}
	return humanBytes(s.Summary.TotalBytesProcessed)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ParseSnapshots reads `restic snapshots --json`.
func ParseSnapshots(out []byte) ([]Snapshot, error) {
	var s []Snapshot
	if err := json.Unmarshal(bytes.TrimSpace(out), &s); err != nil {
		return nil, fmt.Errorf("read restic's snapshot list: %w", err)
	}
	return s, nil
}

// Summary is the last message of `restic backup --json`.
type Summary struct {
	SnapshotID          string  `json:"snapshot_id"`
	FilesNew            int     `json:"files_new"`
	FilesChanged        int     `json:"files_changed"`
	FilesUnmodified     int     `json:"files_unmodified"`
	DataAdded           int64   `json:"data_added"`
	TotalFilesProcessed int     `json:"total_files_processed"`
	TotalBytesProcessed int64   `json:"total_bytes_processed"`
	TotalDuration       float64 `json:"total_duration"`
}

// ParseBackup reads the summary from `restic backup --json` output (one
// JSON message per line).
func ParseBackup(out []byte) (Summary, error) {
	for _, line := range bytes.Split(out, []byte("\n")) {
		var msg struct {
			Type string `json:"message_type"`
			Summary
		}
		if json.Unmarshal(line, &msg) == nil && msg.Type == "summary" {
			return msg.Summary, nil
		}
	}
	return Summary{}, errors.New("restic backup printed no summary")
}

// Lock is `restic cat lock` output.
type Lock struct {
	Time      time.Time `json:"time"`
	Exclusive bool      `json:"exclusive"`
	Hostname  string    `json:"hostname"`
	Username  string    `json:"username"`
	PID       int       `json:"pid"`
}

// ParseLock reads `restic cat lock <id>`.
func ParseLock(out []byte) (Lock, error) {
	var l Lock
	err := json.Unmarshal(bytes.TrimSpace(out), &l)
	return l, err
}

// Errors restic's failures are mapped to.
var (
	ErrWrongPassword = errors.New("the restic password is wrong: RESTIC_PASSWORD does not open the repository")
	ErrNoRepository  = errors.New("there is no restic repository at RESTIC_REPOSITORY")
	ErrUnreachable   = errors.New("the restic repository can't be reached (RESTIC_REPOSITORY: the host, the network or the backend's credentials)")
	ErrLocked        = errors.New("the restic repository is locked by another process")
)

// LockedError reports a repository locked by another restic process.
type LockedError struct{ Detail string }

func (e *LockedError) Error() string {
	return ErrLocked.Error() + " (" + strings.TrimSpace(e.Detail) + ")"
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Classify maps a failed restic command to one of the errors above when
// its output says which; otherwise it returns err.
func Classify(err error) error {
	var ee *run.ExitError
	if err == nil || !errors.As(err, &ee) {
		return err
	}
	msg := ee.Stderr
	switch {
	// restic also asks "Is there a repository…?" when it can't connect:
	// the network error comes first.
	case strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"), strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "network is unreachable"):
		return fmt.Errorf("%w: %s", ErrUnreachable, lastLines(msg, 1))
	case strings.Contains(msg, "wrong password"):
		return fmt.Errorf("%w (%s)", ErrWrongPassword, ee.Where)
	case strings.Contains(msg, "Is there a repository at the following location?"), strings.Contains(msg, "repository does not exist"), strings.Contains(msg, "unable to open config file"):
		return fmt.Errorf("%w (%s)", ErrNoRepository, ee.Where)
	case strings.Contains(msg, "repository is already locked"):
		return &LockedError{Detail: lastLines(msg, 3)}
	}
	return err
}

// resticOutput runs a restic command and classifies its failure.
func resticOutput(ctx context.Context, r run.Runner, c run.Command) ([]byte, error) {
	out, err := run.Output(ctx, r, c)
	return out, Classify(err)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
