package compose

import (
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// The backup rule: every named volume is either backed up as files, or
// excluded from snapshots by a service that dumps it. A database's live
// files can't be snapshotted consistently, so a database volume without a
// dump hook is an error, and so is an exclude without a dump (that data
// would be in no backup at all).

// databaseImages run a database whose files a snapshot can't copy
// consistently while it runs.
var databaseImages = []string{"mariadb", "mysql", "postgres", "postgis", "mongo", "timescale", "cockroach", "influxdb", "clickhouse", "couchdb", "cassandra"}

func isDatabase(svc types.ServiceConfig) bool {
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

func lintBackupVolumes(s *Stack) []Finding {
	var out []Finding
	for _, svc := range s.services() {
		dump := strings.TrimSpace(svc.Labels[BackupDumpLabel]) != ""
		excluded := map[string]bool{}
		for _, v := range strings.Split(svc.Labels[BackupExcludeLabel], ",") {
			if v = strings.TrimSpace(v); v != "" {
				excluded[v] = true
				if _, declared := s.Model.Volumes[v]; !declared {
					out = append(out, s.finding(Error, RuleBackupExcludeUnknown, svc.Name, v, BackupExcludeLabel+" names "+v+", which is not a volume of the stack",
						"use the volume's name from the top-level volumes: section"))
				}
			}
		}
		if len(excluded) > 0 && !dump {
			out = append(out, s.finding(Error, RuleBackupExcludeNoDump, svc.Name, "", "its excluded volumes would be in no backup: it has no "+BackupDumpLabel,
				"add label "+BackupDumpLabel+"=<command printing a dump> (and "+BackupRestoreLabel+")"))
		}
		if !isDatabase(svc) {
			continue
		}
		var named []string
		for _, m := range svc.Volumes {
			if m.Type == types.VolumeTypeVolume && m.Source != "" {
				named = append(named, m.Source)
			}
		}
		sort.Strings(named)
		for _, v := range named {
			switch {
			case !dump:
				out = append(out, s.finding(Error, RuleBackupDump, svc.Name, v, "database volume "+v+" has no dump: a snapshot of a running database's files may not restore",
					"add labels "+BackupDumpLabel+", "+BackupRestoreLabel+" and "+BackupExcludeLabel+"="+v))
			case !excluded[v]:
				out = append(out, s.finding(Warning, RuleBackupDumpedAndCopied, svc.Name, v, "database volume "+v+" is dumped and also backed up as files",
					"add "+v+" to "+BackupExcludeLabel+" so a restore starts it empty and loads the dump"))
			}
		}
	}
	return out
}
