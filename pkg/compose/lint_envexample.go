package compose

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
	"github.com/selfhosted-go/selfhosted/pkg/secrets"
)

// The .env.example rule: every variable a compose file or a template reads
// is listed in .env.example, so a new deploy (and the secrets generation)
// knows about it.

var (
	// ${VAR}, ${VAR:-default}, ${VAR?err}, $VAR; $$ is a literal dollar.
	composeVariable = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)`)
	// env.get('VAR'), env.VAR, env['VAR'], env["VAR"].
	templateVariable = regexp.MustCompile(`\benv\.get\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]|\benv\.([A-Za-z_][A-Za-z0-9_]*)|\benv\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]`)
	// composeTemplate is a compose file rendered from a template: it reads
	// ${VAR} (Compose) as well as env.VAR (the template).
	composeTemplate = regexp.MustCompile(`^docker-compose\..*\.ya?ml\.j2$`)
)

// dictMethods are what env.NAME means when NAME is a method of the dict.
var dictMethods = map[string]bool{"get": true, "items": true, "keys": true, "values": true}

func composeNames(data string, names map[string]bool) {
	for _, m := range composeVariable.FindAllStringSubmatch(data, -1) {
		if n := m[1] + m[2]; n != "" {
			names[n] = true
		}
	}
}

func templateNames(data string, names map[string]bool) {
	for _, m := range templateVariable.FindAllStringSubmatch(data, -1) {
		if dictMethods[m[2]] {
			continue // env.get(name) with a computed name: nothing to list
		}
		names[m[1]+m[2]+m[3]] = true
	}
}

// usedVariables returns, per file (relative to root), the variables it
// reads. With composeTemplates, compose templates are read for ${VAR} too:
// for a stack whose templates are not rendered yet (rendering needs the
// variables), where a rendered file would otherwise count them.
func usedVariables(root string, composeFiles []string, composeTemplates bool) (map[string][]string, error) {
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
		composeNames(string(data), names)
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
		templateNames(string(data), names)
		if composeTemplates && composeTemplate.MatchString(d.Name()) {
			composeNames(string(data), names)
		}
		rel, _ := filepath.Rel(root, path)
		add(filepath.ToSlash(rel), names)
		return nil
	})
	if os.IsNotExist(err) {
		err = nil
	}
	return used, err
}

func lintEnvExample(s *Stack) []Finding {
	used, err := usedVariables(s.Root, s.Project.Files, false)
	if err != nil {
		return []Finding{{Severity: Error, Rule: RuleEnvExampleSyntax, File: secrets.ExampleFile, Message: "can't read the stack's files: " + err.Error(), Fix: "fix the file named"}}
	}
	listed := map[string]bool{}
	data, err := os.ReadFile(filepath.Join(s.Root, secrets.ExampleFile))
	if err == nil {
		vars, perr := secrets.ParseExample(data)
		if perr != nil {
			return []Finding{{Severity: Error, Rule: RuleEnvExampleSyntax, File: secrets.ExampleFile, Message: perr.Error(), Fix: "write NAME=value lines, each after a comment"}}
		}
		for _, v := range vars {
			listed[v.Name] = true
		}
	}
	var out []Finding
	for _, f := range sortedKeys(used) {
		for _, name := range used[f] {
			if !listed[name] {
				out = append(out, Finding{Severity: Warning, Rule: RuleEnvExample, File: f, Subject: name,
					Message: fmt.Sprintf("reads %s, which %s does not list", name, secrets.ExampleFile),
					Fix:     fmt.Sprintf("add `%s=<example>` to %s after a comment saying what it is (and `# secret: 32` if it is one)", name, secrets.ExampleFile)})
			}
		}
	}
	return out
}

// secretWords in a variable's name make the skeleton guess it is a secret.
var secretWords = []string{"PASS", "SECRET", "TOKEN", "KEY"}

// guessSecret reports whether name looks like a secret's.
func guessSecret(name string) bool {
	upper := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(upper, w) {
			return true
		}
	}
	return false
}

// WriteEnvExample writes a skeleton .env.example at root listing every
// variable the stack's compose files (${X}, ${X:-default}, $X) and
// templates (env.X, env['X'], env.get('X')) read, for a stack moved from
// another tool: one TODO comment each, `# secret: 32` before names
// containing PASS, SECRET, TOKEN or KEY, no values. COMPOSE_PROJECT_NAME
// comes first, set to the folder's name as Compose's default was.
//
// An existing .env.example is never rewritten: the names it lacks are
// appended at its end, and a file that doesn't parse is left alone with an
// error. It returns the names added (none when the file was complete).
// Compose files need not be rendered: compose templates are read too.
func WriteEnvExample(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, FilePattern))
	if err != nil {
		return nil, err
	}
	var files []string
	for _, m := range matches {
		rel, _ := filepath.Rel(root, m)
		files = append(files, filepath.ToSlash(rel))
	}
	used, err := usedVariables(root, files, true)
	if err != nil {
		return nil, fmt.Errorf("read the stack's files: %w", err)
	}
	readers := map[string][]string{}
	for _, f := range sortedKeys(used) {
		for _, name := range used[f] {
			readers[name] = append(readers[name], f)
		}
	}

	name := filepath.Join(root, secrets.ExampleFile)
	existing, err := os.ReadFile(name)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", secrets.ExampleFile, err)
	}
	listed := map[string]bool{}
	if exists {
		vars, err := secrets.ParseExample(existing)
		if err != nil {
			return nil, fmt.Errorf("%w: fix it first, the skeleton only appends to a valid %s", err, secrets.ExampleFile)
		}
		for _, v := range vars {
			listed[v.Name] = true
		}
	}

	var b strings.Builder
	var added []string
	if !listed["COMPOSE_PROJECT_NAME"] {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, err
		}
		b.WriteString("\n# Docker prefixes every network and volume with it, and Traefik watches\n" +
			"# ${COMPOSE_PROJECT_NAME}_public. Compose's default was the folder's name: keep the\n" +
			"# stack's old project name, so that its existing volumes are found.\n" +
			"COMPOSE_PROJECT_NAME=" + loader.NormalizeProjectName(filepath.Base(abs)) + "\n")
		added = append(added, "COMPOSE_PROJECT_NAME")
	}
	for _, v := range sortedKeys(readers) {
		if listed[v] || v == "COMPOSE_PROJECT_NAME" {
			continue
		}
		fmt.Fprintf(&b, "\n# TODO: what %s is (read by %s).", v, strings.Join(readers[v], ", "))
		if guessSecret(v) {
			b.WriteString(" A secret, guessed from its name: generated\n# with 32 characters; delete the next line if it is a value you are given.\n# secret: 32")
		}
		fmt.Fprintf(&b, "\n%s=\n", v)
		added = append(added, v)
	}
	if len(added) == 0 {
		return nil, nil
	}

	var out []byte
	mode := os.FileMode(0o644)
	if exists {
		if info, err := os.Stat(name); err == nil {
			mode = info.Mode().Perm()
		}
		out = append(out, existing...)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(out, "\n# Added from the variables the stack reads: replace each TODO with what it is.\n"...)
	} else {
		out = append(out, "# Every variable the stack reads, one comment each; `# secret: N` marks the next\n"+
			"# one as a secret of N random characters, generated into .env (never committed).\n"+
			"# Written from the variables the stack reads: replace each TODO with what it is,\n"+
			"# and put a sensible example value after each =.\n"...)
	}
	out = append(out, b.String()...)
	if err := atomicfile.WriteFile(name, out, mode); err != nil {
		return nil, err
	}
	return added, nil
}
