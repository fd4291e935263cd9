package backup

import (
	"context"
	"fmt"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// FindDumpsDir returns the host folder of project's dumps volume, found by
// its labels; a project that has none yet gets the default name's folder.
func FindDumpsDir(ctx context.Context, e Engine, project string) (string, error) {
	vols, err := e.Volumes(ctx, project)
	if err != nil {
		return "", err
	}
	for _, v := range vols {
		if v.ComposeName == DumpsVolume {
			return v.Mountpoint, nil
		}
	}
	return DumpsDir(DefaultVolumesDir, project), nil
}

// Prune forgets the snapshots beyond keep (never the newest whose checks
// passed) and prunes their data, under the host lock.
func Prune(ctx context.Context, o Options, keep Retention, s run.Streams) error {
	release, err := lockHost(ctx, o.DumpsDir, "prune", o.lockWait(), o.say)
	if err != nil {
		return err
	}
	defer release()
	if w := o.forget(ctx, keep); w != "" {
		return fmt.Errorf("%s", w)
	}
	return nil
}

// CheckRepository verifies the repository, reading subset of its data,
// under the host lock.
func CheckRepository(ctx context.Context, o Options, subset string, s run.Streams) error {
	release, err := lockHost(ctx, o.DumpsDir, "check", o.lockWait(), o.say)
	if err != nil {
		return err
	}
	defer release()
	return Classify(o.Runner.Run(ctx, o.Restic.Check(subset), s))
}
