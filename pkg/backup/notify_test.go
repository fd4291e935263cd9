package backup

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// fakeEngine is a project with one service whose dump fails.
type fakeEngine struct{ stopped, started []string }

func (f *fakeEngine) Containers(context.Context, string) ([]Container, error) {
	return []Container{
		{ID: "c1", Service: "db", Running: true, Labels: map[string]string{DumpLabel: "dump-it", ExcludeLabel: "data"}},
		{ID: "c2", Service: "app", Running: true, Labels: map[string]string{StopLabel: "true"}},
	}, nil
}

func (f *fakeEngine) Exec(_ context.Context, _ string, _ []string, _ io.Reader, stdout, stderr io.Writer) (int, error) {
	io.WriteString(stdout, "partial dump")
	io.WriteString(stderr, "connection refused")
	return 3, nil
}
func (f *fakeEngine) Stop(_ context.Context, id string) error {
	f.stopped = append(f.stopped, id)
	return nil
}
func (f *fakeEngine) Start(_ context.Context, id string) error {
	f.started = append(f.started, id)
	return nil
}
func (f *fakeEngine) WaitHealthy(context.Context, string, time.Duration) error { return nil }
func (f *fakeEngine) RunningContainer(context.Context, string) (Container, bool, error) {
	return Container{}, false, nil
}
func (f *fakeEngine) Volumes(context.Context, string) ([]Volume, error) { return nil, nil }
func (f *fakeEngine) ImageFiles(context.Context, string, string) (map[string]FileSum, error) {
	return nil, nil
}

// recorder is a run.Runner that records commands and runs none.
type recorder struct{ cmds []run.Command }

func (r *recorder) Run(_ context.Context, c run.Command, _ run.Streams) error {
	r.cmds = append(r.cmds, c)
	return nil
}
func (r *recorder) Where() string { return "nowhere" }

func TestOnceAlertsAFailingDumpAndTakesNoSnapshot(t *testing.T) {
	var alerts []string
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct{ Text string }
		require.NoError(t, json.NewDecoder(r.Body).Decode(&msg))
		alerts = append(alerts, msg.Text)
	}))
	defer slack.Close()
	pinged := false
	ping := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { pinged = true }))
	defer ping.Close()

	dumps := t.TempDir()
	restic := &recorder{}
	engine := &fakeEngine{}
	err := Once(context.Background(), Options{Project: "stack", Engine: engine, Runner: restic, DumpsDir: dumps},
		Notifier{SlackWebhookURL: slack.URL, PingURL: ping.URL}, ByHand)

	var de *DumpError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "db", de.Service)
	assert.Contains(t, err.Error(), "connection refused")
	require.Len(t, alerts, 1)
	assert.Contains(t, alerts[0], "Backup of stack FAILED")
	assert.Contains(t, alerts[0], "db")
	assert.Empty(t, restic.cmds, "restic never ran: no snapshot")
	assert.False(t, pinged)
	assert.Empty(t, engine.stopped, "nothing was stopped before the dumps succeeded")
	assert.NoFileExists(t, DumpPath(dumps, "db"), "a failed dump leaves no partial file")
}

func TestAutomaticBackupsWaitForAPersonAfterARestore(t *testing.T) {
	var alerts []string
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct{ Text string }
		require.NoError(t, json.NewDecoder(r.Body).Decode(&msg))
		alerts = append(alerts, msg.Text)
	}))
	defer slack.Close()
	dumps := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dumps, PausedFile), []byte("restored snapshot abc\n"), 0o600))
	restic := &recorder{}
	o := Options{Project: "stack", Engine: &fakeEngine{}, Runner: restic, DumpsDir: dumps}
	require.NoError(t, Once(context.Background(), o, Notifier{SlackWebhookURL: slack.URL}, Automatic))
	assert.Empty(t, restic.cmds, "no automatic backup right after a restore")
	require.Len(t, alerts, 1)
	assert.Contains(t, alerts[0], "paused since a restore (restored snapshot abc)")
	assert.FileExists(t, filepath.Join(dumps, PausedFile))
}

func TestAlertsNeverCarrySecrets(t *testing.T) {
	var alerts []string
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		alerts = append(alerts, string(body))
	}))
	defer slack.Close()
	redact := NewRedactor(map[string]string{"RESTIC_PASSWORD": "hunter2-secret", "SLACK_WEBHOOK_URL": slack.URL})
	n := Notifier{SlackWebhookURL: slack.URL, Redactor: redact}
	require.NoError(t, n.Failure(context.Background(), "p", errors.New("restic: RESTIC_PASSWORD=hunter2-secret killed")))
	require.Len(t, alerts, 1)
	assert.NotContains(t, alerts[0], "hunter2")
	assert.Contains(t, alerts[0], Redacted)
}

func TestNotifierReportsHTTPFailures(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer down.Close()
	err := Notifier{SlackWebhookURL: down.URL}.Failure(context.Background(), "p", errors.New("x"))
	assert.ErrorContains(t, err, "500")
	assert.NoError(t, Notifier{}.Failure(context.Background(), "p", errors.New("x")), "no webhook, no alert")
	assert.True(t, strings.HasPrefix(DefaultSchedule, "0 3"))
}

func TestScheduleRejectsABadExpression(t *testing.T) {
	err := Schedule(context.Background(), Options{}, Notifier{}, "every day", false)
	assert.ErrorContains(t, err, "BACKUP_SCHEDULE")
}
