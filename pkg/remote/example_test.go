package remote_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/selfhosted-go/selfhosted/pkg/remote"
)

// SERVER names a Host of the ssh config, resolved as OpenSSH does.
func ExampleResolve() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	config := filepath.Join(dir, "config")
	os.WriteFile(config, []byte("Host vps\n  HostName 203.0.113.10\n  User deploy\n  Port 2222\n"), 0o600)

	h, err := remote.Resolve("vps", config)
	fmt.Println(h, err)
	_, err = remote.Resolve("vsp", config)
	fmt.Println(err != nil)
	// Output:
	// deploy@203.0.113.10:2222 <nil>
	// true
}

// Paths reach the server's shell quoted, a leading ~/ still expanded.
func ExampleShellPath() {
	fmt.Println(remote.ShellPath("~/my stack"))
	fmt.Println(remote.ShellPath("/srv/$(reboot)"))
	// Output:
	// "$HOME"/'my stack'
	// '/srv/$(reboot)'
}
