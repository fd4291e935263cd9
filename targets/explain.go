package targets

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/selfhosted-go/selfhosted/internal/confirm"
	"github.com/selfhosted-go/selfhosted/internal/quietpipe"
	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/converge"
	"github.com/selfhosted-go/selfhosted/pkg/git"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/run"
	"github.com/selfhosted-go/selfhosted/pkg/secrets"
	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

// The library returns typed errors carrying the facts; here they become
// one line with the fix, in this command line's words.

// onServer is "SERVER=vps " when SERVER is set, to repeat in advice.
func onServer() string {
	if s := variable("SERVER"); s != "" {
		return "SERVER=" + s + " "
	}
	return ""
}

func fatal(format string, args ...any) error { return mg.Fatalf(1, format, args...) }

// explain maps err to its message and exit code.
func explain(err error) error {
	if err == nil {
		return nil
	}
	var coded interface{ ExitStatus() int }
	if errors.As(err, &coded) && !isRunExit(err) {
		return err // already explained
	}
	srv := onServer()
	if e := explainBackup(err, srv); e != nil {
		return e
	}
	var (
		lockErr       *remote.LockError
		noStack       *remote.NoStackError
		space         *remote.SpaceError
		changed       *remote.ChangedError
		unknownHost   *remote.UnknownHostError
		noConfig      *remote.MissingConfigError
		unknownRel    *remote.UnknownReleaseError
		dirty         *git.DirtyError
		failed        *stack.FailedError
		unhealthy     *converge.UnhealthyError
		noPrevious    *stack.NoPreviousReleaseError
		lintErr       *stack.LintError
		needsServer   *stack.NeedsServerError
		noBackups     *stack.NoBackupServiceError
		unknownSvc    *stack.UnknownServiceError
		noFiles       *compose.NoComposeFilesError
		noName        *compose.MissingProjectNameError
		noContainers  *compose.NoContainersError
		exitErr       *run.ExitError
		missingPlugin *compose.MissingPluginError
		missingImages *compose.MissingImagesError
		notIgnored    *secrets.NotIgnoredError
	)
	switch {
	case errors.As(err, &lockErr):
		if lockErr.Stale() {
			return fatal("%v: if no deploy is running, break it with `%sgo tool mage ssh-command COMMAND='pkill -f \"flock .*%s.lock\"'`", err, srv, lastElem(lockErr.Dir))
		}
		return fatal("%v; wait for it to finish and try again", err)
	case errors.As(err, &noStack):
		return fatal("%v: deploy it first with `%sgo tool mage deploy`", err, srv)
	case errors.As(err, &space):
		return fatal("%v: free some space on the server (`%sgo tool mage prune` removes unused Docker data), then try again", err, srv)
	case errors.As(err, &changed):
		return fatal("%v: run it again once the file is saved", err)
	case errors.As(err, &unknownHost):
		return fatal("SERVER=%s: %v: add a `Host %s` block with its HostName and User to %s, or fix SERVER", unknownHost.Alias, err, unknownHost.Alias, unknownHost.Config)
	case errors.As(err, &noConfig):
		return fatal("SSH_CONFIG=%s: %v: point SSH_CONFIG at an existing file, or unset it for ~/.ssh/config", noConfig.Path, err)
	case errors.As(err, &unknownRel), errors.As(err, &noPrevious):
		return fatal("%v: `%sgo tool mage releases` lists them", err, srv)
	case errors.As(err, &dirty):
		return fatal("%v\ncommit or stash them first (ALLOW_DIRTY=1 deploys them anyway)", err)
	case errors.As(err, &failed):
		return fatal("%v%s\nfix it and deploy again; `%sgo tool mage releases` lists the releases", err, logsOf(err), srv)
	case errors.As(err, &unhealthy):
		return fatal("%v%s", err, logsOf(err))
	case errors.As(err, &lintErr):
		return fatal("%v: fix them, or accept them for now with `go tool mage lint-baseline` and a reason each", err)
	case errors.As(err, &needsServer):
		return mg.Fatalf(2, "%v: SERVER=vps go tool mage %s (vps: a Host of ~/.ssh/config)", err, needsServer.Verb)
	case errors.As(err, &noBackups):
		return fatal("%v: add the backup service (see services/backup in selfhosted's example stack)", err)
	case errors.As(err, &unknownSvc):
		return mg.Fatalf(2, "SERVICE=%s: the stack has no such service; its services: %s", unknownSvc.Service, strings.Join(unknownSvc.Services, ", "))
	case errors.As(err, &noFiles):
		return fatal("%v: run this in a stack repository (or `go tool mage render` first if its compose files are templates)", err)
	case errors.As(err, &noName) && noName.NoFile:
		return fatal("%v: `go tool mage secrets` creates it from .env.example (or `go tool mage up` does, then starts the stack)", err)
	case errors.As(err, &noName):
		return fatal("%v: add it to .env, e.g. COMPOSE_PROJECT_NAME=selfhosted (`go tool mage secrets` creates .env from .env.example)", err)
	case errors.As(err, &noContainers):
		if noContainers.Service != "" {
			return fatal("%v: start it with `%sSERVICE=%s go tool mage up`", err, srv, noContainers.Service)
		}
		return fatal("%v: start it with `%sgo tool mage up`", err, srv)
	case errors.Is(err, confirm.ErrDeclined), errors.Is(err, stack.ErrNotConfirmed):
		return fatal("%v", err)
	case errors.As(err, &missingPlugin):
		return fatal("%v: install it there (Debian/Ubuntu: the docker-compose-plugin package from Docker's apt repository; or its binary as ~/.docker/cli-plugins/docker-compose), see https://docs.docker.com/compose/install/linux/", err)
	case errors.As(err, &missingImages):
		return fatal("%v: is a registry reachable from %s (network, DNS, proxy; `docker login` for a private one)? Or build the image there, or copy it: `docker save IMAGE | ssh HOST docker load`%s", err, missingImages.Where, verboseDetail(err))
	case errors.As(err, &notIgnored):
		return fatal("%v", err)
	case errors.As(err, &exitErr):
		if quietpipe.Closed(1) {
			// Whoever read the output (head, less) has stopped, and the
			// command died of it (SIGPIPE, or compose's 255): as `yes |
			// head`, end quietly with the status a shell expects.
			os.Exit(quietpipe.Status)
		}
		// The command printed its own error above; its exit code goes on.
		return mg.Fatalf(exitErr.Code, "%s exited with status %d%s", compose.Verb(exitErr.Command), exitErr.Code, verboseDetail(err))
	}
	msg := err.Error()
	if errors.As(err, &exitErr) && !verbose() {
		// A wrapped command failure: its verb, not its whole command line.
		msg = strings.Replace(msg, exitErr.Error(), fmt.Sprintf("%s exited with status %d", compose.Verb(exitErr.Command), exitErr.Code), 1)
	}
	return mg.Fatal(run.ExitCode(err), msg+verboseDetail(err))
}

// verboseDetail is the whole failed command and the end of its error
// output, in verbose mode only: the short line names the verb.
func verboseDetail(err error) string {
	var exit *run.ExitError
	if !verbose() || !errors.As(err, &exit) {
		return ""
	}
	return "\n  command: " + exit.Command.String() + " (on " + exit.Where + ")" + indentStderr(exit.Stderr)
}

func indentStderr(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "\n  its error output:\n    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func isRunExit(err error) bool {
	var e *run.ExitError
	return errors.As(err, &e)
}

func lastElem(p string) string {
	if i := strings.LastIndex(strings.TrimSuffix(p, "/"), "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

func logsOf(err error) string {
	var unhealthy *converge.UnhealthyError
	if !errors.As(err, &unhealthy) || unhealthy.Logs == "" {
		return ""
	}
	return fmt.Sprintf("\nlast lines of %s's log:\n  %s", unhealthy.Service, strings.ReplaceAll(strings.TrimRight(unhealthy.Logs, "\n"), "\n", "\n  "))
}

// explainBackup turns the backup program's typed failures into the fix.
func explainBackup(err error, srv string) error {
	switch {
	case errors.Is(err, backup.ErrExistingState):
		return fatal("%v: take a backup first if it matters, then `%sFORCE=1 go tool mage restore`", err, srv)
	case errors.Is(err, backup.ErrNoRepository):
		return fatal("%v: create it with `%sgo tool mage init`, or fix RESTIC_REPOSITORY in .env", err, srv)
	case errors.Is(err, backup.ErrWrongPassword):
		return fatal("%v: set the repository's password in .env (RESTIC_PASSWORD)", err)
	case errors.Is(err, backup.ErrUnreachable):
		return fatal("%v: check RESTIC_REPOSITORY and the backend's variables in .env", err)
	case errors.Is(err, backup.ErrLocked):
		return fatal("%v: if no backup is running, `%sgo tool mage unlock` removes stale locks only", err, srv)
	case errors.Is(err, backup.ErrLiveLock):
		return fatal("%v: wait for it to finish (another host's lock: `%sUNLOCK_FOREIGN=1 go tool mage unlock` once it is 2 hours old)", err, srv)
	case errors.Is(err, backup.ErrBusy):
		return fatal("%v: wait for it to finish and try again", err)
	case errors.Is(err, backup.ErrNoSnapshot):
		return fatal("%v: `%sgo tool mage list-snapshots` lists them", err, srv)
	case errors.Is(err, backup.ErrDumpFailed), errors.Is(err, backup.ErrMismatch):
		return fatal("%v", err)
	}
	return nil
}
