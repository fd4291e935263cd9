//go:build !mage

// Package selfhosted holds what a new stack repository starts from: the
// example stack (services/), its .env.example, .deployignore and git hooks,
// as this repository keeps them. Package scaffold copies them into a new
// repository; the code is in pkg/, the targets in targets/.
//
// (The mage build tag leaves this file out of Mage's view of this folder,
// where the magefiles are package main.)
package selfhosted

import "embed"

// Starter is the example stack and the files a stack repository needs.
// Rendered outputs of templates and built programs may sit next to these
// files in a working tree: the scaffold leaves them out.
//
//go:embed services/*/*.yml services/*/*.j2 services/*/*.md .env.example .deployignore .githooks/pre-commit
var Starter embed.FS
