//go:build mage

package main

import (
	"context"
	"fmt"

	"github.com/magefile/mage/mg"

	"github.com/selfhosted-go/selfhosted/pkg/compose"
)

// LintBaseline renders, then writes the stack's lint errors to .lint-baseline.tsv: lint then fails only on new ones.
func LintBaseline(ctx context.Context) error {
	mg.CtxDeps(ctx, Render)
	s, err := compose.Load(ctx, ".")
	if err != nil {
		return err
	}
	up, err := compose.WriteBaseline(s)
	if err != nil {
		return err
	}
	for _, e := range up.Dropped {
		fmt.Printf("dropped %s: it no longer occurs\n", e)
	}
	fmt.Printf("wrote %d entr%s to %s: replace each %s with why it is accepted, and commit it; `go tool mage lint` now fails only on errors not listed there\n",
		len(up.Entries), map[bool]string{true: "y", false: "ies"}[len(up.Entries) == 1], compose.BaselineFile, compose.BaselineTODO)
	return nil
}

// EnvExample writes an .env.example skeleton of every variable the stack reads (appends the missing ones to an existing file).
func EnvExample(ctx context.Context) error {
	added, err := compose.WriteEnvExample(".")
	if err != nil {
		return err
	}
	if len(added) == 0 {
		fmt.Println(".env.example already lists every variable the stack reads")
		return nil
	}
	for _, name := range added {
		fmt.Println("added", name)
	}
	fmt.Printf("%d variable(s) added to .env.example: write what each TODO is, check the guessed `# secret: 32` lines, then `go tool mage secrets`\n", len(added))
	return nil
}
