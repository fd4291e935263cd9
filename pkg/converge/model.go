package converge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Model is the compose definition of every service of a release, as JSON
// with the stack's own folder written as ${DIR}: the same tree has the
// same model on a laptop and on the server. A release records its model,
// so a later deploy can say which keys of a service changed, never their
// values (they may be secrets).
type Model struct {
	Services map[string]json.RawMessage `json:"services"`
}

// dirToken stands for the stack's folder in a model.
const dirToken = "${DIR}"

// ModelOf records project, whose paths were resolved against root.
func ModelOf(project *types.Project, root string) (Model, error) {
	m := Model{Services: map[string]json.RawMessage{}}
	for name, svc := range project.Services {
		// Keys that do not change a container: compose leaves them out of
		// its own config hash too.
		svc.Build = nil
		svc.PullPolicy = ""
		svc.Scale = nil
		svc.DependsOn = nil
		svc.Profiles = nil
		if svc.Deploy != nil {
			d := *svc.Deploy
			d.Replicas = nil
			svc.Deploy = &d
		}
		raw, err := json.Marshal(svc)
		if err != nil {
			return m, fmt.Errorf("service %s: %w", name, err)
		}
		if root != "" {
			quoted, _ := json.Marshal(strings.TrimSuffix(root, "/"))
			inner := quoted[1 : len(quoted)-1]
			raw = bytes.ReplaceAll(raw, inner, []byte(dirToken))
		}
		m.Services[name] = raw
	}
	return m, nil
}

// Encode is the model as one line of JSON.
func (m Model) Encode() []byte {
	data, _ := json.Marshal(m)
	return data
}

// DecodeModel reads a recorded model; nil or broken data is no model.
func DecodeModel(data []byte) (Model, bool) {
	var m Model
	if len(data) == 0 || json.Unmarshal(data, &m) != nil || m.Services == nil {
		return Model{}, false
	}
	return m, true
}

// Changed lists the keys of a service definition that differ between old
// and new: top-level keys, and the entries of maps one level down
// ("environment.DB_HOST", "labels.traefik.enable"). Values are never
// shown.
func Changed(old, new json.RawMessage) []string {
	var a, b map[string]any
	if json.Unmarshal(old, &a) != nil || json.Unmarshal(new, &b) != nil {
		return []string{"definition"}
	}
	var out []string
	for _, k := range unionKeys(a, b) {
		va, vb := a[k], b[k]
		if equalJSON(va, vb) {
			continue
		}
		ma, okA := va.(map[string]any)
		mb, okB := vb.(map[string]any)
		if okA && okB && mapOfScalars(ma) && mapOfScalars(mb) {
			for _, sub := range unionKeys(ma, mb) {
				if !equalJSON(ma[sub], mb[sub]) {
					out = append(out, k+"."+sub)
				}
			}
			continue
		}
		out = append(out, k)
	}
	return out
}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func mapOfScalars(m map[string]any) bool {
	for _, v := range m {
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
