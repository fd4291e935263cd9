// Command selfhosted creates a stack repository of its own:
//
//	go run github.com/selfhosted-go/selfhosted/cmd/selfhosted@latest new [-skeleton] [-module path] [-force] DIR
//
// DIR gets a Go module that requires selfhosted (go.mod, go.sum), Mage as a
// tool and a magefile importing the targets, the example stack (or, with
// -skeleton, only the backup service), .env.example, .deployignore,
// .gitignore and the git hooks, in a new git repository. Then:
//
//	cd DIR && go tool mage up
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/selfhosted-go/selfhosted/pkg/scaffold"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "new" {
		fmt.Fprintln(os.Stderr, "usage: selfhosted new [-skeleton] [-module path] [-force] [-replace dir] DIR")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("new", flag.ExitOnError)
	skeleton := fs.Bool("skeleton", false, "start from an empty stack with only the backup service")
	module := fs.String("module", "", "the new repository's module path (default example.com/DIR)")
	force := fs.Bool("force", false, "write into a folder that is not empty")
	replace := fs.String("replace", "", "use a local checkout of selfhosted instead of a released version")
	fs.Parse(os.Args[2:])
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: selfhosted new [-skeleton] [-module path] [-force] [-replace dir] DIR")
		os.Exit(2)
	}
	dir := fs.Arg(0)
	o := scaffold.Options{ModulePath: *module, Skeleton: *skeleton, Force: *force, Replace: *replace, Version: version(), Out: os.Stdout}
	if err := scaffold.Create(context.Background(), dir, o); err != nil {
		var notEmpty *scaffold.NotEmptyError
		if errors.As(err, &notEmpty) {
			fmt.Fprintf(os.Stderr, "selfhosted: %v; pick another folder, or add -force\n", err)
		} else {
			fmt.Fprintln(os.Stderr, "selfhosted:", err)
		}
		os.Exit(1)
	}
	fmt.Printf("next:\n  cd %s\n  go tool mage up\n", dir)
}

// version is the selfhosted version this program was built from (go run
// ...@v1.2.3), so the new stack requires the same one.
func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Path == scaffold.Module && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return ""
}
