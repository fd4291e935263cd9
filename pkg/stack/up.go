package stack

import (
	"context"

	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/converge"
)

// UpOptions tune Up.
type UpOptions struct {
	// Services to start (all when empty).
	Services []string
}

// Up starts the stack (or some services) in the background.
//
// On this machine, a fresh clone first gets its .env (from .env.example,
// secrets generated), its templates rendered and, with backups, the backup
// program built. On a server, the running containers are converged to the
// current release: compose recreates what changed in its definition, and
// the containers whose mounted files differ from the release are
// restarted.
func (s *Stack) Up(ctx context.Context, o UpOptions) error {
	if !s.Remote() {
		// Before .env, templates and the backup program: without Compose
		// v2 none of it would start.
		if err := compose.Available(ctx, s.runner); err != nil {
			return err
		}
		if err := s.ensureEnv(ctx); err != nil {
			return err
		}
		if _, err := s.Render(ctx); err != nil {
			return err
		}
		if s.HasBackups() {
			if err := s.buildBackup(ctx); err != nil {
				return err
			}
		}
		return s.diagnose(ctx, s.runner.Run(ctx, s.Project.Up(o.Services...), s.streams()))
	}
	if err := s.named(); err != nil {
		return err
	}
	client := s.opts.Server
	st, err := client.Inspect(ctx, s.opts.Dir)
	if err != nil {
		return err
	}
	before, err := s.containers(ctx)
	if err != nil {
		return err
	}
	target := converge.Target{Release: st.Current(), Manifest: st.CurrentManifest()}
	target.Model, _ = converge.DecodeModel(st.CurrentModel())
	plan, err := s.plan(ctx, st, before, target)
	if err != nil {
		return err
	}
	o2 := converge.Options{Runner: s.runner, Project: s.Project, Output: s.opts.Out, Services: o.Services}
	_, err = converge.Apply(ctx, o2, before, plan, st.Timeline().Since(st.Current()))
	return s.diagnose(ctx, err)
}

func (s *Stack) load(ctx context.Context) (*compose.Stack, error) {
	return compose.Load(ctx, s.Root, s.opts.Environ)
}
