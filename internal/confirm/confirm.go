// Package confirm asks a person to confirm a destructive action, and lets
// scripts answer with CONFIRM=yes. Without a terminal and without
// CONFIRM=yes, the answer is no: nothing destructive ever runs unattended
// by accident.
package confirm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// ErrDeclined is returned when the action was not confirmed.
var ErrDeclined = errors.New("not confirmed")

// Asker confirms destructive actions.
type Asker struct {
	In  io.Reader
	Out io.Writer
	// Terminal tells whether In is a person at a terminal.
	Terminal bool
	// Preset is the CONFIRM variable: "yes" answers yes without asking.
	Preset string
}

// Std asks on this process's terminal, honouring CONFIRM.
func Std() Asker {
	return Asker{In: os.Stdin, Out: os.Stderr, Terminal: term.IsTerminal(int(os.Stdin.Fd())), Preset: os.Getenv("CONFIRM")}
}

// Confirm asks question and returns nil only for an explicit yes.
func (a Asker) Confirm(question string) error {
	if strings.EqualFold(strings.TrimSpace(a.Preset), "yes") {
		return nil
	}
	if !a.Terminal {
		return fmt.Errorf("%w: %s\nThere is no terminal to ask on: set CONFIRM=yes to confirm from a script", ErrDeclined, question)
	}
	fmt.Fprintf(a.Out, "%s\nType yes to continue: ", question)
	answer, err := bufio.NewReader(a.In).ReadString('\n')
	if err != nil && answer == "" {
		return fmt.Errorf("%w: no answer (%v)", ErrDeclined, err)
	}
	if strings.TrimSpace(answer) != "yes" {
		return fmt.Errorf("%w: the answer was %q, not yes", ErrDeclined, strings.TrimSpace(answer))
	}
	return nil
}
