// Command deploy deploys a stack repository to a server with selfhosted's
// library alone, the way a team's own Go tool would: connect, open the
// stack, deploy, and say what happened. It is built by CI, in a module of
// its own, as the proof that pkg/ is usable without any magefile code.
//
//	deploy -server vps -dir '~/stack' [-root .] [-ssh-config file] [-allow-dirty] [-dry-run]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/converge"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

func main() {
	server := flag.String("server", "", "a Host of the ssh config")
	dir := flag.String("dir", remote.DefaultDir, "the stack's folder on the server")
	root := flag.String("root", ".", "the stack repository")
	config := flag.String("ssh-config", "", "the ssh config (default ~/.ssh/config)")
	dirty := flag.Bool("allow-dirty", false, "deploy uncommitted changes")
	dryRun := flag.Bool("dry-run", false, "print the plan only")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := deploy(ctx, *server, *dir, *root, *config, *dirty, *dryRun); err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		var unhealthy *converge.UnhealthyError
		if errors.As(err, &unhealthy) {
			fmt.Fprintln(os.Stderr, unhealthy.Logs)
		}
		os.Exit(1)
	}
}

func deploy(ctx context.Context, server, dir, root, config string, dirty, dryRun bool) error {
	c, err := remote.Connect(ctx, server, remote.ConnectOptions{Config: config, AgentSocket: os.Getenv("SSH_AUTH_SOCK")})
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := stack.Open(root, stack.Options{Server: c, Dir: dir, Environ: os.Environ(), Out: os.Stdout})
	if err != nil {
		return err
	}
	res, err := s.Deploy(ctx, stack.DeployOptions{AllowDirty: dirty, DryRun: dryRun, Timeout: 5 * time.Minute})
	if err != nil {
		return err
	}
	if res.Push != nil {
		fmt.Printf("release %s: %d file(s) uploaded, %d service(s) touched\n", res.Push.Release, len(res.Upload.Upload), len(res.Applied.Touched))
	}
	return nil
}
