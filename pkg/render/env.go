package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

// Env returns the `env` templates see: the values of root/.env, parsed by
// Docker Compose's own dotenv parser (quotes, escapes, ${VAR} interpolation,
// comments), overlaid by environ ("KEY=value" strings, such as
// os.Environ(), which interpolation sees too). A missing .env is not an
// error: environ alone is used.
func Env(root string, environ []string) (map[string]string, error) {
	overlay := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			overlay[k] = v
		}
	}
	path := filepath.Join(root, ".env")
	env := map[string]string{}
	if _, err := os.Stat(path); err == nil {
		fromFile, err := dotenv.GetEnvFromFile(overlay, []string{path})
		if err != nil {
			return nil, fmt.Errorf("%s: %w (see https://docs.docker.com/compose/environment-variables/variable-interpolation/#env-file-syntax)", path, err)
		}
		env = fromFile
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	for k, v := range overlay {
		env[k] = v
	}
	return env, nil
}
