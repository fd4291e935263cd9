package compose

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
)

// A baseline lets a stack adopt the linter step by step, like
// golangci-lint's: the errors it has today are written to BaselineFile,
// each with a reason to fill in, and lint then fails only on errors not
// listed there. Entries match findings by rule, file, service and subject
// (Finding.Key), never by message.

// BaselineFile, committed at a stack's root, lists the findings it accepts
// for now: tab-separated rule, file, service, subject and reason; lines
// starting with # are comments.
const BaselineFile = ".lint-baseline.tsv"

// BaselineTODO is the reason of an entry nobody has explained yet.
const BaselineTODO = "TODO"

// BaselineEntry is one accepted finding.
type BaselineEntry struct {
	Rule, File, Service, Subject string
	// Reason says why the finding is accepted (BaselineTODO until written).
	Reason string
	// Line is the entry's line in BaselineFile (0 when not read from it).
	Line int
}

// Key is the Finding.Key of the findings the entry accepts.
func (e BaselineEntry) Key() string {
	return e.Rule + "\t" + e.File + "\t" + e.Service + "\t" + e.Subject
}

func (e BaselineEntry) String() string {
	where := e.File
	if e.Service != "" {
		where += ": service " + e.Service
	}
	if e.Subject != "" {
		where += ": " + e.Subject
	}
	return e.Rule + " in " + where
}

// ReadBaseline reads root's BaselineFile; a missing file is an empty baseline.
func ReadBaseline(root string) ([]BaselineEntry, error) {
	data, err := os.ReadFile(filepath.Join(root, BaselineFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the lint baseline: %w", err)
	}
	var out []BaselineEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 5)
		if len(f) < 4 {
			return nil, fmt.Errorf("%s:%d: want tab-separated rule, file, service, subject and reason, got %q", BaselineFile, n, line)
		}
		e := BaselineEntry{Rule: f[0], File: f[1], Service: f[2], Subject: f[3], Line: n}
		if len(f) == 5 {
			e.Reason = strings.TrimSpace(f[4])
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// BaselineUpdate is what WriteBaseline did.
type BaselineUpdate struct {
	// Entries were written, sorted; those already in the baseline kept their reason.
	Entries []BaselineEntry
	// Dropped were in the baseline and no longer occur.
	Dropped []BaselineEntry
}

// WriteBaseline lints s and writes its errors (the findings that fail a
// run, strict mode applied) to its BaselineFile, keeping the reasons of
// entries that still occur. Warnings are not written: they fail nothing
// and stay visible.
func WriteBaseline(s *Stack) (BaselineUpdate, error) {
	old, err := ReadBaseline(s.Root)
	if err != nil {
		return BaselineUpdate{}, err
	}
	reasons := map[string]string{}
	for _, e := range old {
		reasons[e.Key()] = e.Reason
	}
	var up BaselineUpdate
	messages := map[string]string{}
	for _, f := range Lint(s) {
		if f.Severity != Error {
			continue
		}
		if _, dup := messages[f.Key()]; dup {
			continue
		}
		messages[f.Key()] = f.Message
		reason, ok := reasons[f.Key()]
		if !ok || reason == "" {
			reason = BaselineTODO
		}
		up.Entries = append(up.Entries, BaselineEntry{Rule: f.Rule, File: f.File, Service: f.Service, Subject: f.Subject, Reason: reason})
	}
	sort.Slice(up.Entries, func(i, j int) bool {
		a, b := up.Entries[i], up.Entries[j]
		return lessStrings([]string{a.File, a.Service, a.Rule, a.Subject}, []string{b.File, b.Service, b.Rule, b.Subject})
	})
	for _, e := range old {
		if _, ok := messages[e.Key()]; !ok {
			up.Dropped = append(up.Dropped, e)
		}
	}
	var buf bytes.Buffer
	buf.WriteString(`# Lint baseline: errors of the stack linter this stack accepts for now.
# Lint fails only on errors not listed here, and reports entries that no longer occur.
# Tab-separated: rule, file, service, subject, reason. Replace each TODO with why the
# finding is accepted (and until when). Entries match findings by these columns, never
# by message: the comment above an entry is the message when it was written.
# rule	file	service	subject	reason
`)
	line := bytes.Count(buf.Bytes(), []byte("\n"))
	for i, e := range up.Entries {
		if strings.ContainsAny(e.Key()+e.Reason, "\n") {
			return BaselineUpdate{}, fmt.Errorf("baseline entry %s: a field contains a line break", e)
		}
		fmt.Fprintf(&buf, "# %s\n%s\t%s\n", strings.ReplaceAll(messages[e.Key()], "\n", " "), e.Key(), e.Reason)
		line += 2
		up.Entries[i].Line = line
	}
	if err := atomicfile.WriteFile(filepath.Join(s.Root, BaselineFile), buf.Bytes(), 0o644); err != nil {
		return BaselineUpdate{}, fmt.Errorf("write the lint baseline: %w", err)
	}
	return up, nil
}

func lessStrings(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Report is a lint run measured against the stack's baseline.
type Report struct {
	// Services is the number of services linted.
	Services int
	// Strict is the stack's strict mode (LintConfigFile).
	Strict bool
	// Findings are not in the baseline: their errors fail the run.
	Findings []Finding
	// Accepted are findings the baseline lists.
	Accepted []Finding
	// Stale are baseline entries no finding matches any more.
	Stale []BaselineEntry
	// Unexplained counts the baseline entries still without a reason.
	Unexplained int
}

// LintWithBaseline lints s and sets apart the findings its BaselineFile
// accepts.
func LintWithBaseline(s *Stack) (Report, error) {
	entries, err := ReadBaseline(s.Root)
	if err != nil {
		return Report{}, err
	}
	cfg, _ := ReadLintConfig(s.Root) // Lint reports a broken configuration as a finding
	r := Report{Services: len(s.Model.Services) + len(s.Model.DisabledServices), Strict: cfg.Strict}
	accepted := map[string]bool{}
	for _, e := range entries {
		accepted[e.Key()] = true
		if e.Reason == "" || e.Reason == BaselineTODO {
			r.Unexplained++
		}
	}
	seen := map[string]bool{}
	for _, f := range Lint(s) {
		seen[f.Key()] = true
		if accepted[f.Key()] {
			r.Accepted = append(r.Accepted, f)
		} else {
			r.Findings = append(r.Findings, f)
		}
	}
	for _, e := range entries {
		if !seen[e.Key()] {
			r.Stale = append(r.Stale, e)
		}
	}
	return r, nil
}

// Failed reports whether the run fails: an error the baseline doesn't accept.
func (r Report) Failed() bool { return HasErrors(r.Findings) }

// Count returns the number of findings of severity sev not in the baseline.
func (r Report) Count(sev Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == sev {
			n++
		}
	}
	return n
}

// Print writes the findings not in the baseline, one a line, then the
// stale baseline entries, then a summary line.
func (r Report) Print(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(f.String() + "\n")
	}
	for _, e := range r.Stale {
		fmt.Fprintf(&b, "baseline: %s:%d: %s no longer occurs (fix: remove the line)\n", BaselineFile, e.Line, e)
	}
	mode := "strict mode off"
	if r.Strict {
		mode = "strict mode on"
	}
	fmt.Fprintf(&b, "lint: %d service(s), %d error(s), %d warning(s), %s", r.Services, r.Count(Error), r.Count(Warning), mode)
	if len(r.Accepted) > 0 || r.Unexplained > 0 {
		fmt.Fprintf(&b, "; %d finding(s) accepted by %s", len(r.Accepted), BaselineFile)
		if r.Unexplained > 0 {
			fmt.Fprintf(&b, " (%d of its entries without a reason)", r.Unexplained)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
