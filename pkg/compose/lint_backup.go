package compose

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/selfhosted-go/selfhosted/pkg/backup"
)

// The backup rules: every mount of every service is backed up, excluded
// by a service that dumps it, or opted out on purpose:
//
//   - a named volume of the stack is snapshotted (its live database state
//     excluded and dumped instead: a database's files can't be copied
//     consistently while it runs, so a database volume without a dump is
//     an error);
//   - an anonymous volume is lost when its container is recreated and
//     can't be restored: name it, or skip it;
//   - an external volume is not the project's: list its folder in
//     selfhosted.backup.paths, or skip it;
//   - a bind mount of the stack's own tree is configuration, in git; one
//     of a folder inside the stack that is not uploaded is data left in
//     an old release; a host folder elsewhere must be listed in
//     selfhosted.backup.paths (and mounted into the backup service at the
//     same path), or skipped.
//
// Databases are recognised by their image and by where they keep data.

// databaseImages run a database whose files a snapshot can't copy
// consistently while it runs.
var databaseImages = []string{"mariadb", "mysql", "postgres", "postgis", "mongo", "timescale", "cockroach", "influxdb", "clickhouse", "couchdb", "cassandra", "percona", "neo4j"}

// databasePaths are where database images keep their live files.
var databasePaths = []string{
	"/var/lib/mysql", "/var/lib/mariadb", "/var/lib/postgresql", "/var/lib/postgresql/data", "/data/db", "/var/lib/mongodb",
	"/bitnami/mariadb", "/bitnami/mysql", "/bitnami/postgresql", "/bitnami/mongodb", "/var/lib/influxdb", "/var/lib/influxdb2",
	"/var/lib/clickhouse", "/opt/couchdb/data", "/var/lib/cassandra", "/var/lib/neo4j/data", "/cockroach/cockroach-data",
}

// systemPaths are host paths bind-mounted for access, not data (the
// backup container's restic cache lives in /var/cache/selfhosted).
var systemPaths = []string{"/var/run/docker.sock", "/run/docker.sock", "/etc/localtime", "/etc/timezone", "/proc", "/sys", "/dev", "/lib/modules", "/var/run", "/run", "/var/lib/docker/volumes", "/var/backups/selfhosted", "/var/cache/selfhosted", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}

// Rules of this file.
const (
	RuleBackupAnonymous = "backup-anonymous-volume"
	RuleBackupExternal  = "backup-external-volume"
	RuleBackupBind      = "backup-bind-mount"
	RuleBackupInTree    = "backup-data-in-tree"
	RuleBackupPathMount = "backup-path-not-mounted"
)

func isDatabaseImage(svc types.ServiceConfig) bool {
	image := svc.Image
	if i := strings.LastIndex(image, "/"); i >= 0 {
		image = image[i+1:]
	}
	name, _, _ := strings.Cut(image, ":")
	for _, db := range databaseImages {
		if strings.HasPrefix(name, db) {
			return true
		}
	}
	return false
}

// databaseMount reports whether a mount holds a database's live files.
func databaseMount(svc types.ServiceConfig, m types.ServiceVolumeConfig) bool {
	target := strings.TrimSuffix(m.Target, "/")
	for _, p := range databasePaths {
		if target == p {
			return true
		}
	}
	return isDatabaseImage(svc) && m.Type == types.VolumeTypeVolume && m.Source != ""
}

func within(path string, roots []string) bool {
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, r+"/") {
			return true
		}
	}
	return false
}

func lintBackupVolumes(s *Stack) []Finding {
	var out []Finding
	declared := map[string]bool{} // host folders some service backs up
	for _, svc := range s.services() {
		for _, p := range backup.List(svc.Labels[backup.PathsLabel]) {
			declared[filepath.Clean(p)] = true
		}
	}
	backupMounts := map[string]bool{} // what the backup service sees at the same path
	if b, ok := s.Model.Services["backup"]; ok {
		for _, m := range b.Volumes {
			if m.Type == types.VolumeTypeBind && filepath.Clean(m.Source) == filepath.Clean(m.Target) {
				backupMounts[filepath.Clean(m.Source)] = true
			}
		}
	}
	for _, svc := range s.services() {
		// An invalid label is reported below in the linter's own words.
		hooks, _ := backup.HooksFromLabels(svc.Name, svc.Labels)
		dump := hooks.Dump != ""
		excluded := map[string]bool{}
		for _, v := range hooks.Exclude {
			excluded[v] = true
			if _, ok := s.Model.Volumes[v]; !ok {
				out = append(out, s.finding(Error, RuleBackupExcludeUnknown, svc.Name, v, backup.ExcludeLabel+" names "+v+", which is not a volume of the stack",
					"use the volume's name from the top-level volumes: section"))
			}
		}
		if len(hooks.Exclude) > 0 && !dump {
			out = append(out, s.finding(Error, RuleBackupExcludeNoDump, svc.Name, "", "its excluded volumes would be in no backup: it has no "+backup.DumpLabel,
				"add label "+backup.DumpLabel+"=<command printing a dump> (and "+backup.RestoreLabel+")"))
		}
		skip := map[string]bool{}
		for _, k := range hooks.Skip {
			skip[k] = true
		}
		for _, m := range svc.Volumes {
			if skip[m.Target] || (m.Source != "" && skip[m.Source]) || m.Type == types.VolumeTypeTmpfs || m.Type == "npipe" {
				continue
			}
			if databaseMount(svc, m) {
				out = append(out, s.lintDatabaseMount(svc, m, dump, excluded)...)
				continue
			}
			switch m.Type {
			case types.VolumeTypeVolume:
				out = append(out, s.lintVolumeMount(svc, m, declared)...)
			case types.VolumeTypeBind:
				if svc.Name == "backup" {
					continue // what the backup service mounts, it reads
				}
				out = append(out, s.lintBindMount(svc, m, declared, backupMounts)...)
			}
		}
	}
	return out
}

func (s *Stack) lintDatabaseMount(svc types.ServiceConfig, m types.ServiceVolumeConfig, dump bool, excluded map[string]bool) []Finding {
	name := m.Source
	if name == "" {
		name = m.Target
	}
	switch {
	case !dump:
		return []Finding{s.finding(Error, RuleBackupDump, svc.Name, name, "database files at "+m.Target+" have no dump: a snapshot of a running database's files may not restore",
			"add labels "+backup.DumpLabel+", "+backup.RestoreLabel+" and "+backup.ExcludeLabel+"="+name)}
	case m.Type == types.VolumeTypeVolume && m.Source != "" && !excluded[m.Source]:
		return []Finding{s.finding(Warning, RuleBackupDumpedAndCopied, svc.Name, m.Source, "database volume "+m.Source+" is dumped and also backed up as files",
			"add "+m.Source+" to "+backup.ExcludeLabel+" so a restore starts it empty and loads the dump")}
	}
	return nil
}

func (s *Stack) lintVolumeMount(svc types.ServiceConfig, m types.ServiceVolumeConfig, declared map[string]bool) []Finding {
	if m.Source == "" {
		return []Finding{s.finding(Error, RuleBackupAnonymous, svc.Name, m.Target, "the anonymous volume at "+m.Target+" is lost when the container is recreated, and no backup restores it",
			"name it in the top-level volumes: section, or add "+m.Target+" to "+backup.SkipLabel+" if it only holds a cache")}
	}
	v, ok := s.Model.Volumes[m.Source]
	if !ok || !bool(v.External) {
		return nil // the project's own volume: snapshotted
	}
	name := v.Name
	if name == "" {
		name = m.Source
	}
	if declared[filepath.Join("/var/lib/docker/volumes", name)] {
		return nil
	}
	return []Finding{s.finding(Error, RuleBackupExternal, svc.Name, m.Source, "external volume "+name+" is not this project's, so backups leave it out",
		"add /var/lib/docker/volumes/"+name+" to "+backup.PathsLabel+" (and mount it into the backup service at the same path), or add "+m.Source+" to "+backup.SkipLabel)}
}

func (s *Stack) lintBindMount(svc types.ServiceConfig, m types.ServiceVolumeConfig, declared, backupMounts map[string]bool) []Finding {
	source := filepath.Clean(m.Source)
	if within(source, systemPaths) {
		return nil
	}
	root, err := filepath.Abs(s.Root)
	if err == nil && within(source, []string{root}) {
		rel, _ := filepath.Rel(root, source)
		// Read only, or in the tree: the stack's own files (the backup
		// program, built by deploy, is one), not data.
		if m.ReadOnly || s.uploaded(rel) {
			return nil // the stack's own configuration, in git and uploaded
		}
		return []Finding{s.finding(Error, RuleBackupInTree, svc.Name, "./"+filepath.ToSlash(rel), "bind mount ./"+filepath.ToSlash(rel)+" is inside the stack but not part of it: what the container writes there stays behind in an old release",
			"use a named volume, or a host folder outside the stack listed in "+backup.PathsLabel)}
	}
	if !declared[source] {
		return []Finding{s.finding(Error, RuleBackupBind, svc.Name, source, "host folder "+source+" is in no backup",
			"add it to "+backup.PathsLabel+" (and mount it into the backup service at the same path), or add "+m.Target+" to "+backup.SkipLabel)}
	}
	if !backupMounts[source] {
		return []Finding{s.finding(Error, RuleBackupPathMount, svc.Name, source, "host folder "+source+" is listed in "+backup.PathsLabel+" but the backup service does not mount it",
			"mount "+source+":"+source+" in the backup service")}
	}
	return nil
}

// uploaded reports whether rel (below the stack root) exists in the tree
// and is not left out of uploads by .deployignore.
func (s *Stack) uploaded(rel string) bool {
	info, err := os.Stat(filepath.Join(s.Root, rel))
	if err != nil {
		return false
	}
	ignore := s.deployIgnore()
	match := filepath.ToSlash(rel)
	if info.IsDir() {
		match += "/"
	}
	return ignore == nil || !ignore.MatchesPath(match)
}
