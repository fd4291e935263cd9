package testenv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoTest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    Kind
		options string
		want    []string
	}{
		{"unit", UnitTests, "", []string{"go", "test", "-skip", "^TestIntegration", "./..."}},
		{"unit with options", UnitTests, "-v -run 'TestRender|TestLint'", []string{"go", "test", "-skip", "^TestIntegration", "-v", "-run", "TestRender|TestLint", "./..."}},
		{"integration", IntegrationTests, "", []string{"go", "test", "-count=1", "-timeout=45m", "-run", "^TestIntegration", "./..."}},
		{"all", AllTests, "-v", []string{"go", "test", "-count=1", "-timeout=45m", "-v", "./..."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := GoTest(tc.kind, tc.options)
			require.NoError(t, err)
			assert.Equal(t, tc.want, cmd.Args)
		})
	}
}

func TestGoTestRejectsBadQuoting(t *testing.T) {
	_, err := GoTest(UnitTests, "-run 'unclosed")
	require.ErrorContains(t, err, "OPTIONS")
}
