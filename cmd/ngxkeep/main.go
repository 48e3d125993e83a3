// Command ngxkeep parses, lints, translates and runs nginx configurations with
// a focus on keep-alive, upstream reuse, timeouts, retries and close behaviour.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit codes shared by every subcommand.
const (
	exitOK       = 0 // success, nothing at or above the failure threshold
	exitFindings = 1 // lint findings at or above --fail-on
	exitInput    = 2 // bad input or usage
	exitInternal = 3 // internal error
)

// exitError carries the process exit code chosen by a subcommand.
type exitError struct {
	code int
	err  error // may be nil when the command already reported everything
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// inputErrorf returns an error that exits with exitInput.
func inputErrorf(format string, args ...any) error {
	return &exitError{code: exitInput, err: fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the CLI and returns the exit code; it never calls os.Exit so
// tests (testscript) can drive it in-process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "ngxkeep: internal error: %v\n", r)
			code = exitInternal
		}
	}()
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "ngxkeep: %v\n", ee.err)
		}
		return ee.code
	}
	// Errors cobra produces itself (unknown command or flag, bad arg count)
	// are usage errors.
	fmt.Fprintf(stderr, "ngxkeep: %v\n", err)
	return exitInput
}
