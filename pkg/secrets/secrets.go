// Package secrets creates a stack's .env from .env.example and generates
// the secrets it marks.
//
// # The .env.example format
//
// .env.example lists every variable the stack reads, as NAME=value lines
// in Docker Compose's .env syntax, each after a comment saying what it is.
// A comment line `# secret: N` marks the next variable as a secret of N
// random characters:
//
//	# MariaDB's root password.
//	# secret: 32
//	MARIADB_ROOT_PASSWORD=
//
// [Fill] adds every secret that .env lacks (or has empty), from crypto/rand,
// in an alphabet of letters and digits that needs no quoting in YAML, URLs,
// shells or .env files. It never overwrites a value, prints only names, and
// writes .env atomically with mode 0600. It refuses to write a .env that git
// would commit.
package secrets

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Files of a stack repository.
const (
	ExampleFile = ".env.example"
	EnvFile     = ".env"
)

// Variable is one NAME=value of .env.example.
type Variable struct {
	Name    string
	Example string // the value written in .env.example
	Secret  bool
	Length  int // secret length, in characters
	Line    int
}

var (
	assignment = regexp.MustCompile(`^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$`)
	marker     = regexp.MustCompile(`^#\s*secret:\s*(\d+)\s*$`)
)

// ParseExample reads .env.example.
func ParseExample(data []byte) ([]Variable, error) {
	var vars []Variable
	pending := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if m := marker.FindStringSubmatch(line); m != nil {
			length, _ := strconv.Atoi(m[1])
			if length < 16 || length > 512 {
				return nil, fmt.Errorf("%s:%d: a secret of %d characters: use 16 to 512", ExampleFile, n, length)
			}
			pending = length
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := assignment.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: not a NAME=value line: %q", ExampleFile, n, line)
		}
		v := Variable{Name: m[1], Example: strings.TrimSpace(m[2]), Line: n}
		if pending > 0 {
			v.Secret, v.Length, pending = true, pending, 0
		}
		vars = append(vars, v)
	}
	return vars, sc.Err()
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Generate returns length characters drawn uniformly from letters and
// digits with crypto/rand.
func Generate(length int) (string, error) {
	out := make([]byte, length)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		out[i] = alphabet[n.Int64()]
	}
	return string(out), nil
}

// Fill adds to root/.env every secret of .env.example it lacks (creating
// .env, with the example's other values, when missing) and returns the
// names it added. r runs git to refuse a .env that git would commit.
func Fill(ctx context.Context, root string, r run.Runner) ([]string, error) {
	if err := CheckIgnored(ctx, root, r); err != nil {
		return nil, err
	}
	example, err := os.ReadFile(filepath.Join(root, ExampleFile))
	if err != nil {
		return nil, fmt.Errorf("read %s (it lists the variables to generate): %w", ExampleFile, err)
	}
	vars, err := ParseExample(example)
	if err != nil {
		return nil, err
	}
	envPath := filepath.Join(root, EnvFile)
	current, err := os.ReadFile(envPath)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	values := map[string]string{}
	if exists {
		if values, err = dotenv.UnmarshalBytesWithLookup(current, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", envPath, err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(current), "\n"), "\n")
	if !exists {
		lines = nil
	}
	var added []string
	for _, v := range vars {
		if values[v.Name] != "" || (!v.Secret && exists) {
			continue
		}
		value := v.Example
		if v.Secret {
			if value, err = Generate(v.Length); err != nil {
				return nil, err
			}
			added = append(added, v.Name)
		}
		lines = setLine(lines, v.Name, value)
	}
	if exists && len(added) == 0 {
		return nil, nil
	}
	if err := atomicfile.WriteFile(envPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	return added, nil
}

// setLine replaces an empty NAME= line, or appends NAME=value.
func setLine(lines []string, name, value string) []string {
	for i, l := range lines {
		if m := assignment.FindStringSubmatch(strings.TrimSpace(l)); m != nil && m[1] == name {
			lines[i] = name + "=" + value
			return lines
		}
	}
	return append(lines, name+"="+value)
}

// EnsureEnv creates root/.env from .env.example with generated secrets
// when it is missing, telling out what it created; it reports whether it did.
func EnsureEnv(ctx context.Context, root string, r run.Runner, out io.Writer) (bool, error) {
	if _, err := os.Stat(filepath.Join(root, EnvFile)); err == nil {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(root, ExampleFile)); err != nil {
		return false, nil
	}
	added, err := Fill(ctx, root, r)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(out, "Created %s from %s (mode 0600, gitignored) with %d generated secret(s): %s.\nCheck its values before a real deploy.\n",
		EnvFile, ExampleFile, len(added), strings.Join(added, ", "))
	return true, nil
}

// NotIgnoredError refuses a .env that git would commit.
type NotIgnoredError struct {
	Path    string
	Tracked bool
}

func (e *NotIgnoredError) Error() string {
	if e.Tracked {
		return fmt.Sprintf("%s is tracked by git, so its secrets would be committed: run `git rm --cached %s`, make sure .gitignore lists it, and commit", e.Path, e.Path)
	}
	return fmt.Sprintf("%s is not gitignored, so its secrets could be committed: add `%s` to .gitignore first", e.Path, e.Path)
}

// CheckIgnored refuses (a *NotIgnoredError) when root is a git repository
// that tracks .env or doesn't ignore it.
func CheckIgnored(ctx context.Context, root string, r run.Runner) error {
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		return nil // not a git repository: nothing can commit it
	}
	if _, err := run.Output(ctx, r, run.Command{Args: []string{"git", "ls-files", "--error-unmatch", "--", EnvFile}, Dir: root}); err == nil {
		return &NotIgnoredError{Path: EnvFile, Tracked: true}
	}
	_, err := run.Output(ctx, r, run.Command{Args: []string{"git", "check-ignore", "-q", "--", EnvFile}, Dir: root})
	switch run.ExitCode(err) {
	case 0:
		return nil
	case 1:
		return &NotIgnoredError{Path: EnvFile}
	}
	return fmt.Errorf("check that %s is gitignored: %w", EnvFile, err)
}
