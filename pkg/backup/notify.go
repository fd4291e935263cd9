package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/robfig/cron/v3"
)

// Notifier tells people how backups went: a Slack message on failure, and
// a request to a ping URL on success (uptime monitors alert when it stops).
type Notifier struct {
	SlackWebhookURL string
	PingURL         string
	Client          *http.Client
}

func (n Notifier) client() *http.Client {
	if n.Client != nil {
		return n.Client
	}
	return &http.Client{Timeout: 15 * time.Second}
}

// Failure posts the error to Slack (when a webhook is configured).
func (n Notifier) Failure(ctx context.Context, project string, failure error) error {
	if n.SlackWebhookURL == "" {
		return nil
	}
	body, _ := json.Marshal(map[string]string{"text": fmt.Sprintf(":rotating_light: Backup of %s FAILED: %v", project, failure)})
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
		return fmt.Errorf("send %s: %w", what, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("send %s: HTTP %s", what, resp.Status)
	}
	return nil
}

// Once runs one backup and reports it: a failure is alerted and returned.
func Once(ctx context.Context, o Options, n Notifier) error {
	_, err := Backup(ctx, o)
	if err != nil {
		if aerr := n.Failure(context.WithoutCancel(ctx), o.Project, err); aerr != nil {
			o.say("backup: could not alert: %v", aerr)
		}
		return err
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
	if _, err := c.AddFunc(spec, func() { _ = Once(ctx, o, n) }); err != nil {
		return fmt.Errorf("BACKUP_SCHEDULE=%q is not a cron expression (minute hour day month weekday): %w", spec, err)
	}
	if onStart {
		_ = Once(ctx, o, n)
	}
	c.Start()
	o.say("backup: scheduled %q; next run at %s", spec, c.Entries()[0].Next.Format(time.RFC3339))
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}
