//go:build mage

package main

import "context"

// Hooks installs the project's git hooks (secret scanning, gofmt, go vet) via core.hooksPath.
func Hooks(ctx context.Context) error { return notYet("hooks") }
