//go:build mage

package main

import "context"

// Up starts the stack (or SERVICE) in the background: `docker compose up -d --remove-orphans`.
func Up(ctx context.Context) error { return notYet("up") }

// Restart restarts only SERVICE's containers; the others keep running untouched.
func Restart(ctx context.Context) error { return notYet("restart") }

// RestartHard recreates containers and their anonymous volumes: `up -d --force-recreate --renew-anon-volumes`.
func RestartHard(ctx context.Context) error { return notYet("restart-hard") }

// Down stops and removes SERVICE's containers.
func Down(ctx context.Context) error { return notYet("down") }

// DownEverything removes the whole stack with its volumes, after confirmation (CONFIRM=yes for scripts).
func DownEverything(ctx context.Context) error { return notYet("down-everything") }

// Rm removes SERVICE's stopped containers.
func Rm(ctx context.Context) error { return notYet("rm") }

// RmHard removes SERVICE's stopped containers with their anonymous volumes.
func RmHard(ctx context.Context) error { return notYet("rm-hard") }

// Prune removes unused Docker data, keeping containers labelled com.docker.keep-container=true.
func Prune(ctx context.Context) error { return notYet("prune") }

// Pull pulls the images of the stack (or SERVICE).
func Pull(ctx context.Context) error { return notYet("pull") }

// Exec runs COMMAND in SERVICE's running container and exits with its exit code.
func Exec(ctx context.Context) error { return notYet("exec") }

// Run runs COMMAND in a new, removed-after container of SERVICE and exits with its exit code.
func Run(ctx context.Context) error { return notYet("run") }

// Sh opens a shell in SERVICE's running container.
func Sh(ctx context.Context) error { return notYet("sh") }

// Logs follows the logs of the stack (or SERVICE).
func Logs(ctx context.Context) error { return notYet("logs") }

// Volumes lists the mounts of SERVICE's containers.
func Volumes(ctx context.Context) error { return notYet("volumes") }

// Ports lists the listening ports of the stack's containers.
func Ports(ctx context.Context) error { return notYet("ports") }

// Mem shows the memory use of the stack's containers.
func Mem(ctx context.Context) error { return notYet("mem") }

// CheckConfig validates the merged compose files (`config --quiet`) and runs the stack linter.
func CheckConfig(ctx context.Context) error { return notYet("check-config") }

// Lint checks every service against the stack's checklists; errors fail, warnings don't.
func Lint(ctx context.Context) error { return notYet("lint") }
