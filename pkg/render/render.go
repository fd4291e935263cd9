// Package render renders a stack's Jinja templates, byte for byte as Jinja2
// would, on the pongo2 engine.
//
// # The model
//
// Convention over configuration: every file whose name ends in .j2 below a
// folder (services/ by default) is a template, rendered to the same path
// minus .j2 (services/proxy/traefik.yml.j2 → services/proxy/traefik.yml).
// [Tree] renders them all in sorted order, in memory first: one bad template
// fails the run and nothing is written. Then each output is written
// atomically (temporary file + rename) with its template's permission bits.
//
// Templates see two names:
//   - env: the values of the repository's .env file, parsed exactly as Docker
//     Compose parses it, overlaid by [Options].Environ ([Env]);
//   - cloudflare_ips: the sorted union of Cloudflare's published IPv4 and
//     IPv6 ranges: [Options].CloudflareIPs when set, else fetched with a
//     short timeout ([CloudflareIPs]), else a list embedded here, which
//     [Options].Warnings announces. It is only fetched when a template uses
//     it.
//
// The package reads no environment variables: callers pass them in
// (Options.Environ; the render target parses CLOUDFLARE_IPS with
// [ParseCloudflareIPs]).
//
// Rendered files may hold secrets, so they must never reach git: Tree keeps
// a managed, sorted block of .gitignore listing every generated path, and
// fails, naming the `git rm --cached` fix, when git already tracks one.
//
// # Jinja fidelity
//
// Output is byte-identical to Jinja2's with trim_blocks=True,
// lstrip_blocks=True, keep_trailing_newline=False (one trailing newline of
// the template is dropped) and StrictUndefined. pongo2 stays the engine: the
// template is lexed with Jinja's whitespace rules, each Jinja expression is
// parsed with Jinja's grammar and re-emitted as calls of runtime functions
// with Python semantics, and pongo2 runs the result. A differential test
// renders a corpus with Jinja2 and with this package and compares bytes.
//
// Supported:
//   - {{ … }}, {% … %}, {# … #} with -/+ whitespace control, {% raw %};
//   - {% if %}/{% elif %}/{% else %}, {% for x in … %} and
//     {% for k, v in d.items() %} with {% else %}, loop.index, index0,
//     first, last, revindex, revindex0, length; {% set x = … %};
//   - literals (strings with Python escapes, ints, floats, true/false/none,
//     lists, tuples, dicts), attribute and item access (env.X, env['X'],
//     list[0], slices), ~ concatenation, + - * / // % **, comparisons, in,
//     not in, and, or, not, x if c else y;
//   - filters: default/d, tojson (Jinja's exact formatting), lower, upper,
//     capitalize, title, trim, replace, join, length/count, int, float,
//     string, indent, list, sort, unique, first, last, reverse, abs;
//   - tests: defined, undefined, none, string, number, integer, float,
//     boolean, true, false, mapping, sequence, iterable, lower, upper, even,
//     odd, divisibleby, eq/equalto/==, ne/!=, lt, le, gt, ge, in;
//   - methods: str.lower, upper, title, capitalize, strip, lstrip, rstrip,
//     split, rsplit, startswith, endswith, replace, join, count, find,
//     isdigit; dict.keys, values, items, get; the range() function.
//
// Not supported (a clear error names the tag, filter or test): macros,
// call blocks, include/import/extends/block, {% set %} blocks and tuple
// targets, {% filter %}, {% with %}, loop filters (for … if …), recursive
// loops, loop.cycle/changed, other Jinja filters and globals, str.format
// and the % operator on strings. Dicts are unordered here: printing a dict
// and iterating one list its keys sorted, where Jinja keeps insertion order.
//
// # Strictness
//
// Printing, testing the truth of, iterating or computing with an undefined
// variable is an error naming the file, line and variable (`default(…)` and
// `is defined` still work). Syntax errors name the file, line and column.
package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
	"github.com/selfhosted-go/selfhosted/internal/jinja"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Options configure Tree. The zero value renders services/ of the current
// directory with .env alone and Cloudflare's fetched ranges.
type Options struct {
	// Root is the repository root (where .env and .gitignore live); default ".".
	Root string
	// Dir is the folder searched for templates, relative to Root; default
	// "services". Templates include, import and extend others by their
	// names relative to it.
	Dir string
	// Env replaces the env context (default: Env(Root, Environ)).
	Env map[string]string
	// Environ ("KEY=value" strings, typically os.Environ()) overlays .env;
	// nil: .env alone. This package reads no environment variables itself.
	Environ []string
	// CloudflareIPs replaces the cloudflare_ips context (default: fetched
	// with CloudflareIPs, else EmbeddedCloudflareIPs).
	CloudflareIPs []string
	// HTTPClient fetches Cloudflare's ranges (default http.DefaultClient).
	HTTPClient *http.Client
	// Warnings receives a line when the embedded Cloudflare list replaces
	// one that could not be fetched (nil: discarded).
	Warnings io.Writer
	// Runner runs git for the tracked-file check (default run.Local).
	Runner run.Runner
	// SkipGitignore leaves .gitignore alone (for rendering outside a stack repo).
	SkipGitignore bool
}

// Templates returns the templates below dir, sorted, relative to root.
func Templates(root, dir string) ([]string, error) {
	var found []string
	base := filepath.Join(root, dir)
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".j2") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			found = append(found, rel)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no folder %s to render templates from: %w", base, err)
	}
	sort.Strings(found)
	return found, err
}

// Output is the path a template renders to: its own path minus .j2.
func Output(template string) string { return strings.TrimSuffix(template, ".j2") }

// Tree renders every template below opts.Dir and returns the files written,
// relative to opts.Root, in sorted order.
func Tree(ctx context.Context, opts Options) ([]string, error) {
	if opts.Root == "" {
		opts.Root = "."
	}
	if opts.Dir == "" {
		opts.Dir = "services"
	}
	if opts.Runner == nil {
		opts.Runner = run.Local{}
	}
	templates, err := Templates(opts.Root, opts.Dir)
	if err != nil {
		return nil, err
	}
	outputs := make([]string, len(templates))
	for i, t := range templates {
		outputs[i] = Output(t)
	}
	if err := checkUntracked(ctx, opts.Runner, opts.Root, outputs); err != nil {
		return nil, err
	}

	data, err := opts.context(ctx)
	if err != nil {
		return nil, err
	}
	sources := make([][]byte, len(templates))
	modes := make([]fs.FileMode, len(templates))
	for i, name := range templates {
		path := filepath.Join(opts.Root, name)
		if sources[i], err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read template: %w", err)
		}
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		modes[i] = st.Mode().Perm()
	}
	env := jinja.NewEnv(os.DirFS(filepath.Join(opts.Root, opts.Dir)), filepath.ToSlash(opts.Dir))
	results, err := renderAll(env, templates, sources, data)
	if err != nil {
		return nil, err
	}

	for i, out := range outputs {
		if err := writeIfChanged(filepath.Join(opts.Root, out), results[i], modes[i]); err != nil {
			return nil, err
		}
	}
	if !opts.SkipGitignore {
		if err := updateGitignore(opts.Root, outputs); err != nil {
			return nil, err
		}
	}
	return outputs, nil
}

// writeIfChanged replaces name atomically unless it already holds data with
// mode perm: an unchanged output keeps its mtime (so uploads skip it) and
// costs one read instead of a write and a rename. Rendered files can always
// be rendered again, so they are not fsynced.
func writeIfChanged(name string, data []byte, perm fs.FileMode) error {
	if st, err := os.Stat(name); err == nil && st.Mode().Perm() == perm && st.Size() == int64(len(data)) {
		if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, data) {
			return nil
		}
	}
	return atomicfile.WriteFileUnsynced(name, data, perm)
}

// renderAll renders every template on all cores. It returns the first error
// in template order, so the same bad tree always reports the same error.
func renderAll(env *jinja.Env, names []string, sources [][]byte, data map[string]any) ([][]byte, error) {
	results := make([][]byte, len(names))
	errs := make([]error, len(names))
	workers := min(runtime.GOMAXPROCS(0), len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				tpl, err := env.Parse(filepath.ToSlash(names[i]), string(sources[i]))
				if err != nil {
					errs[i] = err
					continue
				}
				out, err := tpl.Execute(data)
				results[i], errs[i] = []byte(out), err
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

// context is what templates see. cloudflare_ips is only fetched when a
// template evaluates it.
func (opts Options) context(ctx context.Context) (map[string]any, error) {
	env := opts.Env
	if env == nil {
		var err error
		if env, err = Env(opts.Root, opts.Environ); err != nil {
			return nil, err
		}
	}
	data := map[string]any{"env": env}
	if opts.CloudflareIPs != nil {
		data["cloudflare_ips"] = opts.CloudflareIPs
		return data, nil
	}
	var once sync.Once
	var ips []string
	data["cloudflare_ips"] = jinja.Lazy(func() any {
		once.Do(func() {
			var err error
			if ips, err = CloudflareIPs(ctx, opts.HTTPClient, CloudflareURLs); err != nil {
				ips = EmbeddedCloudflareIPs()
				if opts.Warnings != nil {
					fmt.Fprintf(opts.Warnings, "warning: cloudflare_ips: %v; using the %d ranges embedded in this version instead\n", err, len(ips))
				}
			}
		})
		return ips
	})
	return data, nil
}
