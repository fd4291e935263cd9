package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Rendered files may hold secrets and are generated, so they must never reach
// git. Their names can't tell them apart (traefik.yml comes from
// traefik.yml.j2), so render keeps their list in a managed block of
// .gitignore and refuses to run when git already tracks one of them.

const (
	gitignoreBegin = "# BEGIN selfhosted render: generated from *.j2 templates (rewritten at every render, do not edit)"
	gitignoreEnd   = "# END selfhosted render"
	// A block is found by this prefix of its first line, so blocks written
	// by older versions (whose first line named the command) are replaced.
	gitignoreBeginPrefix = "# BEGIN selfhosted render"
)

// blockStart is where the managed block's first line starts in content.
func blockStart(content string) int {
	for i := 0; ; {
		j := strings.Index(content[i:], gitignoreBeginPrefix)
		if j < 0 {
			return -1
		}
		if at := i + j; at == 0 || content[at-1] == '\n' {
			return at
		}
		i += j + len(gitignoreBeginPrefix)
	}
}

// Gitignore returns content with the managed block listing paths (sorted,
// slash-separated, anchored to the repository root), replacing any existing
// block and leaving every other line as it was.
func Gitignore(content string, paths []string) string {
	sorted := append([]string(nil), paths...)
	sort.Strings(sorted)
	var block strings.Builder
	block.WriteString(gitignoreBegin + "\n")
	for _, p := range sorted {
		block.WriteString("/" + filepath.ToSlash(p) + "\n")
	}
	block.WriteString(gitignoreEnd + "\n")

	begin := blockStart(content)
	end := strings.Index(content, gitignoreEnd)
	if begin >= 0 && end > begin {
		after := content[end+len(gitignoreEnd):]
		after = strings.TrimPrefix(after, "\n")
		return content[:begin] + block.String() + after
	}
	if content != "" && !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	if content != "" {
		content += "\n"
	}
	return content + block.String()
}

// updateGitignore writes the managed block into root/.gitignore when it changed.
func updateGitignore(root string, paths []string) error {
	name := filepath.Join(root, ".gitignore")
	old, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if len(paths) == 0 && blockStart(string(old)) < 0 {
		return nil // a stack without templates keeps its .gitignore as written
	}
	updated := Gitignore(string(old), paths)
	if updated == string(old) {
		return nil
	}
	return atomicfile.WriteFile(name, []byte(updated), 0o644)
}

// TrackedError names generated files that git already tracks.
type TrackedError struct{ Paths []string }

func (e *TrackedError) Error() string {
	return fmt.Sprintf("generated file(s) tracked by git: %s; rendered files may hold secrets and must not be committed: run `git rm --cached %s` and commit that, then render again",
		strings.Join(e.Paths, ", "), strings.Join(quoteAll(e.Paths), " "))
}

func quoteAll(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = run.Quote(p)
	}
	return out
}

// checkUntracked fails with a *TrackedError when git tracks any of paths.
// Outside a git repository there is nothing to check.
func checkUntracked(ctx context.Context, r run.Runner, root string, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		return nil
	}
	args := append([]string{"git", "ls-files", "-z", "--"}, paths...)
	out, err := run.Output(ctx, r, run.Command{Args: args, Dir: root})
	if err != nil {
		return fmt.Errorf("check that generated files are not tracked by git: %w", err)
	}
	var tracked []string
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			tracked = append(tracked, p)
		}
	}
	if len(tracked) > 0 {
		return &TrackedError{Paths: tracked}
	}
	return nil
}
