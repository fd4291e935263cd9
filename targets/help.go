package targets

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/selfhosted-go/selfhosted/internal/catalog"
	"github.com/selfhosted-go/selfhosted/internal/quietpipe"
)

// The targets run in a binary Mage compiles. `go tool mage` reaches it
// through this module's front (cmd/mage), which answers help itself; but
// the binary can also be run by upstream mage or by hand (mage -compile),
// and Mage would then run `up --help` as the target up followed by an
// unknown target. So before Mage's main sees the arguments, a request for
// help anywhere on the command line prints the targets' help and exits:
// nothing runs. An init function is the only hook that comes first.
func init() {
	if names, ok := helpRequest(os.Args[1:]); ok {
		os.Exit(printHelp(os.Stdout, os.Stderr, names))
	}
	routeLibraryWarnings(os.Stderr)
	quietpipe.Install()
}

// helpRequest returns the targets named alongside -h, -help or --help,
// or after a leading `help`.
func helpRequest(args []string) ([]string, bool) {
	var names []string
	asked := false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-h" || a == "-help" || a == "--help":
			asked = true
		case a == "help" && i == 0:
			asked = true
		case a == "-t" || a == "-timeout":
			i++ // the flag's value is no target
		case strings.HasPrefix(a, "-"):
		default:
			names = append(names, a)
		}
	}
	return names, asked && len(names) > 0
}

// printHelp writes each named target's help and returns the exit code:
// 2 when a name is no target.
func printHelp(stdout, stderr io.Writer, names []string) int {
	code := 0
	for i, name := range names {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		t, ok := catalog.Find(name)
		if !ok {
			fmt.Fprintf(stderr, "%q is none of selfhosted's targets%s\n", name, suggestion(name))
			code = 2
			continue
		}
		catalog.Help(stdout, t)
	}
	return code
}

func suggestion(name string) string {
	if s := catalog.Suggest(name, catalog.Names()); len(s) > 0 {
		return "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return ""
}

// routeLibraryWarnings prints the warnings libraries log through logrus
// (compose-go warns of unset variables while loading the compose files) as
// this command line's own warnings: one line each, once, without
// logrus's timestamps.
func routeLibraryWarnings(w io.Writer) {
	logrus.SetOutput(w)
	logrus.SetLevel(logrus.WarnLevel)
	logrus.SetFormatter(&onceFormatter{seen: map[string]bool{}})
}

type onceFormatter struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (f *onceFormatter) Format(e *logrus.Entry) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	msg := strings.TrimSpace(e.Message)
	if f.seen[msg] {
		return nil, nil
	}
	f.seen[msg] = true
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %s\n", e.Level, msg)
	return b.Bytes(), nil
}
