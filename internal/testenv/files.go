package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFiles writes files (path relative to dir → content) below dir,
// creating folders, with mode 0644 (0600 for .env, which holds secrets).
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if filepath.Base(name) == ".env" {
			mode = 0o600
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}
