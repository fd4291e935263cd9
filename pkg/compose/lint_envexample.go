package compose

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/selfhosted-go/selfhosted/pkg/secrets"
)

// The .env.example rule: every variable a compose file or a template reads
// is listed in .env.example, so a new deploy (and `go tool mage secrets`)
// knows about it.

var (
	// ${VAR}, ${VAR:-default}, ${VAR?err}, $VAR; $$ is a literal dollar.
	composeVariable = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)`)
	// env.VAR, env['VAR'], env["VAR"].
	templateVariable = regexp.MustCompile(`\benv\.([A-Za-z_][A-Za-z0-9_]*)|\benv\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]`)
)

// usedVariables returns, per file (relative to root), the variables it reads.
func usedVariables(root string, composeFiles []string) (map[string][]string, error) {
	used := map[string][]string{}
	add := func(file string, names map[string]bool) {
		for n := range names {
			used[file] = append(used[file], n)
		}
		sort.Strings(used[file])
	}
	for _, f := range composeFiles {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return nil, err
		}
		names := map[string]bool{}
		for _, m := range composeVariable.FindAllStringSubmatch(string(data), -1) {
			if n := m[1] + m[2]; n != "" {
				names[n] = true
			}
		}
		add(f, names)
	}
	err := filepath.WalkDir(filepath.Join(root, "services"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".j2") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for _, m := range templateVariable.FindAllStringSubmatch(string(data), -1) {
			names[m[1]+m[2]] = true
		}
		rel, _ := filepath.Rel(root, path)
		add(rel, names)
		return nil
	})
	if os.IsNotExist(err) {
		err = nil
	}
	return used, err
}

func lintEnvExample(s *Stack) []Finding {
	used, err := usedVariables(s.Root, s.Project.Files)
	if err != nil {
		return []Finding{{Severity: Error, File: secrets.ExampleFile, Message: "can't read the stack's files: " + err.Error(), Fix: "fix the file named"}}
	}
	listed := map[string]bool{}
	data, err := os.ReadFile(filepath.Join(s.Root, secrets.ExampleFile))
	if err == nil {
		vars, perr := secrets.ParseExample(data)
		if perr != nil {
			return []Finding{{Severity: Error, File: secrets.ExampleFile, Message: perr.Error(), Fix: "write NAME=value lines, each after a comment"}}
		}
		for _, v := range vars {
			listed[v.Name] = true
		}
	}
	files := make([]string, 0, len(used))
	for f := range used {
		files = append(files, f)
	}
	sort.Strings(files)
	var out []Finding
	for _, f := range files {
		for _, name := range used[f] {
			if !listed[name] {
				out = append(out, Finding{Severity: Error, File: f,
					Message: fmt.Sprintf("reads %s, which %s does not list", name, secrets.ExampleFile),
					Fix:     fmt.Sprintf("add `%s=<example>` to %s after a comment saying what it is (and `# secret: 32` if it is one)", name, secrets.ExampleFile)})
			}
		}
	}
	return out
}
