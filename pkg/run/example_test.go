package run_test

import (
	"context"
	"fmt"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// A command is a value: built once, compared in tests, run where needed.
func Example() {
	c := run.Command{Args: []string{"echo", "hello, world"}, Env: []string{"TOKEN=secret"}}
	fmt.Println(c) // messages never show environment values

	out, err := run.Output(context.Background(), run.Local{}, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))

	err = run.Local{}.Run(context.Background(), run.Command{Args: []string{"sh", "-c", "exit 3"}}, run.Streams{})
	fmt.Println(run.ExitCode(err))
	// Output:
	// TOKEN=… echo 'hello, world'
	// hello, world
	// 3
}
