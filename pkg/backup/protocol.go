package backup

import (
	"errors"
	"fmt"
	"strings"
)

// The backup container's protocol
//
// The backup program (cmd/selfhosted-backup) runs in the stack's backup
// container: `docker compose run --rm backup <args>`. A [Request] is one
// invocation: the caller builds its arguments with Args, the program reads
// them with ParseRequest. The program's exit status says which kind of
// failure it met (the Exit* codes) and its last line of stderr says the
// facts, so the caller gets a typed error back ([FromExit]) and can say
// what to do about it in its own words.

// Verb is what the backup program does.
type Verb string

// The verbs of the backup program.
const (
	VerbSchedule  Verb = "schedule"  // backups on BACKUP_SCHEDULE (and at start unless BACKUP_ON_START=false)
	VerbOnce      Verb = "once"      // one backup, by hand
	VerbSnapshots Verb = "snapshots" // the snapshots, as a table
	VerbRestore   Verb = "restore"   // restore a snapshot onto an empty state
	VerbDrill     Verb = "drill"     // restore aside, re-hydrate, compare, remove
	VerbUnlock    Verb = "unlock"    // remove restic locks proven stale
	VerbInit      Verb = "init"      // create the repository
	VerbPrune     Verb = "prune"     // forget per BACKUP_KEEP_*, then prune
	VerbCheck     Verb = "check"     // verify the repository, reading Subset of the data
	VerbHealth    Verb = "health"    // exit 0 when restic and the Engine answer
)

// Request is one invocation of the backup program.
type Request struct {
	Verb Verb
	// Snapshot for restore and drill ("latest" when empty).
	Snapshot string
	// Force restores over data; Resume lets automatic backups run right
	// after a restore.
	Force, Resume bool
	// Foreign lets unlock remove other hosts' locks not refreshed for
	// ForeignAge.
	Foreign bool
	// Subset is how much of the data check reads ("5%" when empty).
	Subset string
}

// DefaultCheckSubset is how much of the data `check` reads by default.
const DefaultCheckSubset = "5%"

// Latest names the newest snapshot.
const Latest = "latest"

// Args are the program's arguments for r.
func (r Request) Args() []string {
	args := []string{string(r.Verb)}
	if r.Force {
		args = append(args, "--force")
	}
	if r.Resume {
		args = append(args, "--resume-backups")
	}
	if r.Foreign {
		args = append(args, "--foreign")
	}
	switch r.Verb {
	case VerbRestore, VerbDrill:
		args = append(args, orDefault(r.Snapshot, Latest))
	case VerbCheck:
		args = append(args, orDefault(r.Subset, DefaultCheckSubset))
	}
	return args
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ParseRequest reads the program's arguments.
func ParseRequest(args []string) (Request, error) {
	if len(args) == 0 {
		return Request{}, fmt.Errorf("usage: selfhosted-backup %s", strings.Join(verbNames(), "|"))
	}
	r := Request{Verb: Verb(args[0])}
	if !knownVerb(r.Verb) {
		return r, fmt.Errorf("unknown command %q (one of %s)", args[0], strings.Join(verbNames(), ", "))
	}
	var rest []string
	for _, a := range args[1:] {
		switch a {
		case "--force":
			r.Force = true
		case "--resume-backups":
			r.Resume = true
		case "--foreign":
			r.Foreign = true
		default:
			if strings.HasPrefix(a, "-") {
				return r, fmt.Errorf("%s: unknown option %s", r.Verb, a)
			}
			rest = append(rest, a)
		}
	}
	if len(rest) > 1 {
		return r, fmt.Errorf("%s: one argument at most, got %q", r.Verb, rest)
	}
	switch {
	case r.Verb == VerbRestore || r.Verb == VerbDrill:
		r.Snapshot = Latest
		if len(rest) == 1 {
			r.Snapshot = rest[0]
		}
	case r.Verb == VerbCheck:
		r.Subset = DefaultCheckSubset
		if len(rest) == 1 {
			r.Subset = rest[0]
		}
	case len(rest) > 0:
		return r, fmt.Errorf("%s takes no argument, got %q", r.Verb, rest[0])
	}
	return r, nil
}

var verbs = []Verb{VerbSchedule, VerbOnce, VerbSnapshots, VerbRestore, VerbDrill, VerbUnlock, VerbInit, VerbPrune, VerbCheck, VerbHealth}

func knownVerb(v Verb) bool {
	for _, k := range verbs {
		if k == v {
			return true
		}
	}
	return false
}

func verbNames() []string {
	out := make([]string, len(verbs))
	for i, v := range verbs {
		out[i] = string(v)
	}
	return out
}

// Exit statuses of the backup program, one per kind of failure.
const (
	ExitFailed        = 1
	ExitUsage         = 2
	ExitNoRepository  = 3
	ExitWrongPassword = 4
	ExitUnreachable   = 5
	ExitLocked        = 6
	ExitExistingState = 7
	ExitBusy          = 8
	ExitNoSnapshot    = 9
	ExitDumpFailed    = 10
	ExitLiveLock      = 11
	ExitMismatch      = 12
)

// Sentinels the caller's errors match with errors.Is.
var (
	ErrExistingState = errors.New("the project's volumes hold data")
	ErrBusy          = errors.New("another backup run holds the lock")
	ErrNoSnapshot    = errors.New("there is no such snapshot")
	ErrDumpFailed    = errors.New("a dump failed")
	ErrLiveLock      = errors.New("a restic lock is held by a live process")
	ErrMismatch      = errors.New("the snapshot does not restore what was backed up")
)

var codes = []struct {
	code int
	err  error
}{
	{ExitNoRepository, ErrNoRepository}, {ExitWrongPassword, ErrWrongPassword}, {ExitUnreachable, ErrUnreachable},
	{ExitLocked, ErrLocked}, {ExitExistingState, ErrExistingState}, {ExitBusy, ErrBusy}, {ExitNoSnapshot, ErrNoSnapshot},
	{ExitDumpFailed, ErrDumpFailed}, {ExitLiveLock, ErrLiveLock}, {ExitMismatch, ErrMismatch},
}

// Is makes the typed errors match their sentinels.
func (e *ExistingStateError) Is(target error) bool { return target == ErrExistingState }
func (e *BusyError) Is(target error) bool          { return target == ErrBusy }
func (e *NoSnapshotError) Is(target error) bool    { return target == ErrNoSnapshot }
func (e *DumpError) Is(target error) bool          { return target == ErrDumpFailed }
func (e *LiveLockError) Is(target error) bool      { return target == ErrLiveLock }
func (e *DrillMismatchError) Is(target error) bool { return target == ErrMismatch }

// ExitCode is the program's exit status for err.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ExitFailed
}

// ProgramError is the backup program's failure, as its caller sees it: the
// kind from its exit status, the facts from its message.
type ProgramError struct {
	Code    int
	Message string
}

func (e *ProgramError) Error() string { return e.Message }

// Is matches the sentinel of the program's exit status.
func (e *ProgramError) Is(target error) bool {
	for _, c := range codes {
		if c.code == e.Code && c.err == target {
			return true
		}
	}
	return false
}

// ErrorPrefix starts the program's last line of stderr on failure.
const ErrorPrefix = "selfhosted-backup: "

// FromExit turns the program's exit status and stderr into its error.
func FromExit(code int, stderr string) error {
	msg := ""
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), ErrorPrefix); ok {
			msg = m
		}
	}
	if msg == "" {
		msg = fmt.Sprintf("the backup program exited with status %d", code)
		if tail := lastLines(stderr, 1); tail != "" {
			msg += ": " + tail
		}
	}
	return &ProgramError{Code: code, Message: msg}
}
