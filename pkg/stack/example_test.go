package stack_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

// Deploy a stack repository to the server "vps" of ~/.ssh/config, then
// restore its latest backup there.
func Example() {
	ctx := context.Background()
	c, err := remote.Connect(ctx, "vps", remote.ConnectOptions{AgentSocket: os.Getenv("SSH_AUTH_SOCK")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	s, err := stack.Open(".", stack.Options{Server: c, Environ: os.Environ(), Out: os.Stdout})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Deploy(ctx, stack.DeployOptions{Timeout: 5 * time.Minute}); err != nil {
		log.Fatal(err) // a *stack.FailedError: the previous release is back
	}
	yes := func(question string) error { return nil } // a person said yes
	if err := s.Restore(ctx, stack.RestoreOptions{Confirm: yes}); err != nil {
		log.Fatal(err) // errors.Is(err, backup.ErrExistingState): FORCE it
	}
}
