package compose

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

func TestBuilders(t *testing.T) {
	p := Project{Name: "demo", Files: []string{"services/a/docker-compose.a.yml", "services/b/docker-compose.b.yml"}}
	base := "docker compose --project-directory . --project-name demo -f services/a/docker-compose.a.yml -f services/b/docker-compose.b.yml "
	for _, tc := range []struct {
		name string
		cmd  run.Command
		want string
	}{
		{"up all", p.Up(), "up -d --remove-orphans"},
		{"up one", p.Up("db"), "up -d --remove-orphans db"},
		{"restart one", p.Restart("db"), "restart db"},
		{"restart-hard", p.RestartHard("db"), "up -d --remove-orphans --force-recreate --renew-anon-volumes db"},
		{"down one", p.Down("db"), "rm --stop --force db"},
		{"down all", p.Down(""), "down --remove-orphans"},
		{"down-everything", p.DownEverything(), "down --volumes --remove-orphans"},
		{"rm", p.Rm("db"), "rm --force db"},
		{"rm-hard", p.RmHard("db"), "rm --force --volumes db"},
		{"pull", p.Pull(""), "pull"},
		{"exec with tty", p.Exec("db", true, "ls", "-l"), "exec db ls -l"},
		{"exec without tty", p.Exec("db", false, "ls"), "exec -T db ls"},
		{"run", p.Run("app", false, "migrate"), "run --rm -T app migrate"},
		{"sh", p.Sh("app", true), "exec app sh"},
		{"logs", p.Logs("app"), "logs --follow --tail 200 app"},
		{"config", p.Config(), "config --quiet"},
		{"stop", p.Stop("a", "b"), "stop a b"},
		{"start", p.Start(), "start"},
		{"ps", p.PS(), "ps --all --format json"},
		{"containers", p.Containers("db"), "ps --all --quiet db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, strings.Fields(base+tc.want), tc.cmd.Args)
		})
	}
	assert.True(t, p.Exec("db", true).Interactive)
	assert.False(t, p.Exec("db", false).Interactive)
	assert.True(t, p.Logs("").Interactive)
}

func TestPruneKeepsLabelledContainers(t *testing.T) {
	assert.Equal(t, []string{"docker", "system", "prune", "--force", "--filter", "label!=com.docker.keep-container=true"}, Prune().Args)
}

func TestProjectDirCarriesToCommands(t *testing.T) {
	p := Project{Name: "x", Dir: "/srv/stack"}
	assert.Equal(t, "/srv/stack", p.Up().Dir)
}
