// Package backup dumps a stack's databases and snapshots its Docker volumes
// with restic, and restores them onto an empty state.
//
// # Declarative hooks
//
// Per-service facts are labels on the compose service, read from the
// running containers of this compose project only:
//
//   - selfhosted.backup.dump: a command run inside the container before each
//     backup; its standard output is the dump, stored atomically in the
//     dumps area (a failed or partial dump never replaces the last good one,
//     and fails the backup before restic runs);
//   - selfhosted.backup.restore: a command run inside the container after a
//     restore, fed the dump on standard input (it may ignore it: Redis
//     reloads its own RDB file);
//   - selfhosted.backup.exclude: the service's volumes that hold live state
//     (comma-separated compose volume names); their project-prefixed folders
//     are excluded from every snapshot, so a restore starts them empty and
//     the restore hook loads the dump;
//   - selfhosted.backup.stop=true: the container is stopped during the
//     snapshot (SQLite applications) and started again even if it fails.
//
// Commands are run with `sh -c`, so a label holds one shell command line.
package backup

import (
	"fmt"
	"sort"
	"strings"

	"github.com/selfhosted-go/selfhosted/pkg/compose"
)

// Labels read from compose services.
const (
	DumpLabel    = compose.BackupDumpLabel
	RestoreLabel = compose.BackupRestoreLabel
	ExcludeLabel = compose.BackupExcludeLabel
	StopLabel    = compose.BackupStopLabel

	// ProjectLabel is set by Docker Compose on every container it creates.
	ProjectLabel = "com.docker.compose.project"
	// ServiceLabel names the container's compose service.
	ServiceLabel = "com.docker.compose.service"
	// OneOffLabel marks containers of `docker compose run`.
	OneOffLabel = "com.docker.compose.oneoff"
)

// Hooks are one service's backup facts.
type Hooks struct {
	Service string
	Dump    string   // shell command whose stdout is the dump; "" for none
	Restore string   // shell command fed the dump; "" for none
	Exclude []string // compose volume names holding live state
	Stop    bool
}

// HooksFromLabels reads a service's labels. An exclude without a dump hook
// is refused: that volume's data would be in no backup at all.
func HooksFromLabels(service string, labels map[string]string) (Hooks, error) {
	h := Hooks{
		Service: service,
		Dump:    strings.TrimSpace(labels[DumpLabel]),
		Restore: strings.TrimSpace(labels[RestoreLabel]),
		Stop:    strings.EqualFold(strings.TrimSpace(labels[StopLabel]), "true"),
	}
	for _, v := range strings.Split(labels[ExcludeLabel], ",") {
		if v = strings.TrimSpace(v); v != "" {
			h.Exclude = append(h.Exclude, v)
		}
	}
	sort.Strings(h.Exclude)
	if len(h.Exclude) > 0 && h.Dump == "" {
		return h, fmt.Errorf("service %s: %s=%s excludes live state from backups but the service has no %s: its data would be in no backup; add a dump command (e.g. mariadb-dump) or remove the exclude",
			service, ExcludeLabel, strings.Join(h.Exclude, ","), DumpLabel)
	}
	if h.Restore != "" && h.Dump == "" {
		return h, fmt.Errorf("service %s: %s without %s: there would be no dump to restore; add the dump command", service, RestoreLabel, DumpLabel)
	}
	return h, nil
}

// ShellCommand is the argv that runs a label's command line in a container.
func ShellCommand(line string) []string { return []string{"sh", "-c", line} }

// VolumePath is where Docker keeps a compose volume's data below the
// volumes folder: Compose prefixes the volume name with the project.
func VolumePath(volumesDir, project, volume string) string {
	return strings.TrimSuffix(volumesDir, "/") + "/" + project + "_" + volume
}

// Excludes lists the restic --exclude paths of every service's live-state
// volumes.
func Excludes(volumesDir, project string, hooks []Hooks) []string {
	var out []string
	for _, h := range hooks {
		for _, v := range h.Exclude {
			out = append(out, VolumePath(volumesDir, project, v))
		}
	}
	sort.Strings(out)
	return out
}
