package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/converge"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
)

// Five deploys that each change web's mounted file and folder: every time
// web sees the new content, the services whose files did not change keep
// their containers, and no container ever loses its mounted files to the
// pruning of old releases.
func TestIntegrationDeployConvergesOnlyWhatChanged(t *testing.T) {
	f := newFixture(t, "")
	_, err := f.deploy(DeployOptions{})
	require.NoError(t, err)
	assert.Equal(t, "site v0\n", f.read("web", "/site.conf"))
	other, db := f.container("other"), f.container("db")
	assert.Equal(t, "healthy", f.container("web").Health)

	for i := 1; i <= 5; i++ {
		v := string(rune('0' + i))
		f.commit(map[string]string{"services/web/site.conf": "site v" + v + "\n", "services/web/conf/page": "page v" + v + "\n"})
		web := f.container("web")
		res, err := f.deploy(DeployOptions{})
		require.NoError(t, err, "deploy %d", i)
		assert.Equal(t, []converge.Change{{Service: "web", Kind: converge.Restart,
			Reasons: []string{"services/web/conf/page changed", "services/web/site.conf changed"}}}, res.Plan.Changes)
		assert.Equal(t, []string{"web"}, res.Applied.Touched)

		assert.Equal(t, "site v"+v+"\n", f.read("web", "/site.conf"), "a changed mounted file reaches the container")
		assert.Equal(t, "page v"+v+"\n", f.read("web", "/conf/page"), "a changed file in a mounted folder reaches the container")
		assert.NotEqual(t, web.Started, f.container("web").Started)
		assert.Equal(t, other, f.container("other"), "other's files did not change: same container, same start")
		assert.Equal(t, db, f.container("db"))
		assert.Equal(t, "other v0\n", f.read("other", "/o.conf"), "other still sees its files: their release is kept")
		assert.Contains(t, docker(t, "exec", f.project+"-web-1", "ls", "/conf"), "healthy")
	}
	releases := f.releases()
	assert.LessOrEqual(t, len(releases), KeepReleases+2, "old releases are pruned: %v", releases)
	assert.Contains(t, releases, f.releaseAt(t, other), "the release other runs on is kept")
}

// releaseAt is the release a container started on.
func (f *fixture) releaseAt(t *testing.T, c container) string {
	st, err := f.client.Inspect(context.Background(), f.dir)
	require.NoError(t, err)
	started, err := parseTime(c.Started)
	require.NoError(t, err)
	return st.Timeline().At(started)
}

func TestIntegrationDeployRecreatesOnAChangedDefinitionOrEnvironment(t *testing.T) {
	f := newFixture(t, "")
	_, err := f.deploy(DeployOptions{})
	require.NoError(t, err)
	web, other := f.container("web"), f.container("other")

	// .env is not committed: a changed value is deployed with ALLOW_DIRTY.
	require.NoError(t, os.WriteFile(filepath.Join(f.repo, ".env"), []byte("COMPOSE_PROJECT_NAME="+f.project+"\nFOO=s3cr3t-v4lue\n"), 0o600))
	res, err := f.deploy(DeployOptions{AllowDirty: true})
	require.NoError(t, err)
	assert.Equal(t, []converge.Change{{Service: "db", Kind: converge.Recreate, Reasons: []string{"environment.FOO changed"}}}, res.Plan.Changes)
	assert.Equal(t, "s3cr3t-v4lue", docker(t, "exec", f.project+"-db-1", "sh", "-c", "echo $FOO"))
	assert.Equal(t, web, f.container("web"))
	assert.Equal(t, other, f.container("other"))
	assert.NotContains(t, f.out.String(), "s3cr3t", "values never appear in a plan")
}

// A release whose web never becomes healthy is rolled back: DIR and web
// return to the previous release, which serves again.
func TestIntegrationUnhealthyDeployIsRolledBack(t *testing.T) {
	f := newFixture(t, "")
	_, err := f.deploy(DeployOptions{})
	require.NoError(t, err)
	good := f.current()

	f.commit(map[string]string{"services/web/conf/healthy": "", "services/web/site.conf": "broken\n"})
	_, err = f.deploy(DeployOptions{})
	var failed *FailedError
	require.ErrorAs(t, err, &failed)
	var unhealthy *converge.UnhealthyError
	require.ErrorAs(t, err, &unhealthy)
	assert.Equal(t, "web", unhealthy.Service)
	assert.Equal(t, good, failed.RolledBackTo)
	assert.NoError(t, failed.RollbackErr)

	assert.Equal(t, good, f.current(), "DIR points to the previous release again")
	assert.Equal(t, "site v0\n", f.read("web", "/site.conf"), "web serves the previous release again")
	assert.Equal(t, "healthy", f.container("web").Health)
	releases, err := f.stack().Releases(context.Background())
	require.NoError(t, err)
	var failedRelease remote.Release
	for _, r := range releases {
		if r.ID == failed.Release {
			failedRelease = r
		}
	}
	assert.NotEmpty(t, failedRelease.Failed, "the failed release is marked")
	prev, ok := remote.Previous(releases, nil, good)
	if ok {
		assert.NotEqual(t, failed.Release, prev, "a rollback never returns to a failed release")
	}
}

func TestIntegrationReleasesAndRollback(t *testing.T) {
	f := newFixture(t, "")
	_, err := f.deploy(DeployOptions{})
	require.NoError(t, err)
	first := f.current()
	head1 := strings.TrimSpace(gitOut(t, f.repo, "rev-parse", "HEAD"))
	f.commit(map[string]string{"services/web/site.conf": "site v1\n"})
	_, err = f.deploy(DeployOptions{})
	require.NoError(t, err)
	second := f.current()
	head2 := strings.TrimSpace(gitOut(t, f.repo, "rev-parse", "HEAD"))

	releases, err := f.stack().Releases(context.Background())
	require.NoError(t, err)
	require.Len(t, releases, 2)
	assert.Equal(t, []string{first, second}, []string{releases[0].ID, releases[1].ID})
	assert.Equal(t, []string{head1, head2}, []string{releases[0].Commit, releases[1].Commit}, "each release records its commit")
	assert.True(t, releases[1].Current)
	assert.NotEmpty(t, releases[0].Who)

	other := f.container("other")
	id, err := f.stack().Rollback(context.Background(), RollbackOptions{})
	require.NoError(t, err)
	assert.Equal(t, first, id)
	assert.Equal(t, first, f.current())
	assert.Equal(t, "site v0\n", f.read("web", "/site.conf"), "rollback converges like a deploy")
	assert.Equal(t, other, f.container("other"), "services whose files are the same keep running")

	id, err = f.stack().Rollback(context.Background(), RollbackOptions{Release: second})
	require.NoError(t, err)
	assert.Equal(t, second, id)
	assert.Equal(t, "site v1\n", f.read("web", "/site.conf"))

	_, err = f.stack().Rollback(context.Background(), RollbackOptions{Release: "20990101T000000Z-abcdef"})
	var unknown *remote.UnknownReleaseError
	require.ErrorAs(t, err, &unknown)
	assert.Len(t, unknown.Releases, 2)
}

// A dry run names each service that would change, and why, and changes
// nothing on the server.
func TestIntegrationDeployPlanNamesTheServicesAndWhy(t *testing.T) {
	f := newFixture(t, "")
	_, err := f.deploy(DeployOptions{})
	require.NoError(t, err)
	before := f.releases()
	web, db := f.container("web"), f.container("db")

	f.commit(map[string]string{
		"services/web/site.conf":                  "site v1\n",
		"services/other/docker-compose.other.yml": "",
		"services/other/o.conf":                   "",
		"services/extra/docker-compose.extra.yml": strings.ReplaceAll(dbService, "db:", "extra:"),
	})
	require.NoError(t, os.WriteFile(filepath.Join(f.repo, ".env"), []byte("COMPOSE_PROJECT_NAME="+f.project+"\nFOO=two\n"), 0o600))
	f.out.Reset()
	res, err := f.deploy(DeployOptions{DryRun: true, AllowDirty: true})
	require.NoError(t, err)
	assert.Equal(t, []converge.Change{
		{Service: "db", Kind: converge.Recreate, Reasons: []string{"environment.FOO changed"}},
		{Service: "extra", Kind: converge.Create, Reasons: []string{"new service"}},
		{Service: "web", Kind: converge.Restart, Reasons: []string{"services/web/site.conf changed"}},
		{Service: "other", Kind: converge.Remove, Reasons: []string{"no longer in the stack"}},
	}, res.Plan.Changes)
	out := f.out.String()
	assert.Contains(t, out, "restart   web (services/web/site.conf changed)")
	assert.Contains(t, out, "delete  services/other")
	assert.Nil(t, res.Push)
	assert.Equal(t, before, f.releases(), "a dry run uploads nothing")
	assert.Equal(t, web, f.container("web"))
	assert.Equal(t, db, f.container("db"))
}

func TestIntegrationUpBeforeAnyDeployNamesTheMissingStack(t *testing.T) {
	f := newFixture(t, "")
	err := f.stack().Up(context.Background(), UpOptions{})
	var none *remote.NoStackError
	require.ErrorAs(t, err, &none)
	assert.Equal(t, f.dir, none.Dir)
	// Every other verb says the same instead of a raw `cd` error.
	err = f.stack().Runner().Run(context.Background(), f.stack().Project.Logs(""), f.stack().streams())
	require.ErrorAs(t, err, &none)
}

// push-files and then up converge as deploy does.
func TestIntegrationPushFilesThenUpConverges(t *testing.T) {
	f := newFixture(t, "")
	_, err := f.deploy(DeployOptions{})
	require.NoError(t, err)
	other := f.container("other")
	f.commit(map[string]string{"services/web/conf/page": "page v1\n"})
	res, err := f.stack().PushFiles(context.Background(), PushOptions{})
	require.NoError(t, err)
	assert.Contains(t, f.out.String(), "now points to release "+res.Release, "the summary names the release, not a staging folder")
	assert.Equal(t, "page v0\n", f.read("web", "/conf/page"), "push-files alone does not touch the containers")
	require.NoError(t, f.stack().Up(context.Background(), UpOptions{}))
	assert.Equal(t, "page v1\n", f.read("web", "/conf/page"))
	assert.Equal(t, other, f.container("other"))
}

// push-files prunes old releases, never one a running container mounts:
// after a deploy, several pushes without up (each listing the containers
// in its lock's round trip, its upload gone ahead) leave the deployed
// release in place, and the containers still read their mounted folder.
func TestIntegrationPushFilesNeverPrunesAMountedRelease(t *testing.T) {
	f := newFixture(t, "")
	deployed, err := f.deploy(DeployOptions{})
	require.NoError(t, err)
	for i := 1; i <= KeepReleases+2; i++ {
		f.commit(map[string]string{"services/web/conf/page": fmt.Sprintf("page v%d\n", i)})
		_, err := f.stack().PushFiles(context.Background(), PushOptions{})
		require.NoError(t, err)
	}
	releases, err := f.stack().Releases(context.Background())
	require.NoError(t, err)
	var ids []string
	for _, r := range releases {
		ids = append(ids, r.ID)
	}
	assert.Contains(t, ids, deployed.Push.Release, "the release the containers mount is kept")
	assert.LessOrEqual(t, len(ids), KeepReleases+2, "older releases nothing mounts are pruned")
	assert.Equal(t, "page v0\n", f.read("web", "/conf/page"), "the mounted folder is intact")
}

// A Go program written as another tool would, in a module of its own
// (examples/deploy), deploys with pkg/ alone.
func TestIntegrationAConsumerProgramDeploysWithTheLibraryAlone(t *testing.T) {
	f := newFixture(t, "")
	bin := filepath.Join(t.TempDir(), "deploy")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join(testenv.ModuleDir(t), "examples", "deploy")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	cmd := exec.Command(bin, "-server", f.sshd.Alias, "-ssh-config", f.sshd.Config, "-dir", f.dir, "-root", f.repo)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `release \S+: \d+ file\(s\) uploaded, 3 service\(s\) touched`, string(out))
	assert.Equal(t, "site v0\n", f.read("web", "/site.conf"))
}
