package backup

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Config is what the stack's .env says about backups.
type Config struct {
	Restic    Restic
	Warning   string // shown when the repository is not off-site
	Retention Retention
}

// ConfigFromEnv reads RESTIC_* and backend variables, and BACKUP_KEEP_LAST,
// _DAILY, _WEEKLY, _MONTHLY (DefaultRetention otherwise).
func ConfigFromEnv(env map[string]string) (Config, error) {
	r, warning := NewRestic(env)
	c := Config{Restic: r, Warning: warning, Retention: DefaultRetention}
	for name, field := range map[string]*int{
		"BACKUP_KEEP_LAST": &c.Retention.Last, "BACKUP_KEEP_DAILY": &c.Retention.Daily,
		"BACKUP_KEEP_WEEKLY": &c.Retention.Weekly, "BACKUP_KEEP_MONTHLY": &c.Retention.Monthly,
	} {
		if v := strings.TrimSpace(env[name]); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return c, fmt.Errorf("%s=%q in .env is not a count of snapshots", name, v)
			}
			*field = n
		}
	}
	return c, nil
}

// WriteTable prints snapshots as a table: id, time, size, tags.
func WriteTable(w io.Writer, snaps []Snapshot) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tSIZE\tTAGS")
	for _, s := range snaps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ShortID, s.Time.Local().Format("2006-01-02 15:04:05"), s.Size(), strings.Join(s.Tags, ","))
	}
	return tw.Flush()
}

// ListSnapshots prints the repository's snapshots as a table.
func ListSnapshots(ctx context.Context, o Options, w io.Writer) error {
	out, err := resticOutput(ctx, o.Runner, o.Restic.Snapshots())
	if err != nil {
		return err
	}
	snaps, err := ParseSnapshots(out)
	if err != nil {
		return err
	}
	return WriteTable(w, snaps)
}
