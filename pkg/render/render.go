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
// Templates include, import and extend others by their path relative to
// that folder ({% include 'proxy/labels.j2' %}); a file meant only for
// that should not end in .j2, or it is rendered on its own too.
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
// Outside a stack, [String] renders one template, and a [Loader] renders
// templates that load others from an [io/fs.FS].
//
// # Jinja fidelity
//
// Output is byte-identical to Jinja2's (3.1, the reference) with
// trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False (one
// trailing newline of the template is dropped), StrictUndefined and the
// other defaults. The template is lexed with Jinja's whitespace rules and
// parsed with Jinja's grammar; its statements become custom pongo2 tags and
// its expressions evaluate with Python's semantics (see internal/jinja).
// Two differential tests compare bytes with Jinja2: a corpus of templates
// (testdata/jinja), and a fuzzer rendering thousands of random templates
// over everything below (fuzz_test.go).
//
// # Support table
//
//	construct                                      supported
//	{{ … }}  {% … %}  {# … #}, "-" and "+" control  yes
//	{% raw %}, {% print %}                          yes
//	{% if %} {% elif %} {% else %}                  yes
//	{% for %}: tuple and (parenthesised) targets,   yes, loop.index, index0, revindex, revindex0,
//	  else, loop filters (for … if …), recursive    first, last, length, depth, depth0, previtem,
//	                                                nextitem, cycle(), changed(), loop(…)
//	{% set x = … %}, {% set a, b = … %}             yes, with Jinja's scoping: a set inside a loop,
//	                                                macro, block or {% with %} stays there
//	{% set ns.x = … %} with namespace()             yes
//	{% set x %}…{% endset %}, {% set x | f %}       yes
//	{% filter f(args) | g %}…{% endfilter %}        yes
//	{% macro %}, {% call %}, caller(…)              yes, defaults, varargs, kwargs, m.name,
//	                                                m.arguments, m.catch_varargs…
//	{% with a = … %}                                yes
//	{% block %} (scoped, required), self.name()     yes; a template without {% extends %} renders
//	                                                its blocks in place
//	{% extends %}, super()                          yes
//	{% include %} (ignore missing, lists of names,  yes
//	  with/without context)
//	{% import … as m %}, {% from … import … %}      yes, without context unless "with context",
//	                                                as in Jinja: imported macros don't see env
//	{% autoescape false %}                          yes (autoescaping is off anyway)
//	{% autoescape true %}                           no, an error when it runs: HTML escaping has no
//	                                                use for config files
//	{% do %} {% break %} {% continue %} {% trans %}  no: Jinja2 extensions, off by default there too
//	line statements, custom delimiters              no: not enabled in the reference
//	literals: strings (Python escapes but \N{…}),   yes
//	  ints (0x/0o/0b, _), floats, true/false/none,
//	  lists, tuples, dicts
//	x.attr, x['key'], x[1:2:-1], x['a', 'b'],       yes, attribute then item as Jinja (env.X, d.keys)
//	  calls with *args/**kwargs
//	+ - * / // % ** ~, "str" % args, and or not,    yes, Python semantics: 2 * 'ab', 1 < x < 3,
//	  == != < <= > >= (chained), in, not in,        'a' + 'b', [1] + [2], dicts keep insertion
//	  x if c else y                                 order
//	globals: range, dict, namespace, cycler, joiner yes; range() prints as range(0, 3)
//	global lipsum                                   no: random text
//	every builtin filter of Jinja2 3.1: abs attr    yes; random picks at random (so output is
//	  batch capitalize center count d default       not reproducible by nature); attr only sees
//	  dictsort e escape filesizeformat first float  the attributes templates have (methods,
//	  forceescape format groupby indent int items   loop, macro and namespace attributes)
//	  join last length list lower map max min
//	  pprint random reject rejectattr replace
//	  reverse round safe select selectattr slice
//	  sort string striptags sum title tojson trim
//	  truncate unique upper urlencode urlize
//	  wordcount wordwrap xmlattr
//	every builtin test: boolean callable defined    yes; sameas is Python's `is` for None,
//	  divisibleby eq/equalto/== escaped even false  booleans, small ints and the same list or
//	  filter float ge/>= gt/greaterthan/> in        dict, false otherwise
//	  integer iterable le/<= lower lt/lessthan/<
//	  mapping ne/!= none number odd sameas
//	  sequence string test true undefined upper
//	str methods: capitalize casefold center count   yes (format: Python's format mini-language
//	  endswith expandtabs find format format_map    for str, int and float)
//	  index is* join ljust lower lstrip partition
//	  removeprefix removesuffix replace rfind
//	  rindex rjust rpartition rsplit rstrip split
//	  splitlines startswith strip swapcase title
//	  upper zfill
//	list: append clear copy count extend index      yes (sort without key=)
//	  insert pop remove reverse sort; tuple: count
//	  index; dict: clear copy get items keys pop
//	  popitem setdefault update values
//	other Python methods and attributes (str.encode, no: templates only hold the values above
//	  bytes, sets, objects)
//
// Documented differences, where Jinja2 would render and this package fails
// or renders otherwise (the fuzzer skips or avoids them):
//   - an unknown filter or test is a syntax error even in a branch never
//     taken (Jinja2 fails only when it runs);
//   - an unclosed {# at the very end of a template is an error (Jinja2
//     ignores it);
//   - ints are 64-bit: an overflow is an error where Python's ints grow;
//     range() stops at 1,048,576 items and repetition ('ab' * n) at 4 MiB;
//     a negative number to a fractional power (a complex number) is an
//     error;
//   - Jinja2 3.1.2 writes the output of {% include … without context %}
//     placed in a macro, a call, filter or set block or a recursive loop
//     outside of it (and such a macro returns a generator): a bug, so here
//     it renders in place;
//   - Go maps given as data (Options.Env, Execute's data) iterate in sorted
//     key order, having none of their own;
//   - upper/lower/title follow Go's Unicode case tables (plus ß → SS), which
//     Python's special cases beyond ß may not;
//   - Jinja2 evaluates constant expressions while compiling; where that
//     fails ([]|first used as a dict key or with ~, say), it refuses the
//     whole template, even if the expression never runs: here it fails
//     only when it runs;
//   - error messages are this package's own, naming the file and line.
//
// # Strictness
//
// Printing, testing the truth of, iterating, comparing or computing with an
// undefined variable, or reading one of its attributes, is an error naming
// the file, line and variable (`default(…)` and `is defined` still work).
// Other errors name the file, line and column of the tag that failed;
// syntax errors the file, line and column of the offending token. What
// Jinja2 accepts when parsing is accepted here too, even in a branch never
// taken (but unknown filters and tests, see above).
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

// outputPath is the path a template renders to: its own path minus .j2.
func outputPath(template string) string { return strings.TrimSuffix(template, ".j2") }

// Result is what Tree did, paths relative to Options.Root, sorted.
type Result struct {
	// Outputs are every rendered file.
	Outputs []string
	// Written are the outputs whose content or mode changed: the others
	// were left untouched, mtime included.
	Written []string
}

// Tree renders every template below opts.Dir and writes the outputs that
// changed.
func Tree(ctx context.Context, opts Options) (Result, error) {
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
		return Result{}, err
	}
	outputs := make([]string, len(templates))
	for i, t := range templates {
		outputs[i] = outputPath(t)
	}
	if err := checkUntracked(ctx, opts.Runner, opts.Root, outputs); err != nil {
		return Result{}, err
	}

	data, err := opts.context(ctx)
	if err != nil {
		return Result{}, err
	}
	sources := make([][]byte, len(templates))
	modes := make([]fs.FileMode, len(templates))
	for i, name := range templates {
		path := filepath.Join(opts.Root, name)
		if sources[i], err = os.ReadFile(path); err != nil {
			return Result{}, fmt.Errorf("read template: %w", err)
		}
		st, err := os.Stat(path)
		if err != nil {
			return Result{}, err
		}
		modes[i] = st.Mode().Perm()
	}
	env := jinja.NewEnv(os.DirFS(filepath.Join(opts.Root, opts.Dir)), filepath.ToSlash(opts.Dir))
	results, err := renderAll(env, templates, sources, data)
	if err != nil {
		return Result{}, err
	}

	res := Result{Outputs: outputs}
	for i, out := range outputs {
		wrote, err := writeIfChanged(filepath.Join(opts.Root, out), results[i], modes[i])
		if err != nil {
			return res, err
		}
		if wrote {
			res.Written = append(res.Written, out)
		}
	}
	if !opts.SkipGitignore {
		if err := updateGitignore(opts.Root, outputs); err != nil {
			return res, err
		}
	}
	return res, nil
}

// writeIfChanged replaces name atomically unless it already holds data with
// mode perm: an unchanged output keeps its mtime (so uploads skip it) and
// costs one read instead of a write and a rename. Rendered files can always
// be rendered again, so they are not fsynced.
func writeIfChanged(name string, data []byte, perm fs.FileMode) (bool, error) {
	if st, err := os.Stat(name); err == nil && st.Mode().Perm() == perm && st.Size() == int64(len(data)) {
		if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, data) {
			return false, nil
		}
	}
	return true, atomicfile.WriteFileUnsynced(name, data, perm)
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
