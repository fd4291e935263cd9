package render_test

import (
	"fmt"

	"github.com/selfhosted-go/selfhosted/pkg/render"
)

func ExampleString() {
	out, err := render.String("labels.yml.j2", `
labels:
{% for host in env.HOSTS.split(',') %}
  - "traefik.http.routers.r{{ loop.index }}.rule=Host(`+"`{{ host.strip() }}`"+`)"
{% endfor %}
tls: {{ env.TLS | default('true') }}
`, map[string]any{"env": map[string]string{"HOSTS": "a.example.com, b.example.com"}})
	if err != nil {
		panic(err)
	}
	fmt.Print(out)
	// Output:
	// labels:
	//   - "traefik.http.routers.r1.rule=Host(`a.example.com`)"
	//   - "traefik.http.routers.r2.rule=Host(`b.example.com`)"
	// tls: true
}
