package converge_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/converge"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
)

// A plan from what the Engine and the server report: web mounts a file
// that changed since the release it started on.
func ExampleCompute() {
	started := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	old, new := "20261127T110000Z-aaaaaa", "20261127T130000Z-bbbbbb"
	model := converge.Model{Services: map[string]json.RawMessage{"web": json.RawMessage(`{"image":"nginx"}`), "db": json.RawMessage(`{"image":"mariadb"}`)}}
	plan := converge.Compute(converge.Input{
		Dir: "/srv/stack",
		Containers: []converge.Container{
			{ID: "1", Service: "web", Status: "running", StartedAt: started, Binds: []converge.Bind{{Source: "/srv/stack/services/web/site.conf"}}},
			{ID: "2", Service: "db", Status: "running", StartedAt: started},
		},
		Timeline: remote.NewTimeline(nil, []remote.Activation{{Time: started.Add(-time.Hour), Release: old}}),
		Releases: map[string]remote.ReleaseFiles{old: {
			Manifest: remote.Manifest{"services/web/site.conf": {Path: "services/web/site.conf", Hash: "1"}},
			Model:    model.Encode(),
		}},
		Target: converge.Target{Release: new, Model: model,
			Manifest: remote.Manifest{"services/web/site.conf": {Path: "services/web/site.conf", Hash: "2"}}},
	})
	fmt.Print(plan)
	// Output:
	// restart   web (services/web/site.conf changed)
	// unchanged db
}
