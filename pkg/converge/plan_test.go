package converge

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/pkg/remote"
)

const dir = "/srv/my stack"

var (
	t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	r1 = "20261101T100000Z-aaaaaa"
	r2 = "20261101T110000Z-bbbbbb"
)

func file(path, hash string) remote.Entry {
	return remote.Entry{Path: path, Hash: hash, Mode: 0o644, Size: 1}
}

func manifest(entries ...remote.Entry) remote.Manifest {
	m := remote.Manifest{}
	for _, e := range entries {
		m[e.Path] = e
	}
	return m
}

func model(services map[string]string) Model {
	m := Model{Services: map[string]json.RawMessage{}}
	for name, def := range services {
		m.Services[name] = json.RawMessage(def)
	}
	return m
}

func timeline() remote.Timeline {
	return remote.NewTimeline(nil, []remote.Activation{{Time: t0, Release: r1}, {Time: t0.Add(time.Hour), Release: r2}})
}

func running(service string, started time.Time, binds ...string) Container {
	c := Container{ID: service + "-id", Name: service + "-1", Service: service, Status: "running", StartedAt: started}
	for _, b := range binds {
		c.Binds = append(c.Binds, Bind{Source: b, Destination: "/x"})
	}
	return c
}

func TestCompute(t *testing.T) {
	web := `{"image":"nginx","environment":{"A":"1"}}`
	oldFiles := manifest(file("services/web/site.conf", "h1"), file("services/web/html/index.html", "i1"), file("services/other/o.conf", "o1"))
	recorded := map[string]remote.ReleaseFiles{
		r1: {Manifest: oldFiles, Model: model(map[string]string{"web": web, "other": `{"image":"x"}`, "db": `{"image":"db"}`}).Encode()},
	}
	onR1 := t0.Add(time.Minute)
	tests := []struct {
		name       string
		containers []Container
		target     Target
		releases   map[string]remote.ReleaseFiles
		want       []Change
		unchanged  []string
	}{
		{
			name:       "a changed file a container mounts restarts it; others keep running",
			containers: []Container{running("web", onR1, dir+"/services/web/site.conf"), running("other", onR1, dir+"/services/other/o.conf")},
			target: Target{
				Manifest: manifest(file("services/web/site.conf", "h2"), file("services/web/html/index.html", "i1"), file("services/other/o.conf", "o1")),
				Model:    model(map[string]string{"web": web, "other": `{"image":"x"}`}),
			},
			want:      []Change{{Service: "web", Kind: Restart, Reasons: []string{"services/web/site.conf changed"}}},
			unchanged: []string{"other"},
		},
		{
			name:       "a file added to a mounted folder restarts; a change elsewhere does not",
			containers: []Container{running("web", onR1, dir+"/services/web/html"), running("other", onR1, dir+"/services/other/o.conf")},
			target: Target{
				Manifest: manifest(file("services/web/site.conf", "h9"), file("services/web/html/index.html", "i1"), file("services/web/html/new.css", "c"), file("services/other/o.conf", "o1")),
				Model:    model(map[string]string{"web": web, "other": `{"image":"x"}`}),
			},
			want:      []Change{{Service: "web", Kind: Restart, Reasons: []string{"services/web/html/new.css added"}}},
			unchanged: []string{"other"},
		},
		{
			name:       "a changed definition recreates, naming keys and never values",
			containers: []Container{running("web", onR1, dir+"/services/web/site.conf")},
			target: Target{
				Manifest: oldFiles,
				Model:    model(map[string]string{"web": `{"image":"nginx","environment":{"A":"secret-2"}}`}),
			},
			want: []Change{{Service: "web", Kind: Recreate, Reasons: []string{"environment.A changed"}}},
		},
		{
			name:       "new services are created, gone ones removed, stopped ones started",
			containers: []Container{{ID: "o", Service: "other", Status: "exited", StartedAt: onR1}, running("db", onR1)},
			target: Target{
				Manifest: oldFiles,
				Model:    model(map[string]string{"web": web, "other": `{"image":"x"}`}),
			},
			want: []Change{
				{Service: "other", Kind: Start, Reasons: []string{"stopped"}},
				{Service: "web", Kind: Create, Reasons: []string{"new service"}},
				{Service: "db", Kind: Remove, Reasons: []string{"no longer in the stack"}},
			},
		},
		{
			name:       "a one-shot task that exited is not restarted",
			containers: []Container{{ID: "m", Service: "migrate", Status: "exited", OneShot: true, StartedAt: onR1}},
			target:     Target{Manifest: oldFiles, Model: model(map[string]string{"migrate": `{"image":"m"}`})},
			releases:   map[string]remote.ReleaseFiles{r1: {Manifest: oldFiles, Model: model(map[string]string{"migrate": `{"image":"m"}`}).Encode()}},
			unchanged:  []string{"migrate"},
		},
		{
			name:       "a container on a release with no record is restarted to be sure",
			containers: []Container{running("web", t0.Add(-time.Hour), dir+"/services/web/site.conf")},
			target:     Target{Manifest: oldFiles, Model: model(map[string]string{"web": web})},
			want:       []Change{{Service: "web", Kind: Restart, Reasons: []string{"services/web/site.conf from an unrecorded release"}}},
		},
		{
			name:       "mounts outside DIR are not the stack's files",
			containers: []Container{running("web", onR1, "/var/run/docker.sock", dir+".releases/x", "/srv/my stackother/a")},
			target:     Target{Manifest: manifest(), Model: model(map[string]string{"web": web})},
			unchanged:  []string{"web"},
		},
		{
			name:       "without a recorded model only mounted files are compared",
			containers: []Container{running("web", onR1, dir+"/services/web/site.conf"), running("other", onR1)},
			target:     Target{Manifest: manifest(file("services/web/site.conf", "h2"))},
			want:       []Change{{Service: "web", Kind: Restart, Reasons: []string{"services/web/site.conf changed"}}},
			unchanged:  []string{"other"},
		},
		{
			name:       "many changed files are summarised",
			containers: []Container{running("web", onR1, dir+"/services/web")},
			target: Target{
				Manifest: manifest(file("services/web/a", "1"), file("services/web/b", "1"), file("services/web/c", "1"), file("services/web/d", "1")),
				Model:    model(map[string]string{"web": web}),
			},
			want: []Change{{Service: "web", Kind: Restart, Reasons: []string{"services/web/a added", "services/web/b added", "services/web/c added", "and 3 more"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			releases := tt.releases
			if releases == nil {
				releases = recorded
			}
			p := Compute(Input{Dir: dir, Containers: tt.containers, Timeline: timeline(), Releases: releases, Target: tt.target})
			assert.Equal(t, tt.want, p.Changes)
			assert.Equal(t, tt.unchanged, p.Unchanged)
		})
	}
}

func TestReferencedKeepsTheReleasesRunningContainersMount(t *testing.T) {
	tl := timeline()
	containers := []Container{
		running("web", t0.Add(30*time.Minute), dir+"/services/web/site.conf"), // on r1
		running("db", t0.Add(2*time.Hour)),                                    // mounts nothing of the tree
		running("edge", t0.Add(time.Hour+300*time.Millisecond), dir+"/x"),     // started during the switch to r2
		{ID: "s", Service: "stopped", Status: "exited", StartedAt: t0, Binds: []Bind{{Source: dir + "/y"}}},
	}
	assert.Equal(t, map[string]bool{r1: true, r2: true}, Referenced(dir, containers, tl))
	assert.Equal(t, map[string]bool{r1: true}, Referenced(dir, containers[:2], tl))
}

func TestModelOfWritesTheStackFolderAsDIR(t *testing.T) {
	web := types.ServiceConfig{Name: "web"}
	web.Image = "nginx"
	web.Volumes = []types.ServiceVolumeConfig{{Type: "bind", Source: "/home/me/stack/services/web/site.conf", Target: "/etc/site.conf"}}
	web.Build = &types.BuildConfig{Context: "/home/me/stack"}
	web.PullPolicy = "always"
	p := &types.Project{Services: types.Services{"web": web}}
	m, err := ModelOf(p, "/home/me/stack/")
	require.NoError(t, err)
	assert.Contains(t, string(m.Services["web"]), `"source":"${DIR}/services/web/site.conf"`)
	assert.NotContains(t, string(m.Services["web"]), "build", "build settings do not change a running container")
	assert.NotContains(t, string(m.Services["web"]), "pull_policy")
	again, ok := DecodeModel(m.Encode())
	require.True(t, ok)
	assert.Equal(t, m, again)
	_, ok = DecodeModel(nil)
	assert.False(t, ok)
}

func TestChangedNamesKeysNotValues(t *testing.T) {
	tests := []struct {
		old, new string
		want     []string
	}{
		{`{"image":"a"}`, `{"image":"a"}`, nil},
		{`{"image":"a"}`, `{"image":"b"}`, []string{"image"}},
		{`{"environment":{"P":"x","Q":"y"}}`, `{"environment":{"P":"z","R":"y"}}`, []string{"environment.P", "environment.Q", "environment.R"}},
		{`{"volumes":[{"source":"a"}]}`, `{"volumes":[{"source":"b"}]}`, []string{"volumes"}},
		{`{"labels":{"a":"1"}}`, `{"image":"x","labels":{"a":"1"}}`, []string{"image"}},
		{`not json`, `{}`, []string{"definition"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Changed(json.RawMessage(tt.old), json.RawMessage(tt.new)), "%s → %s", tt.old, tt.new)
	}
}

func TestReadiness(t *testing.T) {
	tests := []struct {
		name          string
		c             Container
		settled       bool
		ready, failed bool
		state         string
	}{
		{"healthy", Container{Status: "running", Health: "healthy"}, false, true, false, "healthy"},
		{"starting", Container{Status: "running", Health: "starting"}, true, false, false, "health: starting"},
		{"unhealthy fails at once", Container{Status: "running", Health: "unhealthy"}, true, false, true, "unhealthy"},
		{"no healthcheck, just started", Container{Status: "running"}, false, false, false, "just started"},
		{"no healthcheck, still running a poll later", Container{Status: "running"}, true, true, false, "running"},
		{"exited fails", Container{Status: "exited", ExitCode: 3}, true, false, true, "exited with status 3"},
		{"a one-shot task that exited 0 is done", Container{Status: "exited", OneShot: true}, false, true, false, "done"},
		{"a one-shot task that failed", Container{Status: "exited", OneShot: true, ExitCode: 1}, false, false, true, "exited with status 1"},
		{"crash loop", Container{Status: "restarting"}, true, false, true, "restarting after a crash"},
		{"created, not yet started", Container{Status: "created"}, false, false, false, "created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready, state, failed := readiness(tt.c, 0, tt.settled)
			assert.Equal(t, tt.ready, ready)
			assert.Equal(t, tt.failed, failed)
			assert.Equal(t, tt.state, state)
		})
	}
}

func TestParseInspect(t *testing.T) {
	data := `[{"Id":"abc","Name":"/p-web-1","State":{"Status":"running","ExitCode":0,"StartedAt":"2026-11-01T10:00:01.5Z","Health":{"Status":"healthy"}},
	"RestartCount":2,"Config":{"Labels":{"com.docker.compose.service":"web","com.docker.compose.config-hash":"h","selfhosted.lint.one-shot":"true"}},
	"Mounts":[{"Type":"bind","Source":"/srv/s/conf","Destination":"/conf"},{"Type":"volume","Source":"/var/lib/docker/volumes/v/_data","Destination":"/data"}]}]`
	got, err := ParseInspect([]byte(data))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, Container{ID: "abc", Name: "p-web-1", Service: "web", Status: "running", Health: "healthy", RestartCount: 2,
		StartedAt: time.Date(2026, 11, 1, 10, 0, 1, 5e8, time.UTC), OneShot: true, ConfigHash: "h",
		Binds: []Bind{{Source: "/srv/s/conf", Destination: "/conf"}}}, got[0])
	_, err = ParseInspect([]byte("Error: no such container"))
	assert.Error(t, err)
}
