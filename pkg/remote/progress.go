package remote

import (
	"fmt"

	scp "github.com/bramvdbogaerde/go-scp"
	"io"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// FormatPlan prints what a push would upload and delete (DRY_RUN=1).
func FormatPlan(p Plan) string {
	var b strings.Builder
	for _, e := range p.Mkdir {
		fmt.Fprintf(&b, "mkdir   %s/\n", e.Path)
	}
	for _, e := range p.Upload {
		fmt.Fprintf(&b, "upload  %s (%d bytes, %04o)\n", e.Path, e.Size, e.Mode.Perm())
	}
	for _, path := range p.Delete {
		fmt.Fprintf(&b, "delete  %s\n", path)
	}
	fmt.Fprintf(&b, "%d to upload (%d bytes), %d to delete, %d folders to create\n", len(p.Upload), p.Bytes, len(p.Delete), len(p.Mkdir))
	return b.String()
}

// ProgressBar draws a progress bar of the bytes an upload sends on out (a
// terminal).
func ProgressBar(out io.Writer) scp.PassThru {
	return func(r io.Reader, total int64) io.Reader {
		bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(out), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("uploading"), progressbar.OptionClearOnFinish())
		reader := progressbar.NewReader(r, bar)
		return &reader
	}
}

// LoginShell opens the user's login shell, in dir when it exists.
func LoginShell(dir string) run.Command {
	if dir == "" {
		dir = DefaultDir
	}
	return run.Command{Args: []string{"sh", "-c", "cd " + ShellPath(dir) + " 2>/dev/null; exec \"${SHELL:-sh}\" -l"}, Interactive: true}
}
