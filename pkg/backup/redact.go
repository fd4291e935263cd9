package backup

import (
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Secrets never appear in what the backup prints, returns or posts:
// commands never show their environment (run.Command.String), and every
// message is redacted by value for every secret the backup reads: restic's
// password, the backend's keys, the Slack webhook and the ping URL, and
// the credentials a repository URL may hold.

// Redactor replaces secret values with "[redacted]".
type Redactor struct {
	secrets []string // longest first, so one secret inside another goes whole
}

// Redacted stands in for a secret.
const Redacted = "[redacted]"

// secretName reports whether a variable holds a secret by its name.
func secretName(name string) bool {
	up := strings.ToUpper(name)
	for _, s := range []string{"PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "WEBHOOK", "PING_URL", "_PASS"} {
		if strings.Contains(up, s) {
			return true
		}
	}
	return false
}

// NewRedactor collects the secrets among env: every variable the backup
// reads whose name says it is secret (RESTIC_PASSWORD, AWS_SECRET_ACCESS_KEY,
// B2_ACCOUNT_KEY, SLACK_WEBHOOK_URL, BACKUP_PING_URL, ...), and the password
// of any URL among their values (rest:https://user:pass@host/).
func NewRedactor(env map[string]string) *Redactor {
	var secrets []string
	for k, v := range env {
		if !readByBackup(k) || len(v) < 4 {
			continue
		}
		if secretName(k) {
			secrets = append(secrets, v)
		}
		if pass := urlPassword(v); pass != "" {
			secrets = append(secrets, pass)
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return &Redactor{secrets: secrets}
}

// readByBackup tells the variables the backup program reads.
func readByBackup(name string) bool {
	for _, p := range append(ResticEnvPrefixes, "SLACK_", "BACKUP_") {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func urlPassword(v string) string {
	// restic's URLs carry a scheme prefix: rest:https://..., s3:https://...
	if i := strings.Index(v, "://"); i >= 0 {
		if start := strings.LastIndex(v[:i], ":"); start >= 0 {
			v = v[start+1:]
		}
	}
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return ""
	}
	pass, _ := u.User.Password()
	if len(pass) < 4 {
		return ""
	}
	return pass
}

// String redacts s.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, Redacted)
	}
	return s
}

// Error wraps err so its message is redacted; errors.As still finds the
// typed errors inside.
func (r *Redactor) Error(err error) error {
	if err == nil || r == nil || len(r.secrets) == 0 {
		return err
	}
	return &redactedError{err: err, msg: r.String(err.Error())}
}

type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Writer redacts what is written to w, line by line (a secret is never
// split across writes of a line).
func (r *Redactor) Writer(w io.Writer) io.Writer {
	if r == nil || len(r.secrets) == 0 || w == nil {
		return w
	}
	return &redactingWriter{r: r, w: w}
}

type redactingWriter struct {
	mu      sync.Mutex
	r       *Redactor
	w       io.Writer
	pending []byte
}

func (rw *redactingWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.pending = append(rw.pending, p...)
	i := strings.LastIndexByte(string(rw.pending), '\n')
	if i < 0 && len(rw.pending) < 64<<10 {
		return len(p), nil
	}
	if i < 0 {
		i = len(rw.pending) - 1
	}
	out := rw.r.String(string(rw.pending[:i+1]))
	rw.pending = append(rw.pending[:0], rw.pending[i+1:]...)
	if _, err := io.WriteString(rw.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what is held back.
func (rw *redactingWriter) Flush() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.pending) == 0 {
		return nil
	}
	_, err := io.WriteString(rw.w, rw.r.String(string(rw.pending)))
	rw.pending = rw.pending[:0]
	return err
}
