package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
)

// A dump replaces the last good one only once it is known good: the dump
// command exited 0, it wrote something, and a SQL dump whose engine writes
// a completion marker ends with it. Dumps stream to a temporary file next
// to the last good one: memory stays flat whatever the database's size.

// DumpPath is where a service's dump is kept.
func DumpPath(dumpsDir, service string) string { return filepath.Join(dumpsDir, service+".dump") }

// DumpError names the service whose dump failed.
type DumpError struct {
	Service string
	Err     error
}

func (e *DumpError) Error() string {
	return fmt.Sprintf("dump of service %s failed, so no snapshot was taken (the last good dump is kept): %v", e.Service, e.Err)
}

func (e *DumpError) Unwrap() error { return e.Err }

// markers are the engines whose dumps end with a completion line: a dump
// that starts with head must hold tail near its end.
var markers = []struct{ engine, head, tail string }{
	{"MariaDB", "-- MariaDB dump", "-- Dump completed"},
	{"MySQL", "-- MySQL dump", "-- Dump completed"},
	{"PostgreSQL", "-- PostgreSQL database cluster dump", "-- PostgreSQL database cluster dump complete"},
	{"PostgreSQL", "-- PostgreSQL database dump", "-- PostgreSQL database dump complete"},
}

// Check says why a dump is not good, from its size, its first bytes and
// its last bytes; nil when it is.
func Check(size int64, head, tail []byte) error {
	if size == 0 {
		return errors.New("the dump is empty")
	}
	for _, m := range markers {
		if bytes.Contains(head, []byte(m.head)) {
			if !bytes.Contains(tail, []byte(m.tail)) {
				return fmt.Errorf("the %s dump is incomplete: it does not end with %q", m.engine, m.tail)
			}
			return nil
		}
	}
	return nil
}

// edges keeps a stream's size, first and last bytes, for Check.
type edges struct {
	size       int64
	head, tail []byte
}

const edgeSize = 4096

func (e *edges) Write(p []byte) (int, error) {
	e.size += int64(len(p))
	if n := edgeSize - len(e.head); n > 0 {
		e.head = append(e.head, p[:min(n, len(p))]...)
	}
	e.tail = append(e.tail, p...)
	if len(e.tail) > 2*edgeSize {
		e.tail = append(e.tail[:0], e.tail[len(e.tail)-edgeSize:]...)
	}
	return len(p), nil
}

// dumpService runs h's dump command in container id, streaming its output
// into the dump file, and checks it before it replaces the last good one.
func dumpService(ctx context.Context, e Engine, dumpsDir string, h Hooks, id string) error {
	return atomicfile.Write(DumpPath(dumpsDir, h.Service), 0o600, func(w io.Writer) error {
		var stderr bytes.Buffer
		var seen edges
		code, err := e.Exec(ctx, id, shellCommand(h.Dump), nil, io.MultiWriter(w, &seen), &stderr)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("`%s` exited with status %d: %s", h.Dump, code, lastLines(stderr.String(), 3))
		}
		return Check(seen.size, seen.head, seen.tail)
	})
}

// Counters are the built-in counts a drill compares: each prints "name
// count" lines, credentials from the variables the official images read.
var Counters = map[string]string{
	"mariadb": mariadbCount,
	"mysql":   mariadbCount,
	"postgres": `set -e
export PGPASSWORD="${POSTGRES_PASSWORD:-}"; u="${POSTGRES_USER:-postgres}"
for db in $(psql -U "$u" -d postgres -At -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1"); do
  psql -U "$u" -d "$db" -At -c "SELECT format('SELECT %L || '' '' || count(*) FROM %I.%I', current_database() || '.' || schemaname || '.' || tablename, schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1" | psql -U "$u" -d "$db" -At
done`,
	"redis": `redis-cli --no-auth-warning ${REDIS_PASSWORD:+-a "$REDIS_PASSWORD"} INFO keyspace | sed -n 's/^\(db[0-9]*\):keys=\([0-9]*\).*/\1 \2/p'`,
}

// mariadbCount counts every table's rows in one query it builds. The shell
// sees \` for each backquote the query needs (bq).
const mariadbCount = `set -e
c=mariadb; command -v mariadb >/dev/null 2>&1 || c=mysql
export MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
q=$($c -uroot -N -B -e "SET SESSION group_concat_max_len = 16777216; SELECT GROUP_CONCAT(CONCAT('SELECT ''', table_schema, '.', table_name, ''', COUNT(*) FROM ` + bq + `', table_schema, '` + bq + `.` + bq + `', table_name, '` + bq + `') SEPARATOR ' UNION ALL ') FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')")
if [ -n "$q" ] && [ "$q" != NULL ]; then $c -uroot -N -B -e "$q" | tr '\t' ' '; fi`

const bq = "\\`"

// countCommand is the shell line of h's count.
func countCommand(h Hooks) string {
	if builtin, ok := Counters[strings.ToLower(h.Count)]; ok {
		return builtin
	}
	return h.Count
}

// Counts are what a service held: name → count.
type Counts map[string]int64

// count runs h's count in container id.
func count(ctx context.Context, e Engine, h Hooks, id string) (Counts, error) {
	var out, stderr bytes.Buffer
	code, err := e.Exec(ctx, id, shellCommand(countCommand(h)), nil, &out, &stderr)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("the count of %s exited with status %d: %s", h.Service, code, lastLines(stderr.String(), 3))
	}
	return ParseCounts(out.String())
}

// ParseCounts reads "name count" lines.
func ParseCounts(s string) (Counts, error) {
	c := Counts{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		i := strings.LastIndexAny(line, " \t")
		if i < 0 {
			return nil, fmt.Errorf("count line %q is not \"name count\"", line)
		}
		n, err := strconv.ParseInt(line[i+1:], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("count line %q is not \"name count\"", line)
		}
		c[strings.TrimSpace(line[:i])] = n
	}
	return c, nil
}

// Range is a count taken before and after a dump: a table written to while
// it was dumped holds anything between.
type Range struct{ Min, Max int64 }

// Within reports whether n lies in the range.
func (r Range) Within(n int64) bool { return n >= r.Min && n <= r.Max }

func (r Range) String() string {
	if r.Min == r.Max {
		return strconv.FormatInt(r.Min, 10)
	}
	return fmt.Sprintf("%d–%d", r.Min, r.Max)
}

// Between merges the counts taken before and after a dump.
func Between(before, after Counts) map[string]Range {
	out := map[string]Range{}
	for k, a := range after {
		b, ok := before[k]
		if !ok {
			b = a
		}
		out[k] = Range{Min: min(a, b), Max: max(a, b)}
	}
	for k, b := range before {
		if _, ok := after[k]; !ok {
			out[k] = Range{Min: 0, Max: b}
		}
	}
	return out
}

// Differences lists what a restored count does not match, sorted.
func Differences(want map[string]Range, got Counts) []string {
	var out []string
	for k, r := range want {
		n, ok := got[k]
		switch {
		case !ok && r.Min > 0:
			out = append(out, fmt.Sprintf("%s: missing (had %s)", k, r))
		case ok && !r.Within(n):
			out = append(out, fmt.Sprintf("%s: %d (had %s)", k, n, r))
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok && n > 0 {
			out = append(out, fmt.Sprintf("%s: %d (not there when dumped)", k, n))
		}
	}
	sortStrings(out)
	return out
}
