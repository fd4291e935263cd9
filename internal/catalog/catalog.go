// Package catalog describes the command line: every target with the
// Makefile's name, what it does, the variables it reads and an example, and
// every variable with its default. The Mage front (cmd/mage) prints help and
// the listing from it without compiling or running anything; the targets
// print the same help when run directly. It imports nothing but the
// standard library, so the front stays small and quick to start.
package catalog

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Target is one target of the command line.
type Target struct {
	Name    string // the Makefile's name: list-snapshots
	Func    string // the Go function Mage knows it by: ListSnapshots
	Group   string
	Summary string
	Vars    []string // the variables it reads
	Example string
	// Dangerous targets delete or replace data; their help says so.
	Dangerous bool
}

// Variable is one variable targets read.
type Variable struct {
	Name, Default, Meaning string
}

// Groups order the listing.
var Groups = []string{"Stack", "Server", "Backups", "Configuration", "Repository", "Development"}

// Targets are the stack's targets, from package targets, and this
// repository's development targets.
var Targets = []Target{
	{"up", "Up", "Stack", "render, then start the stack (or SERVICE) in the background; on SERVER, converge the containers to the current release", []string{"SERVER", "DIR", "SERVICE"}, "go tool mage up", false},
	{"restart", "Restart", "Stack", "restart SERVICE's containers only (all when unset)", []string{"SERVER", "DIR", "SERVICE"}, "SERVICE=mariadb go tool mage restart", false},
	{"restart-hard", "RestartHard", "Stack", "recreate SERVICE's containers and their anonymous volumes", []string{"SERVER", "DIR", "SERVICE"}, "SERVICE=whoami go tool mage restart-hard", true},
	{"down", "Down", "Stack", "stop and remove SERVICE's containers (the whole stack's when unset; volumes kept)", []string{"SERVER", "DIR", "SERVICE"}, "SERVICE=whoami go tool mage down", false},
	{"down-everything", "DownEverything", "Stack", "remove the whole stack AND ITS VOLUMES, after a typed yes", []string{"SERVER", "DIR", "CONFIRM"}, "go tool mage down-everything", true},
	{"rm", "Rm", "Stack", "remove SERVICE's stopped containers", []string{"SERVER", "DIR", "SERVICE"}, "SERVICE=whoami go tool mage rm", false},
	{"rm-hard", "RmHard", "Stack", "remove SERVICE's stopped containers with their anonymous volumes", []string{"SERVER", "DIR", "SERVICE"}, "SERVICE=whoami go tool mage rm-hard", true},
	{"prune", "Prune", "Stack", "remove unused Docker data (containers labelled com.docker.keep-container=true are kept)", []string{"SERVER", "DIR"}, "SERVER=vps go tool mage prune", false},
	{"pull", "Pull", "Stack", "pull the images of the stack (or SERVICE)", []string{"SERVER", "DIR", "SERVICE"}, "go tool mage pull", false},
	{"exec", "Exec", "Stack", "run COMMAND in SERVICE's running container; exit with its status", []string{"SERVER", "DIR", "SERVICE", "COMMAND"}, "SERVICE=mariadb COMMAND='mariadb -uroot -p' go tool mage exec", false},
	{"run", "Run", "Stack", "run COMMAND in a new container of SERVICE, removed afterwards; exit with its status", []string{"SERVER", "DIR", "SERVICE", "COMMAND"}, "SERVICE=redis COMMAND='redis-cli --version' go tool mage run", false},
	{"sh", "Sh", "Stack", "open a shell in SERVICE's running container", []string{"SERVER", "DIR", "SERVICE"}, "SERVICE=redis go tool mage sh", false},
	{"logs", "Logs", "Stack", "follow the logs of the stack (or SERVICE)", []string{"SERVER", "DIR", "SERVICE"}, "SERVICE=authelia go tool mage logs", false},
	{"volumes", "Volumes", "Stack", "list the mounts of SERVICE's containers (all when unset)", []string{"SERVER", "DIR", "SERVICE"}, "SERVICE=mariadb go tool mage volumes", false},
	{"ports", "Ports", "Stack", "list the stack's containers and the ports they publish", []string{"SERVER", "DIR"}, "go tool mage ports", false},
	{"mem", "Mem", "Stack", "show the memory use of the stack's containers", []string{"SERVER", "DIR"}, "go tool mage mem", false},

	{"deploy", "Deploy", "Server", "check the stack, upload it to SERVER as a new release, converge the changed services, wait until healthy, roll back if not", []string{"SERVER", "DIR", "ALLOW_DIRTY", "DRY_RUN", "DEPLOY_TIMEOUT", "SSH_CONFIG", "SELFHOSTED_TRACE"}, "SERVER=vps go tool mage deploy", false},
	{"push-files", "PushFiles", "Server", "upload the tree to DIR on SERVER as a new release, containers untouched", []string{"SERVER", "DIR", "DRY_RUN", "SSH_CONFIG", "SELFHOSTED_TRACE"}, "DRY_RUN=1 SERVER=vps go tool mage push-files", false},
	{"releases", "Releases", "Server", "list the releases on SERVER: id, time, who, git commit, current, failed", []string{"SERVER", "DIR", "SSH_CONFIG"}, "SERVER=vps go tool mage releases", false},
	{"rollback", "Rollback", "Server", "return SERVER to the previous release (RELEASE for another), converging the services", []string{"SERVER", "DIR", "RELEASE", "DEPLOY_TIMEOUT", "SSH_CONFIG"}, "SERVER=vps go tool mage rollback", false},
	{"ssh", "SSH", "Server", "open a login shell on SERVER, in DIR", []string{"SERVER", "DIR", "SSH_CONFIG"}, "SERVER=vps go tool mage ssh", false},
	{"ssh-command", "SSHCommand", "Server", "run COMMAND in DIR on SERVER; exit with its status", []string{"SERVER", "DIR", "COMMAND", "SSH_CONFIG"}, "SERVER=vps COMMAND='df -h' go tool mage ssh-command", false},
	{"server", "Server", "Server", "print how SERVER resolves through the ssh config, as `ssh -G` does", []string{"SERVER", "SSH_CONFIG"}, "SERVER=vps go tool mage server", false},

	{"backup", "Backup", "Backups", "dump every database, then snapshot the project's volumes, once, in the backup container", []string{"SERVER", "DIR"}, "SERVER=vps go tool mage backup", false},
	{"list-snapshots", "ListSnapshots", "Backups", "list the restic snapshots: id, time, size, tags", []string{"SERVER", "DIR"}, "SERVER=vps go tool mage list-snapshots", false},
	{"restore", "Restore", "Backups", "restore SNAPSHOT onto an empty state and re-hydrate the databases, after a typed yes", []string{"SERVER", "DIR", "SNAPSHOT", "CONFIRM", "FORCE", "RESUME_BACKUPS"}, "SERVER=vps SNAPSHOT=4f2a91c0 go tool mage restore", true},
	{"restore-drill", "RestoreDrill", "Backups", "restore SNAPSHOT into a throw-away project, compare what it holds with what was counted, remove it", []string{"SERVER", "DIR", "SNAPSHOT"}, "SERVER=vps go tool mage restore-drill", false},
	{"unlock", "Unlock", "Backups", "remove restic locks proven stale by their process", []string{"SERVER", "DIR", "UNLOCK_FOREIGN"}, "SERVER=vps go tool mage unlock", false},
	{"init", "Init", "Backups", "create the restic repository", []string{"SERVER", "DIR"}, "SERVER=vps go tool mage init", false},
	{"backup-prune", "BackupPrune", "Backups", "forget snapshots beyond BACKUP_KEEP_* and prune the repository", []string{"SERVER", "DIR"}, "SERVER=vps go tool mage backup-prune", true},
	{"check", "Check", "Backups", "verify the restic repository, reading CHECK_SUBSET of the data", []string{"SERVER", "DIR", "CHECK_SUBSET"}, "SERVER=vps CHECK_SUBSET=10% go tool mage check", false},

	{"render", "Render", "Configuration", "render every services/**/*.j2 to the same path minus .j2", []string{"CLOUDFLARE_IPS"}, "go tool mage render", false},
	{"lint", "Lint", "Configuration", "render, then check every service against the stack's checklists", nil, "go tool mage lint", false},
	{"check-config", "CheckConfig", "Configuration", "render, validate the merged compose files, then lint", nil, "go tool mage check-config", false},
	{"lint-baseline", "LintBaseline", "Configuration", "write the current lint errors to .lint-baseline.tsv: lint then fails only on new ones", nil, "go tool mage lint-baseline", false},
	{"env-example", "EnvExample", "Configuration", "add every variable the stack reads to .env.example", nil, "go tool mage env-example", false},
	{"secrets", "Secrets", "Configuration", "generate the secrets .env.example marks into .env, never overwriting", nil, "go tool mage secrets", false},
	{"hooks", "Hooks", "Configuration", "install the git hooks: gitleaks on staged changes, gofmt, go vet", nil, "go tool mage hooks", false},

	{"tracked", "Tracked", "Repository", "list the files tracked on the current branch", nil, "go tool mage tracked", false},
	{"git-check", "GitCheck", "Repository", "fail when the working tree has uncommitted changes, naming them", nil, "go tool mage git-check", false},
	{"git-pull", "GitPull", "Repository", "pull the current branch, submodules included", nil, "go tool mage git-pull", false},
	{"git-push", "GitPush", "Repository", "check for uncommitted changes, then push the current branch", nil, "go tool mage git-push", false},
	{"test", "Test", "Repository", "run every Go test of the repository, unit and integration", []string{"OPTIONS"}, "OPTIONS='-run TestLint' go tool mage test", false},
	{"test-unit", "TestUnit", "Repository", "run the unit tests only (not named TestIntegration…)", []string{"OPTIONS"}, "go tool mage test-unit", false},
	{"test-integration", "TestIntegration", "Repository", "run the integration tests only (named TestIntegration…)", []string{"OPTIONS"}, "go tool mage test-integration", false},

	{"testenv", "Testenv", "Development", "provision what the integration tests need (Compose v2, test image, sshd, restic, Jinja2)", nil, "go tool mage testenv", false},
	{"bench-render", "BenchRender", "Development", "compare `go tool mage render` with a plain Python Jinja2 process", nil, "go tool mage bench-render", false},
	{"bench-upload", "BenchUpload", "Development", "compare push-files and a no-op deploy with rsync and ssh over the loopback sshd", []string{"LATENCY", "RUNS", "BENCH_USER"}, "LATENCY=40ms go tool mage bench-upload", false},
	{"bench-backup", "BenchBackup", "Development", "compare backup and restore with the same steps by hand", []string{"BENCH_MB", "RUNS"}, "BENCH_MB=100 go tool mage bench-backup", false},
	{"bench-startup", "BenchStartup", "Development", "time `go tool mage` from start to the target's own work", []string{"RUNS"}, "go tool mage bench-startup", false},
}

// Variables are every variable a target reads.
var Variables = []Variable{
	{"SERVER", "unset: this machine", "a Host of ~/.ssh/config to run on"},
	{"DIR", "~/selfhosted", "the stack's folder on SERVER"},
	{"SERVICE", "unset: all, where that makes sense", "one compose service"},
	{"COMMAND", "", "the command to run, as shell words"},
	{"SNAPSHOT", "latest", "a restic snapshot id (list-snapshots lists them)"},
	{"CONFIRM", "", "yes answers the confirmation (for scripts)"},
	{"FORCE", "", "1 restores on top of existing data"},
	{"RESUME_BACKUPS", "", "1 lets automatic backups run right after a restore"},
	{"UNLOCK_FOREIGN", "", "1 also removes another host's restic locks unrefreshed for two hours"},
	{"CHECK_SUBSET", "5%", "how much of the data restic check reads"},
	{"ALLOW_DIRTY", "", "1 deploys uncommitted changes"},
	{"DRY_RUN", "", "1 prints the plan, changing nothing"},
	{"DEPLOY_TIMEOUT", "5m", "how long changed services get to become healthy"},
	{"RELEASE", "the previous release", "the release rollback returns to"},
	{"CLOUDFLARE_IPS", "fetched (embedded list offline)", "comma-separated ranges for templates' cloudflare_ips"},
	{"SSH_CONFIG", "~/.ssh/config", "another ssh config file"},
	{"SELFHOSTED_TRACE", "", "1 prints each phase's time and round trips to the server"},
	{"SELFHOSTED_VERBOSE", "", "1 (or mage -v) shows full commands and their errors on failure"},
	{"OPTIONS", "", "extra `go test` flags, as shell words"},
	{"LATENCY", "0", "delay a proxy adds each way in bench-upload (e.g. 40ms)"},
	{"BENCH_MB", "300", "the database's size in bench-backup"},
	{"RUNS", "3, 5 or 10", "runs per side in a benchmark"},
	{"BENCH_USER", "selfhosted-bench", "the account bench-upload logs in as (root here reads a heavy .bashrc)"},
}

// Find returns the target a name means: the Makefile's name, the Go
// function's, or Mage's lower-case form of it.
func Find(name string) (Target, bool) {
	for _, t := range Targets {
		if strings.EqualFold(name, t.Name) || strings.EqualFold(name, t.Func) {
			return t, true
		}
	}
	return Target{}, false
}

func variable(name string) (Variable, bool) {
	for _, v := range Variables {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

// Help writes a target's help: what it does, the variables it reads with
// their defaults, an example.
func Help(w io.Writer, t Target) {
	fmt.Fprintf(w, "go tool mage %s: %s.\n", t.Name, t.Summary)
	if t.Dangerous {
		fmt.Fprintln(w, "It deletes or replaces data: it asks first, or takes CONFIRM=yes.")
	}
	if len(t.Vars) > 0 {
		fmt.Fprintln(w, "\nVariables:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, name := range t.Vars {
			v, _ := variable(name)
			def := v.Default
			if def == "" {
				def = "unset"
			}
			fmt.Fprintf(tw, "  %s\t%s\t(default: %s)\n", v.Name, v.Meaning, def)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nExample:\n  %s\n", t.Example)
}

// List writes every target by group with the Makefile's names, then the
// variables. extra names targets the stack's own magefile adds.
func List(w io.Writer, extra map[string]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, g := range Groups {
		fmt.Fprintf(tw, "%s:\n", g)
		for _, t := range Targets {
			if t.Group == g {
				fmt.Fprintf(tw, "  %s\t%s\n", t.Name, t.Summary)
			}
		}
	}
	if len(extra) > 0 {
		fmt.Fprintln(tw, "This stack's own:")
		var names []string
		for n := range extra {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(tw, "  %s\t%s\n", n, extra[n])
		}
	}
	fmt.Fprintln(tw, "\nVariables (SERVICE=mariadb go tool mage logs):")
	for _, v := range Variables {
		def := ""
		if v.Default != "" {
			def = " (default " + v.Default + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", v.Name, v.Meaning, def)
	}
	tw.Flush()
	fmt.Fprintln(w, "\n`go tool mage <target> --help` explains one target and runs nothing.")
}

// Suggest returns the known names closest to an unknown one (at most
// three), for "did you mean".
func Suggest(name string, known []string) []string {
	type scored struct {
		name string
		d    int
	}
	var out []scored
	lower := strings.ToLower(name)
	for _, k := range known {
		d := distance(lower, strings.ToLower(k))
		if d <= max(2, len(name)/3) || strings.Contains(strings.ToLower(k), lower) && len(lower) >= 3 {
			out = append(out, scored{k, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].d < out[j].d })
	var names []string
	for i := 0; i < len(out) && i < 3; i++ {
		names = append(names, out[i].name)
	}
	return names
}

// distance is the Levenshtein distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Names are the Makefile's names of every target.
func Names() []string {
	out := make([]string, len(Targets))
	for i, t := range Targets {
		out[i] = t.Name
	}
	return out
}
