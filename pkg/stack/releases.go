package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/converge"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
)

// Releases lists the releases on the server, oldest first, without taking
// the deploy lock.
func (s *Stack) Releases(ctx context.Context) ([]remote.Release, error) {
	client, err := s.server("releases")
	if err != nil {
		return nil, err
	}
	st, err := client.Inspect(ctx, s.opts.Dir)
	if err != nil {
		return nil, err
	}
	return st.Releases(), nil
}

// RollbackOptions tune Rollback.
type RollbackOptions struct {
	// Release is the release to return to; empty means the one before the
	// current, skipping releases whose deploy failed.
	Release string
	// Timeout bounds the wait for the changed services to become healthy.
	Timeout time.Duration
	// LockWait is how long to wait for another deploy (10s when zero).
	LockWait time.Duration
}

// NoPreviousReleaseError reports a rollback with nowhere to go.
type NoPreviousReleaseError struct {
	Host    string
	Current string
}

func (e *NoPreviousReleaseError) Error() string {
	return fmt.Sprintf("there is no release to return to on %s (the current one is %s)", e.Host, e.Current)
}

// Rollback points DIR back at a previous release and converges the running
// containers to it, as a deploy would; it returns the release now current.
func (s *Stack) Rollback(ctx context.Context, o RollbackOptions) (string, error) {
	client, err := s.server("rollback")
	if err != nil {
		return "", err
	}
	sess, err := client.Lock(ctx, s.opts.Dir, remote.LockOptions{Wait: o.LockWait})
	if err != nil {
		return "", err
	}
	defer sess.Close()
	if !sess.Exists() || sess.Current() == "" {
		return "", &remote.NoStackError{Host: client.Host.String(), Dir: sess.Dir}
	}
	id := o.Release
	if id == "" {
		var ok bool
		if id, ok = remote.Previous(sess.Releases(), sess.History(), sess.Current()); !ok {
			return "", &NoPreviousReleaseError{Host: client.Host.String(), Current: sess.Current()}
		}
	}
	if id == sess.Current() {
		s.say("rollback: release %s is already current", id)
		return id, nil
	}
	from := sess.Current()
	s.say("rollback: from release %s to %s on %s", from, id, client.Host)
	if err := s.switchTo(ctx, sess, id, "rollback", o.Timeout); err != nil {
		return id, err
	}
	s.say("rollback: release %s is live", id)
	return id, nil
}

// PushOptions tune PushFiles.
type PushOptions struct {
	// DryRun prints what would be uploaded and deleted, changing nothing.
	DryRun   bool
	LockWait time.Duration
}

// PushFiles uploads the tree to the server as a new release and switches
// DIR to it, without touching the containers (Up converges them). Old
// releases that no running container has mounted are pruned.
func (s *Stack) PushFiles(ctx context.Context, o PushOptions) (*remote.PushResult, error) {
	client, err := s.server("push-files")
	if err != nil {
		return nil, err
	}
	// The compose model is read while the lock's round trip runs.
	model := make(chan []byte, 1)
	go func() { model <- s.recordedModel(ctx) }()
	lo := remote.LockOptions{Wait: o.LockWait}
	if !o.DryRun {
		lo.PushAhead = &remote.PushAhead{Root: s.Root, PushOptions: remote.PushOptions{PassThru: s.opts.Upload},
			WithUpload: converge.ListCommand(s.Project.Name)}
	}
	sess, err := client.Lock(ctx, s.opts.Dir, lo)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	if o.DryRun {
		plan, _, err := sess.Plan(s.Root)
		if err != nil {
			return nil, err
		}
		fmt.Fprint(s.opts.Out, remote.FormatPlan(plan))
		return &remote.PushResult{Plan: plan, Release: sess.Current(), UpToDate: plan.Empty()}, nil
	}
	res, err := sess.Push(ctx, s.Root, remote.PushOptions{Progress: s.opts.Out, PassThru: s.opts.Upload, Model: <-model})
	if err != nil {
		return nil, err
	}
	if !res.UpToDate {
		// Only a new release makes one to prune: the containers are listed
		// then, not in every push; in the lock's round trip when the push
		// went ahead (under the lock, no deploy changed them since).
		list := func(ctx context.Context) ([]converge.Container, error) { return s.containersFrom(ctx, sess) }
		if _, err := s.prune(ctx, sess, res.Previous, list); err != nil {
			s.say("push-files: %v", err)
		}
	}
	return res, nil
}

// recordedModel is the stack's compose model, for the release's record; a
// stack that does not load records none.
func (s *Stack) recordedModel(ctx context.Context) []byte {
	loaded, err := s.load(ctx)
	if err != nil {
		return nil
	}
	m, err := converge.ModelOf(loaded.Model, absRoot(s.Root))
	if err != nil {
		return nil
	}
	return m.Encode()
}
