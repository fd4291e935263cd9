package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/selfhosted-go/selfhosted/internal/filehash"
)

// A project's volumes are those Docker Compose labelled with its name: a
// sibling project named "<project>_something" shares the prefix of every
// volume name, never the label. Host folders a service declares with
// selfhosted.backup.paths are snapshotted with them.

// Set is what a backup snapshots and a restore refills.
type Set struct {
	Volumes []Volume // the project's volumes
	// Excludes are the folders of volumes holding live database state.
	Excludes []string
	// Paths are host folders declared by services.
	Paths []string
}

// Folders are the paths restic snapshots: every volume's folder and every
// declared host folder.
func (s Set) Folders() []string {
	var out []string
	for _, v := range s.Volumes {
		out = append(out, v.Dir())
	}
	out = append(out, s.Paths...)
	sort.Strings(out)
	return out
}

// NothingToBackUpError reports a project with no volumes and no paths.
type NothingToBackUpError struct{ Project string }

func (e *NothingToBackUpError) Error() string {
	return fmt.Sprintf("project %s has no volumes and declares no paths: nothing to back up (is COMPOSE_PROJECT_NAME right, and the stack created?)", e.Project)
}

// UnknownExcludeError names an exclude that matches no volume.
type UnknownExcludeError struct{ Service, Volume string }

func (e *UnknownExcludeError) Error() string {
	return fmt.Sprintf("service %s excludes volume %s, which the project does not have", e.Service, e.Volume)
}

// Targets works out what project's backup holds.
func Targets(ctx context.Context, e Engine, project string, hooks []Hooks) (Set, error) {
	vols, err := e.Volumes(ctx, project)
	if err != nil {
		return Set{}, err
	}
	set := Set{Volumes: vols}
	byName := map[string]Volume{}
	for _, v := range vols {
		byName[v.ComposeName] = v
	}
	seen := map[string]bool{}
	for _, h := range hooks {
		for _, ex := range h.Exclude {
			v, ok := byName[ex]
			if !ok {
				// The volume is not created yet: nothing of it to exclude.
				continue
			}
			set.Excludes = append(set.Excludes, v.Dir())
		}
		for _, p := range h.Paths {
			if !seen[p] {
				seen[p] = true
				set.Paths = append(set.Paths, filepath.Clean(p))
			}
		}
	}
	sort.Strings(set.Excludes)
	sort.Strings(set.Paths)
	if len(set.Volumes)+len(set.Paths) == 0 {
		return set, &NothingToBackUpError{Project: project}
	}
	return set, nil
}

// HoldingData lists the volumes and paths that hold data beyond what a fresh
// create puts there: Docker copies what an image holds at a volume's mount
// point into a new volume, so a volume whose files all come from the image
// of a container mounting it is still empty state. Files matching ignore
// (the backup program's own, in the dumps area) are no data.
func HoldingData(ctx context.Context, e Engine, set Set, containers []Container, ignore []string) ([]string, error) {
	var full []string
	for _, v := range set.Volumes {
		files, err := volumeFiles(v.Mountpoint)
		if err != nil {
			return nil, err
		}
		for rel := range files {
			for _, pattern := range ignore {
				if ok, _ := filepath.Match(pattern, filepath.Join(v.Mountpoint, rel)); ok {
					delete(files, rel)
				}
			}
		}
		if len(files) == 0 {
			continue
		}
		fresh, err := fromImage(ctx, e, v, files, containers)
		if err != nil {
			return nil, err
		}
		if !fresh {
			full = append(full, v.Name)
		}
	}
	for _, p := range set.Paths {
		entries, err := os.ReadDir(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if len(entries) > 0 {
			full = append(full, p)
		}
	}
	return full, nil
}

// volumeFiles lists a volume's regular files and links by path; a folder
// counts only by what it holds.
func volumeFiles(dir string) (map[string]fs.FileInfo, error) {
	files := map[string]fs.FileInfo{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = info
		return nil
	})
	return files, err
}

// fromImage reports whether every file of the volume came, unchanged, from
// the image of a container that mounts it.
func fromImage(ctx context.Context, e Engine, v Volume, files map[string]fs.FileInfo, containers []Container) (bool, error) {
	for _, c := range containers {
		for _, m := range c.Mounts {
			if m.Type != "volume" || m.Name != v.Name {
				continue
			}
			image, err := e.ImageFiles(ctx, c.Image, m.Destination)
			if err != nil {
				return false, err
			}
			if sameAs(v.Mountpoint, files, image) {
				return true, nil
			}
		}
	}
	return false, nil
}

func sameAs(dir string, files map[string]fs.FileInfo, image map[string]FileSum) bool {
	for rel, info := range files {
		want, ok := image[rel]
		if !ok || !info.Mode().IsRegular() || info.Size() != want.Size {
			return false
		}
		hash, err := hashFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil || hash != want.Hash {
			return false
		}
	}
	return true
}

func hashFile(path string) (string, error) { return filehash.SHA256(path) }

// ExistingStateError refuses to restore over data.
type ExistingStateError struct{ Volumes []string }

func (e *ExistingStateError) Error() string {
	return fmt.Sprintf("the project's volumes hold data (%s): a restore replaces it all", strings.Join(e.Volumes, ", "))
}
