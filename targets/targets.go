// Package targets holds the Mage targets of a stack repository: the old
// Makefile's verbs, each a thin call into package stack. A stack repository
// imports them in its magefile:
//
//	//go:build mage
//
//	package main
//
//	import (
//		//mage:import
//		_ "github.com/selfhosted-go/selfhosted/targets"
//	)
//
// and `go tool mage <target>` runs them; this repository's own magefile
// imports the same package. Every target reads its variables (SERVER, DIR,
// SERVICE, COMMAND, SNAPSHOT, OPTIONS, ...) from the environment, as the
// Makefile read `make x VAR=...`, builds options, makes one call into
// package stack and turns the error into one line with the fix.
//
// Mage takes every exported function of this package for a target, so
// everything else here is unexported.
package targets

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/magefile/mage/mg"
	"golang.org/x/term"

	"github.com/selfhosted-go/selfhosted/internal/confirm"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/render"
	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

// variable reads a target's variable.
func variable(name string) string { return os.Getenv(name) }

// on reports whether a switch variable (FORCE=1, DRY_RUN=1, ...) is set.
func on(name string) bool {
	switch strings.ToLower(variable(name)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// withStack opens the stack of the current folder, on SERVER when it is
// set (one SSH connection for the whole run), runs f and explains its
// error.
func withStack(ctx context.Context, f func(*stack.Stack) error) error {
	s, closeFn, err := openStack(ctx)
	if err != nil {
		return explain(err)
	}
	defer closeFn()
	return explain(f(s))
}

func openStack(ctx context.Context) (*stack.Stack, func(), error) {
	opts := stack.Options{Dir: variable("DIR"), Environ: os.Environ(), In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
	if v := variable("CLOUDFLARE_IPS"); v != "" {
		ips, err := render.ParseCloudflareIPs(v)
		if err != nil {
			return nil, func() {}, fmt.Errorf("CLOUDFLARE_IPS: %w", err)
		}
		opts.CloudflareIPs = ips
	}
	closeFn := func() {}
	if server := variable("SERVER"); server != "" {
		co := remote.ConnectOptions{Config: variable("SSH_CONFIG"), AgentSocket: variable("SSH_AUTH_SOCK"), Term: variable("TERM")}
		if on("SELFHOSTED_TRACE") {
			co.Trace = os.Stderr
		}
		// The handshake runs while the target does its local work.
		c, err := remote.Start(ctx, server, co)
		if err != nil {
			return nil, closeFn, err
		}
		closeFn = func() { c.Close() }
		opts.Server = c
		if term.IsTerminal(int(os.Stdout.Fd())) {
			opts.Upload = remote.ProgressBar(os.Stdout)
		}
	}
	s, err := stack.Open(".", opts)
	if err != nil {
		closeFn()
		return nil, func() {}, err
	}
	return s, closeFn, nil
}

// needsServer refuses a target that only makes sense on a server.
func needsServer(target string) error {
	if variable("SERVER") == "" {
		return explain(&stack.NeedsServerError{Verb: target})
	}
	return nil
}

// tty reports whether this process has a terminal to hand to a command.
func tty() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

// ask confirms destructive verbs on the terminal, or with CONFIRM=yes.
func ask(question string) error {
	a := confirm.Std()
	a.Preset = variable("CONFIRM")
	return a.Confirm(question)
}

// service is SERVICE, for targets that need one.
func service(target string) (string, error) {
	if s := variable("SERVICE"); s != "" {
		return s, nil
	}
	return "", mg.Fatalf(2, "%s needs SERVICE, one of the stack's services: SERVICE=mariadb go tool mage %s", target, target)
}

// services is SERVICE as a list: empty means all.
func services() []string {
	if s := variable("SERVICE"); s != "" {
		return []string{s}
	}
	return nil
}

// verbose reports whether failures show whole commands: mage -v, or
// SELFHOSTED_VERBOSE=1.
func verbose() bool { return mg.Verbose() || on("SELFHOSTED_VERBOSE") }
