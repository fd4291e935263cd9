//go:build mage

package main

import (
	"context"
	"fmt"

	"github.com/selfhosted-go/selfhosted/pkg/hooks"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Hooks installs the project's git hooks (secret scanning, gofmt, go vet) via core.hooksPath.
func Hooks(ctx context.Context) error {
	if err := hooks.Install(ctx, run.Local{}, "."); err != nil {
		return err
	}
	fmt.Println("hooks: git now runs .githooks/pre-commit (gitleaks on staged changes, gofmt, go vet)")
	return nil
}
