// Package backup dumps a stack's databases and snapshots its Docker volumes
// with restic, restores them onto an empty state, and proves that
// snapshots restore.
//
// # Declarative hooks
//
// Per-service facts are labels on the compose service, read from the
// containers of this compose project only (by Docker's own project label,
// never by name):
//
//   - selfhosted.backup.dump: a command run inside the container before each
//     backup; its standard output is the dump, stored atomically in the
//     dumps area. A dump must be valid before it replaces the last good one:
//     the command exits 0, the dump is not empty, and a MariaDB, MySQL or
//     PostgreSQL dump ends with its engine's completion marker (a
//     truncated dump has none);
//   - selfhosted.backup.restore: a command run inside the container after a
//     restore, fed the dump on standard input (it may ignore it: Redis
//     reloads its own RDB file). It must stop at the first error (psql:
//     -v ON_ERROR_STOP=1; the mariadb client does by default);
//   - selfhosted.backup.exclude: the service's volumes that hold live state
//     (comma-separated compose volume names), excluded from every snapshot:
//     a restore starts them empty and the restore hook loads the dump;
//   - selfhosted.backup.count: what a drill compares after re-hydration, as
//     counted when the dump was taken: "mariadb", "mysql", "postgres" or
//     "redis" for the built-in counters (tables and their rows, keys), or a
//     command printing "name count" lines;
//   - selfhosted.backup.stop=true: the container is stopped during the
//     snapshot (SQLite applications) and started again even if it fails;
//   - selfhosted.backup.paths: host folders this service keeps data in (bind
//     mounts), snapshotted with the volumes; the backup service must mount
//     each at the same path;
//   - selfhosted.backup.skip: mounts deliberately left out of backups
//     (comma-separated container paths or volume names), each for a reason
//     worth a comment next to it (a cache, scratch space).
//
// Commands are run with `sh -c`, so a label holds one shell command line.
package backup

import (
	"fmt"
	"sort"
	"strings"
)

// Labels read from compose services.
const (
	DumpLabel    = "selfhosted.backup.dump"
	RestoreLabel = "selfhosted.backup.restore"
	ExcludeLabel = "selfhosted.backup.exclude"
	CountLabel   = "selfhosted.backup.count"
	StopLabel    = "selfhosted.backup.stop"
	PathsLabel   = "selfhosted.backup.paths"
	SkipLabel    = "selfhosted.backup.skip"
)

// Labels Docker Compose sets on what it creates.
const (
	ProjectLabel = "com.docker.compose.project"
	ServiceLabel = "com.docker.compose.service"
	// VolumeLabel names a volume as the compose file does.
	VolumeLabel = "com.docker.compose.volume"
	// OneOffLabel marks containers of `docker compose run`.
	OneOffLabel = "com.docker.compose.oneoff"
)

// Hooks are one service's backup facts.
type Hooks struct {
	Service string
	Dump    string   // shell command whose stdout is the dump; "" for none
	Restore string   // shell command fed the dump; "" for none
	Exclude []string // compose volume names holding live state
	Count   string   // a built-in counter's name, or a command; "" for none
	Stop    bool
	Paths   []string // host folders snapshotted with the volumes
	Skip    []string // mounts (container paths or volume names) left out on purpose
}

// HooksFromLabels reads a service's labels. An exclude without a dump hook
// is refused: that volume's data would be in no backup at all.
func HooksFromLabels(service string, labels map[string]string) (Hooks, error) {
	h := Hooks{
		Service: service,
		Dump:    strings.TrimSpace(labels[DumpLabel]),
		Restore: strings.TrimSpace(labels[RestoreLabel]),
		Count:   strings.TrimSpace(labels[CountLabel]),
		Stop:    strings.EqualFold(strings.TrimSpace(labels[StopLabel]), "true"),
		Exclude: List(labels[ExcludeLabel]),
		Paths:   List(labels[PathsLabel]),
		Skip:    List(labels[SkipLabel]),
	}
	if len(h.Exclude) > 0 && h.Dump == "" {
		return h, fmt.Errorf("service %s: %s=%s excludes live state from backups but the service has no %s: its data would be in no backup; add a dump command (e.g. mariadb-dump) or remove the exclude",
			service, ExcludeLabel, strings.Join(h.Exclude, ","), DumpLabel)
	}
	if h.Restore != "" && h.Dump == "" {
		return h, fmt.Errorf("service %s: %s without %s: there would be no dump to restore; add the dump command", service, RestoreLabel, DumpLabel)
	}
	for _, p := range h.Paths {
		if !strings.HasPrefix(p, "/") {
			return h, fmt.Errorf("service %s: %s lists %q: host folders are absolute paths", service, PathsLabel, p)
		}
	}
	return h, nil
}

// List splits a comma-separated label value, trimmed and sorted.
func List(value string) []string {
	var out []string
	for _, v := range strings.Split(value, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// shellCommand is the argv that runs a label's command line in a container.
func shellCommand(line string) []string { return []string{"sh", "-c", line} }
