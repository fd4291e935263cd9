//go:build mage

package main

import (
	"context"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// connect opens the one SSH connection of this Mage run to server, running commands in dir.
func connect(ctx context.Context, server, dir string) (run.Runner, error) {
	return nil, notYet("SERVER=" + server)
}

// Deploy checks the stack, renders, uploads the tree to SERVER and runs `up` and `prune` there.
func Deploy(ctx context.Context) error { return notYet("deploy") }

// PushFiles uploads the working tree to DIR on SERVER, incrementally and atomically.
func PushFiles(ctx context.Context) error { return notYet("push-files") }

// SSH opens an interactive shell on SERVER.
func SSH(ctx context.Context) error { return notYet("ssh") }

// SSHCommand runs COMMAND in DIR on SERVER.
func SSHCommand(ctx context.Context) error { return notYet("ssh-command") }

// Server prints how SERVER resolves through ~/.ssh/config, in `ssh -G`'s format.
func Server(ctx context.Context) error { return notYet("server") }

// BenchUpload compares push-files with `rsync -a --delete` on a generated tree over the loopback sshd.
func BenchUpload(ctx context.Context) error { return notYet("bench-upload") }
