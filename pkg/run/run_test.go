package run

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":             "''",
		"up":           "up",
		"a b":          "'a b'",
		"it's":         `'it'"'"'s'`,
		"KEY=v/1.2":    "KEY=v/1.2",
		"$HOME":        "'$HOME'",
		"label=a;b":    "'label=a;b'",
		"--filter=x=y": "--filter=x=y",
	} {
		assert.Equal(t, want, Quote(in), "Quote(%q)", in)
	}
}

func TestCommandStringNeverShowsEnvironmentValues(t *testing.T) {
	c := Command{Args: []string{"docker", "compose", "exec", "db", "sh", "-c", "echo $X"}, Env: []string{"RESTIC_PASSWORD=hunter2", "A=1"}}
	assert.Equal(t, `RESTIC_PASSWORD=… A=… docker compose exec db sh -c 'echo $X'`, c.String())
	assert.Equal(t, `RESTIC_PASSWORD=hunter2 A=1 docker compose exec db sh -c 'echo $X'`, c.Line(), "what a remote shell runs")
	err := &ExitError{Command: c, Where: "this machine", Code: 1, Stderr: "Fatal: boom"}
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestLocalRunStreamsAndExitCode(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	err := Local{}.Run(ctx, Command{Args: []string{"sh", "-c", "cat; echo done; exit 3"}},
		Streams{Stdin: strings.NewReader("in\n"), Stdout: &out})
	require.Error(t, err)
	assert.Equal(t, 3, ExitCode(err))
	assert.Equal(t, "in\ndone\n", out.String())
}

func TestLocalRunDirAndEnv(t *testing.T) {
	dir := t.TempDir()
	out, err := Output(context.Background(), Local{Dir: dir}, Command{Args: []string{"sh", "-c", "pwd; echo $X"}, Env: []string{"X=42"}})
	require.NoError(t, err)
	assert.Equal(t, dir+"\n42\n", string(out))
}

func TestOutputKeepsStderrTail(t *testing.T) {
	_, err := Output(context.Background(), Local{}, Command{Args: []string{"sh", "-c", "echo boom >&2; exit 2"}})
	var ee *ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.Code)
	assert.Contains(t, err.Error(), "boom")
	assert.Contains(t, err.Error(), "this machine")
}

func TestLocalRunCancellationStopsCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := Local{}.Run(ctx, Command{Args: []string{"sleep", "30"}}, Streams{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestLocalRunMissingProgram(t *testing.T) {
	err := Local{}.Run(context.Background(), Command{Args: []string{"no-such-program-xyz"}}, Streams{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not installed")
	assert.Equal(t, 1, ExitCode(err))
}

func TestTailKeepsTheEnd(t *testing.T) {
	tail := &Tail{Max: 8}
	for i := 0; i < 100; i++ {
		fmt.Fprintf(tail, "%d,", i)
	}
	assert.Equal(t, "7,98,99,", tail.String())
	tail.Reset()
	assert.Equal(t, "", tail.String())
	var unlimited Tail
	unlimited.Write([]byte("short"))
	assert.Equal(t, "short", unlimited.String())
}
