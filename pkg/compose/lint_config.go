package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// LintConfigFile, committed at a stack's root, holds its lint settings.
// Without it a stack gets the defaults: the newer rules are warnings.
const LintConfigFile = ".selfhosted-lint.yml"

// LintConfig is a stack's lint settings.
type LintConfig struct {
	// Strict makes the warnings of StrictRules errors: for a stack that
	// has adopted them all, so a regression fails lint and deploy.
	Strict bool `yaml:"strict"`
}

// ReadLintConfig reads root's LintConfigFile; a missing file is the
// default configuration. Unknown keys are refused, so that a typo doesn't
// silently leave a stack lenient.
func ReadLintConfig(root string) (LintConfig, error) {
	var cfg LintConfig
	data, err := os.ReadFile(filepath.Join(root, LintConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("read %s: %w", LintConfigFile, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return LintConfig{}, fmt.Errorf("%s: %w", LintConfigFile, err)
	}
	return cfg, nil
}
