package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Notifier tells people how backups went: a Slack message on failure, and
// a request to a ping URL on success (uptime monitors alert when it stops).
type Notifier struct {
	SlackWebhookURL string
	PingURL         string
	Client          *http.Client
	// Redactor keeps secrets out of the alerts.
	Redactor *Redactor
}

func (n Notifier) client() *http.Client {
	if n.Client != nil {
		return n.Client
	}
	return &http.Client{Timeout: 15 * time.Second}
}

// Failure posts the error to Slack (when a webhook is configured).
func (n Notifier) Failure(ctx context.Context, project string, failure error) error {
	return n.slack(ctx, fmt.Sprintf(":rotating_light: Backup of %s FAILED: %v", project, failure))
}

// Warning posts a warning to Slack (when a webhook is configured).
func (n Notifier) Warning(ctx context.Context, project, warning string) error {
	return n.slack(ctx, fmt.Sprintf(":warning: Backup of %s: %s", project, warning))
}

func (n Notifier) slack(ctx context.Context, text string) error {
	if n.SlackWebhookURL == "" {
		return nil
	}
	body, _ := json.Marshal(map[string]string{"text": n.Redactor.String(text)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.SlackWebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return n.send(req, "the Slack alert")
}

// Success requests the ping URL (when configured).
func (n Notifier) Success(ctx context.Context) error {
	if n.PingURL == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.PingURL, nil)
	if err != nil {
		return err
	}
	return n.send(req, "the success ping")
}

func (n Notifier) send(req *http.Request, what string) error {
	resp, err := n.client().Do(req)
	if err != nil {
		// The URL is a secret: the error names only what was sent.
		return fmt.Errorf("send %s: %s", what, n.Redactor.String(err.Error()))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("send %s: HTTP %s", what, resp.Status)
	}
	return nil
}

// Run says who started a backup.
type Run int

const (
	// ByHand is a backup a person asked for: it also resumes automatic
	// backups paused by a restore.
	ByHand Run = iota
	// Automatic is a scheduled backup, or the one at start.
	Automatic
)

// Once runs one backup and reports it: a failure is alerted and returned; a
// snapshot taken with a warning is alerted as a warning. An automatic run
// first removes locks its own killed restic may have left, and does not
// run while a restore has paused automatic backups (it says so instead).
func Once(ctx context.Context, o Options, n Notifier, who Run) error {
	if n.Redactor == nil {
		n.Redactor = o.Redactor
	}
	if who == Automatic {
		if why := Paused(o.DumpsDir); why != "" {
			msg := "automatic backups are paused since a restore (" + strings.TrimSpace(why) + "): check the restored stack, then take a backup by hand to resume them"
			o.say("backup: %s", msg)
			if err := n.Warning(context.WithoutCancel(ctx), o.Project, msg); err != nil {
				o.say("backup: could not alert: %v", err)
			}
			return nil
		}
		if _, err := Unlock(ctx, o, UnlockOptions{}); err != nil {
			o.say("backup: %v", o.Redactor.Error(err))
		}
	}
	res, err := Backup(ctx, o)
	if err != nil {
		err = o.Redactor.Error(err)
		if aerr := n.Failure(context.WithoutCancel(ctx), o.Project, err); aerr != nil {
			o.say("backup: could not alert: %v", aerr)
		}
		return err
	}
	if who == ByHand {
		_ = os.Remove(filepath.Join(o.DumpsDir, PausedFile))
	}
	if res.Warning != "" {
		if aerr := n.Warning(context.WithoutCancel(ctx), o.Project, res.Warning); aerr != nil {
			o.say("backup: could not alert: %v", aerr)
		}
	}
	if perr := n.Success(ctx); perr != nil {
		o.say("backup: could not ping: %v", perr)
	}
	return nil
}

// DefaultSchedule is a daily backup at 03:00 (the container's time zone).
const DefaultSchedule = "0 3 * * *"

// Schedule runs Once on a cron schedule (and once at start when
// onStart), until ctx ends. Failures are alerted; the schedule goes on.
func Schedule(ctx context.Context, o Options, n Notifier, spec string, onStart bool) error {
	if spec == "" {
		spec = DefaultSchedule
	}
	c := cron.New()
	if _, err := c.AddFunc(spec, func() { _ = Once(ctx, o, n, Automatic) }); err != nil {
		return fmt.Errorf("BACKUP_SCHEDULE=%q is not a cron expression (minute hour day month weekday): %w", spec, err)
	}
	if onStart {
		_ = Once(ctx, o, n, Automatic)
	}
	c.Start()
	o.say("backup: scheduled %q; next run at %s", spec, c.Entries()[0].Next.Format(time.RFC3339))
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}
