//go:build mage

package main

import "context"

// Secrets generates the missing secrets of .env.example into .env (mode 0600, gitignored), printing only names.
func Secrets(ctx context.Context) error { return notYet("secrets") }
