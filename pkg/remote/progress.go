package remote

import (
	"fmt"
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

// WithProgressBar adds a progress bar (bytes, with the file count in its
// description) on a terminal to opts.
func WithProgressBar(opts PushOptions, out io.Writer) PushOptions {
	var bar *progressbar.ProgressBar
	files := 0
	next := opts.OnFile
	opts.OnFile = func(e Entry) {
		if bar == nil {
			bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(out), progressbar.OptionShowBytes(true), progressbar.OptionClearOnFinish())
		}
		files++
		bar.Describe(fmt.Sprintf("%d files", files))
		_ = bar.Add64(e.Size)
		if next != nil {
			next(e)
		}
	}
	return opts
}

// ShellCommand opens the user's login shell, in dir when it exists.
func ShellCommand(dir string) run.Command {
	if dir == "" {
		dir = DefaultDir
	}
	return run.Command{Args: []string{"sh", "-c", "cd " + ShellPath(dir) + " 2>/dev/null; exec \"${SHELL:-sh}\" -l"}, Interactive: true}
}
