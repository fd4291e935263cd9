//go:build mage

package main

import "context"

// Render renders every *.j2 template under services/ to the same path minus .j2, and prints each file written.
func Render(ctx context.Context) error { return notYet("render") }

// BenchRender compares the whole `go tool mage render` process with a plain Python Jinja2 render of the same tree.
func BenchRender(ctx context.Context) error { return notYet("bench-render") }
