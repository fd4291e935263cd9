package compose

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
)

// EnsureEnvFile creates root/.env from root/.env.example when .env is
// missing, so a fresh clone runs with the example's values. It reports
// whether it created the file. .env holds secrets: it is written with mode
// 0600 and must stay gitignored.
func EnsureEnvFile(root string) (bool, error) {
	env := filepath.Join(root, ".env")
	if _, err := os.Stat(env); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	example, err := os.ReadFile(filepath.Join(root, ".env.example"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := atomicfile.WriteFile(env, example, 0o600); err != nil {
		return false, fmt.Errorf("create .env from .env.example: %w", err)
	}
	return true, nil
}
