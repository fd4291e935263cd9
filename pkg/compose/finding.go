package compose

import "fmt"

// Severity tells whether a lint finding fails the run.
type Severity string

const (
	// Error findings make lint, check-config and deploy exit non-zero.
	Error Severity = "error"
	// Warning findings are printed and do not fail.
	Warning Severity = "warning"
)

// Finding is one lint result: which compose file and service, what is wrong,
// and how to fix it. It prints as one line.
type Finding struct {
	Severity Severity
	File     string // compose file (or template, .env.example, ...) the finding is about
	Service  string // empty for stack-wide findings
	Message  string // what is missing or wrong
	Fix      string // what to write to fix it
}

func (f Finding) String() string {
	where := f.File
	if f.Service != "" {
		where += ": service " + f.Service
	}
	return fmt.Sprintf("%s: %s: %s (fix: %s)", f.Severity, where, f.Message, f.Fix)
}
