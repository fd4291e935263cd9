package jinja

import (
	"fmt"
)

// SyntaxError is an error found while parsing, with its position in the
// template.
type SyntaxError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// UndefinedError reports a variable used without a value (Jinja's
// StrictUndefined). Line and Col are those of the tag that used it.
type UndefinedError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *UndefinedError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// RuntimeError is any other error while rendering: a type error, a
// failed include, a macro called with a wrong argument… Line and Col are
// those of the tag that failed.
type RuntimeError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *RuntimeError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// failure is what evaluation panics with; the statement that was running
// recovers it and adds its file and line.
type failure struct {
	msg       string
	undefined bool
}

func throw(format string, args ...any) {
	panic(&failure{msg: fmt.Sprintf(format, args...)})
}

// undefined is a name or attribute that resolved to nothing. As with
// Jinja's StrictUndefined, anything but `is defined`, `default` and being
// passed around fails.
type undefined struct {
	name string // the expression that produced it, as written ("env.DOMAIN")
	hint string // set when the reason is not a missing name
	// lenient is Jinja's plain Undefined, which a conditional expression
	// without else gives even under StrictUndefined: it prints as "", is
	// false and empty, and fails like the strict one otherwise.
	lenient bool
}

func (u *undefined) message() string {
	if u.hint != "" {
		return u.hint
	}
	return fmt.Sprintf("undefined variable %s (use `default(…)` or `is defined` where it may be missing)", u.name)
}

func (u *undefined) fail() {
	panic(&failure{msg: u.message(), undefined: true})
}

// mustDefined fails when v is undefined.
func mustDefined(v any) any {
	if u, ok := v.(*undefined); ok {
		u.fail()
	}
	return v
}
