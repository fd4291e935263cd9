package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/converge"
	"github.com/selfhosted-go/selfhosted/pkg/git"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/render"
	"github.com/selfhosted-go/selfhosted/pkg/run"
	"github.com/selfhosted-go/selfhosted/pkg/secrets"
)

// DeployOptions tune Deploy.
type DeployOptions struct {
	// DryRun prints what a deploy would upload and delete and which
	// services it would create, recreate, restart or remove, and why,
	// changing nothing anywhere.
	DryRun bool
	// AllowDirty deploys uncommitted changes (git is neither checked nor
	// pushed).
	AllowDirty bool
	// Timeout bounds the wait for the changed services to become healthy
	// (converge.DefaultTimeout when zero).
	Timeout time.Duration
	// LockWait is how long to wait for another deploy (10s when zero).
	LockWait time.Duration
}

// DeployResult says what a deploy did.
type DeployResult struct {
	Push    *remote.PushResult // nil for a dry run
	Upload  remote.Plan
	Plan    converge.Plan
	Applied converge.Result
	Pruned  []string // releases removed
}

// LintError reports lint findings that stop a deploy.
type LintError struct{ Findings []compose.Finding }

func (e *LintError) Error() string {
	n := 0
	for _, f := range e.Findings {
		if f.Severity == compose.Error {
			n++
		}
	}
	return fmt.Sprintf("lint: %d error(s) not in %s", n, compose.BaselineFile)
}

// FailedError reports a deploy whose new release did not become healthy.
// The previous release was put back (RolledBackTo) unless there was none.
type FailedError struct {
	Release      string
	RolledBackTo string
	Cause        error // a *converge.UnhealthyError, or what failed
	// RollbackErr is set when putting the previous release back failed too.
	RollbackErr error
}

func (e *FailedError) Error() string {
	msg := fmt.Sprintf("release %s failed: %v", e.Release, e.Cause)
	switch {
	case e.RollbackErr != nil:
		msg += fmt.Sprintf("; returning to release %s failed too: %v", e.RolledBackTo, e.RollbackErr)
	case e.RolledBackTo != "":
		msg += fmt.Sprintf("; the stack is back on release %s", e.RolledBackTo)
	default:
		msg += "; there is no previous release to return to"
	}
	return msg
}

func (e *FailedError) Unwrap() error { return e.Cause }

// Check renders the templates, validates the merged compose files with
// `docker compose config` on this machine and runs the linter. It returns
// the loaded stack and the lint report, or a *LintError when a finding not
// in the stack's lint baseline is an error.
func (s *Stack) Check(ctx context.Context) (*compose.Stack, compose.Report, error) {
	if err := s.named(); err != nil {
		return nil, compose.Report{}, err
	}
	// A .env git would commit leaks every secret: refused before anything.
	if exists(filepath.Join(s.Root, secrets.EnvFile)) {
		if err := secrets.CheckIgnored(ctx, s.Root, run.Local{}); err != nil {
			return nil, compose.Report{}, err
		}
	}
	if _, err := s.Render(ctx); err != nil {
		return nil, compose.Report{}, err
	}
	local := s.Project
	local.Dir = s.Root
	if err := compose.CheckConfig(ctx, run.Local{}, local); err != nil {
		return nil, compose.Report{}, err
	}
	loaded, err := compose.Load(ctx, s.Root, s.opts.Environ)
	if err != nil {
		return nil, compose.Report{}, err
	}
	report, err := compose.LintWithBaseline(loaded)
	if err != nil {
		return loaded, report, err
	}
	if report.Failed() {
		return loaded, report, &LintError{Findings: report.Findings}
	}
	return loaded, report, nil
}

// Render renders every template of the stack, writing the outputs that
// changed; rendered compose files join the stack. Templates read .env
// overlaid by Options.Environ; a Cloudflare list that could not be fetched
// is announced on Options.Err.
func (s *Stack) Render(ctx context.Context) (render.Result, error) {
	if err := s.named(); err != nil {
		return render.Result{}, err
	}
	res, err := render.Tree(ctx, render.Options{
		Root: s.Root, Environ: s.opts.Environ,
		CloudflareIPs: s.opts.CloudflareIPs, Warnings: s.opts.Err,
	})
	if err != nil {
		return res, err
	}
	return res, s.findFiles()
}

// buildBackup builds the backup program for the architecture of the host
// the stack runs on. The first build takes a while: past a second,
// Options.Out hears why.
func (s *Stack) buildBackup(ctx context.Context) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(time.Second):
			s.say("building the backup program (%s) for %s; the first build takes a minute", backup.ProgramPackage, s.Where())
		}
	}()
	if !s.Remote() {
		_, err := backup.Build(ctx, run.Local{}, s.Root)
		return err
	}
	machine, err := s.opts.Server.Machine()
	if err != nil {
		return err
	}
	arch, err := backup.GOARCH(machine)
	if err != nil {
		return err
	}
	return backup.BuildFor(ctx, arch, s.Root)
}

// HasBackups reports whether the stack has the backup container.
func (s *Stack) HasBackups() bool {
	_, err := os.Stat(filepath.Join(s.Root, backup.ComposeFile))
	return err == nil
}

// Deploy checks the stack, uploads it to the server as a new release,
// converges the running containers to it, waits until the changed ones are
// healthy, and puts the previous release back if one is not (a
// *FailedError). The deploy lock is held from the upload to the end.
func (s *Stack) Deploy(ctx context.Context, o DeployOptions) (*DeployResult, error) {
	client, err := s.server("deploy")
	if err != nil {
		return nil, err
	}
	if err := s.named(); err != nil {
		return nil, err
	}
	// The connection's handshake runs while the checks do (see
	// remote.Start); a failed check closes it, the server untouched. The
	// backup program's architecture is asked as soon as it is up.
	if s.HasBackups() && !o.DryRun {
		go func() { _, _ = client.Machine() }()
	}
	loaded, _, err := s.Check(ctx)
	if err != nil {
		return nil, err
	}
	s.trace("deploy: checks")
	local := run.Local{Dir: s.Root}
	commit := ""
	dirty := false
	if !o.AllowDirty {
		if err := git.Check(ctx, local); err != nil {
			return nil, err
		}
	} else if changes, err := git.Changes(ctx, local); err == nil {
		dirty = len(changes) > 0
	}
	if out, err := run.Output(ctx, local, run.Command{Args: []string{"git", "rev-parse", "HEAD"}}); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	if !o.AllowDirty && !o.DryRun {
		if err := git.Push(ctx, local, s.streams()); err != nil {
			return nil, fmt.Errorf("git push: %w", err)
		}
	}
	s.trace("deploy: git")
	if s.HasBackups() && !o.DryRun {
		// The backup container runs the project's own program, built here
		// for the server's architecture and uploaded with the tree.
		if err := s.buildBackup(ctx); err != nil {
			return nil, err
		}
		s.trace("deploy: backup program")
	}
	model, err := converge.ModelOf(loaded.Model, absRoot(s.Root))
	if err != nil {
		return nil, err
	}

	// The containers are listed in the lock's round trip.
	lo := remote.LockOptions{Wait: o.LockWait, With: converge.ListCommand(s.Project.Name)}
	if !o.DryRun {
		lo.PushAhead = &remote.PushAhead{Root: s.Root, PushOptions: remote.PushOptions{PassThru: s.opts.Upload}}
	}
	sess, err := client.Lock(ctx, s.opts.Dir, lo)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	res := &DeployResult{}
	upload, manifest, err := sess.Plan(s.Root)
	if err != nil {
		return nil, err
	}
	res.Upload = upload
	before, err := s.containersFrom(ctx, sess)
	if err != nil {
		return nil, err
	}
	target := converge.Target{Manifest: manifest, Model: model}
	if res.Plan, err = s.plan(ctx, sess, before, target); err != nil {
		return nil, err
	}
	if o.DryRun {
		s.say("deploy (dry run) on %s, %s:", client.Host, sess.Dir)
		fmt.Fprint(s.opts.Out, remote.FormatPlan(upload))
		s.printPlan(res.Plan)
		return res, nil
	}

	push, err := sess.Push(ctx, s.Root, remote.PushOptions{
		Commit: commit, Dirty: dirty, Model: model.Encode(),
		Progress: s.opts.Out, PassThru: s.opts.Upload,
	})
	if err != nil {
		return nil, err
	}
	res.Push = push
	s.printPlan(res.Plan)
	since := push.Activated
	if push.UpToDate {
		since = sess.Timeline().Since(push.Release)
	}
	applied, err := s.apply(ctx, before, res.Plan, since, o.Timeout)
	res.Applied = applied
	s.trace("deploy: converge")
	if err != nil {
		if push.UpToDate || push.Previous == "" {
			return res, &FailedError{Release: push.Release, Cause: err}
		}
		return res, s.rollbackAfter(ctx, sess, push, err, o.Timeout)
	}
	s.say("deploy: release %s is live on %s", push.Release, client.Host)
	if push.UpToDate && len(applied.Touched) == 0 {
		return res, nil // nothing new, nothing left over: nothing to prune
	}
	if res.Pruned, err = s.prune(ctx, sess, push.Previous, s.containers); err != nil {
		s.say("deploy: %v", err)
	}
	if err := s.runner.Run(ctx, compose.Prune(), run.Streams{Stdout: nil, Stderr: s.opts.Err}); err != nil {
		s.say("deploy: docker system prune: %v", err)
	}
	s.trace("deploy: prune")
	return res, nil
}

func absRoot(root string) string {
	abs, err := filepath.Abs(root)
	if err != nil {
		return root
	}
	return abs
}

// containers lists the project's containers where the stack runs.
func (s *Stack) containers(ctx context.Context) ([]converge.Container, error) {
	return converge.List(ctx, s.runner, s.Project.Name)
}

// containersFrom reads the containers a session listed when it took the
// lock (LockOptions.With), or lists them again if that failed.
func (s *Stack) containersFrom(ctx context.Context, sess *remote.Session) ([]converge.Container, error) {
	if list, err := converge.ParseList(sess.With()); err == nil {
		return list, nil
	}
	return s.containers(ctx)
}

// trace notes the end of a phase, with the connection's round trips.
func (s *Stack) trace(phase string) {
	if s.opts.Server != nil {
		s.opts.Server.Trace(phase)
	}
}

// plan computes the converge plan of the containers towards target, from
// what the server recorded of the releases they run on.
func (s *Stack) plan(ctx context.Context, st stateReader, containers []converge.Container, target converge.Target) (converge.Plan, error) {
	tl := st.Timeline()
	ids := []string{st.Current()}
	for _, c := range containers {
		ids = append(ids, tl.At(c.StartedAt))
	}
	files, err := st.ReleaseFiles(ctx, ids)
	if err != nil {
		return converge.Plan{}, err
	}
	return converge.Compute(converge.Input{Dir: st.AbsDir(), Containers: containers, Timeline: tl, Releases: files, Target: target}), nil
}

// stateReader is what planning reads of the server: a locked session, or
// the state read without the lock.
type stateReader interface {
	Timeline() remote.Timeline
	Current() string
	AbsDir() string
	ReleaseFiles(ctx context.Context, ids []string) (map[string]remote.ReleaseFiles, error)
}

func (s *Stack) printPlan(p converge.Plan) {
	if p.Empty() {
		s.say("converge: no service changes")
	}
	for _, line := range strings.Split(strings.TrimRight(p.String(), "\n"), "\n") {
		if line != "" {
			s.say("converge: %s", line)
		}
	}
}

// apply converges and waits for the touched services.
func (s *Stack) apply(ctx context.Context, before []converge.Container, plan converge.Plan, since time.Time, timeout time.Duration) (converge.Result, error) {
	o := converge.Options{Runner: s.runner, Project: s.Project, Output: s.opts.Out, Timeout: timeout}
	res, err := converge.Apply(ctx, o, before, plan, since)
	if err != nil {
		return res, s.diagnose(ctx, err)
	}
	if len(res.Touched) > 0 {
		s.say("converge: waiting for %s to be healthy", strings.Join(res.Touched, ", "))
	}
	return res, converge.Wait(ctx, o, res.Touched)
}

// rollbackAfter puts the previous release back after a failed deploy and
// converges the containers to it.
func (s *Stack) rollbackAfter(ctx context.Context, sess *remote.Session, push *remote.PushResult, cause error, timeout time.Duration) error {
	failed := &FailedError{Release: push.Release, RolledBackTo: push.Previous, Cause: cause}
	s.say("deploy: release %s failed (%v); returning to release %s", push.Release, cause, push.Previous)
	_ = sess.MarkFailed(ctx, push.Release, cause.Error())
	if err := s.switchTo(ctx, sess, push.Previous, "rollback", timeout); err != nil {
		failed.RollbackErr = err
	}
	return failed
}

// switchTo activates release id and converges the containers to it.
func (s *Stack) switchTo(ctx context.Context, sess *remote.Session, id, why string, timeout time.Duration) error {
	files, err := sess.ReleaseFiles(ctx, []string{id})
	if err != nil {
		return err
	}
	target := converge.Target{Release: id, Manifest: files[id].Manifest}
	target.Model, _ = converge.DecodeModel(files[id].Model)
	before, err := s.containers(ctx)
	if err != nil {
		return err
	}
	plan, err := s.plan(ctx, sess, before, target)
	if err != nil {
		return err
	}
	at, err := sess.Activate(ctx, id, why)
	if err != nil {
		return err
	}
	s.printPlan(plan)
	_, err = s.apply(ctx, before, plan, at, timeout)
	return err
}

// KeepReleases is how many of the newest releases are always kept, besides
// the current one, the one a rollback returns to, and any a running
// container still has mounted.
const KeepReleases = 3

// prune removes old releases that nothing needs: none that the
// containers list returns still mount.
func (s *Stack) prune(ctx context.Context, sess *remote.Session, previous string, list func(context.Context) ([]converge.Container, error)) ([]string, error) {
	containers, err := list(ctx)
	if err != nil {
		return nil, fmt.Errorf("old releases are kept: the containers could not be listed: %w", err)
	}
	keep := converge.Referenced(sess.AbsDir(), containers, sess.Timeline())
	keep[previous] = true
	if back, ok := remote.Previous(sess.Releases(), sess.History(), sess.Current()); ok {
		keep[back] = true
	}
	releases := sess.Releases()
	for i := len(releases) - 1; i >= 0 && i >= len(releases)-KeepReleases; i-- {
		keep[releases[i].ID] = true
	}
	return sess.Prune(ctx, keep)
}
