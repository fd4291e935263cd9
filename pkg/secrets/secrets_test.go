package secrets

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

const example = `# The project.
COMPOSE_PROJECT_NAME=demo

# A password.
# secret: 24
DB_PASSWORD=

# A key.
# secret: 64
KEY=
`

func TestParseExample(t *testing.T) {
	vars, err := ParseExample([]byte(example))
	require.NoError(t, err)
	assert.Equal(t, []Variable{
		{Name: "COMPOSE_PROJECT_NAME", Example: "demo", Line: 2},
		{Name: "DB_PASSWORD", Secret: true, Length: 24, Line: 6},
		{Name: "KEY", Secret: true, Length: 64, Line: 10},
	}, vars)

	_, err = ParseExample([]byte("# secret: 4\nX=\n"))
	assert.ErrorContains(t, err, "16 to 512")
	_, err = ParseExample([]byte("not an assignment\n"))
	assert.ErrorContains(t, err, ".env.example:1")
}

func TestGenerate(t *testing.T) {
	a, err := Generate(32)
	require.NoError(t, err)
	b, _ := Generate(32)
	assert.Len(t, a, 32)
	assert.NotEqual(t, a, b)
	assert.Regexp(t, `^[A-Za-z0-9]{32}$`, a)
}

func TestFillCreatesThenNeverOverwrites(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, ExampleFile), []byte(example), 0o644))
	ctx := context.Background()

	added, err := Fill(ctx, root, run.Local{})
	require.NoError(t, err)
	assert.Equal(t, []string{"DB_PASSWORD", "KEY"}, added)
	st, err := os.Stat(filepath.Join(root, EnvFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	first, _ := dotenv.Read(filepath.Join(root, EnvFile))
	assert.Equal(t, "demo", first["COMPOSE_PROJECT_NAME"])
	assert.Len(t, first["DB_PASSWORD"], 24)
	assert.Len(t, first["KEY"], 64)

	// A new secret in the example is added; existing values stay.
	require.NoError(t, os.WriteFile(filepath.Join(root, ExampleFile), []byte(example+"\n# secret: 16\nNEW_TOKEN=\n"), 0o644))
	added, err = Fill(ctx, root, run.Local{})
	require.NoError(t, err)
	assert.Equal(t, []string{"NEW_TOKEN"}, added)
	second, _ := dotenv.Read(filepath.Join(root, EnvFile))
	assert.Equal(t, first["DB_PASSWORD"], second["DB_PASSWORD"])
	assert.Equal(t, first["KEY"], second["KEY"])

	added, err = Fill(ctx, root, run.Local{})
	require.NoError(t, err)
	assert.Empty(t, added)
}

func TestFillFillsEmptyValuesInPlace(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, ExampleFile), []byte(example), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, EnvFile), []byte("# mine\nCOMPOSE_PROJECT_NAME=prod\nDB_PASSWORD=\nKEY=kept\n"), 0o600))
	added, err := Fill(context.Background(), root, run.Local{})
	require.NoError(t, err)
	assert.Equal(t, []string{"DB_PASSWORD"}, added)
	data, _ := os.ReadFile(filepath.Join(root, EnvFile))
	lines := strings.Split(string(data), "\n")
	assert.Equal(t, "# mine", lines[0])
	assert.Equal(t, "COMPOSE_PROJECT_NAME=prod", lines[1])
	assert.Regexp(t, `^DB_PASSWORD=[A-Za-z0-9]{24}$`, lines[2])
	assert.Equal(t, "KEY=kept", lines[3])
}

func gitRepo(t *testing.T, gitignore string) string {
	t.Helper()
	testenv.RequireCommand(t, "git")
	root := t.TempDir()
	for _, args := range [][]string{{"init", "-q"}} {
		_, err := run.Output(context.Background(), run.Local{Dir: root}, run.Command{Args: append([]string{"git"}, args...)})
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, ".gitignore"), []byte(gitignore), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, ExampleFile), []byte(example), 0o644))
	return root
}

func TestIntegrationFillRefusesAnEnvGitWouldCommit(t *testing.T) {
	ctx := context.Background()
	root := gitRepo(t, "")
	_, err := Fill(ctx, root, run.Local{})
	var nie *NotIgnoredError
	require.ErrorAs(t, err, &nie)
	assert.Contains(t, err.Error(), "add `.env` to .gitignore")
	assert.NoFileExists(t, filepath.Join(root, EnvFile))

	root = gitRepo(t, ".env\n")
	added, err := Fill(ctx, root, run.Local{})
	require.NoError(t, err)
	assert.Len(t, added, 2)

	// Tracked despite .gitignore (added with -f): refused.
	_, err = run.Output(ctx, run.Local{Dir: root}, run.Command{Args: []string{"git", "add", "-f", EnvFile}})
	require.NoError(t, err)
	_, err = Fill(ctx, root, run.Local{})
	require.ErrorAs(t, err, &nie)
	assert.True(t, nie.Tracked)
	assert.Contains(t, err.Error(), "git rm --cached .env")
}

func TestEnsureEnv(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, ExampleFile), []byte(example), 0o644))
	var out strings.Builder
	created, err := EnsureEnv(context.Background(), root, run.Local{}, &out)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Contains(t, out.String(), "Created .env")
	assert.Contains(t, out.String(), "DB_PASSWORD, KEY")
	env, _ := os.ReadFile(filepath.Join(root, EnvFile))
	for _, secret := range []string{"DB_PASSWORD", "KEY"} {
		assert.Contains(t, string(env), secret+"=")
	}
	assert.NotContains(t, out.String(), strings.Split(strings.Split(string(env), "DB_PASSWORD=")[1], "\n")[0], "values are never printed")

	created, err = EnsureEnv(context.Background(), root, run.Local{}, &out)
	require.NoError(t, err)
	assert.False(t, created)
}
