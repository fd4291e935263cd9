package render_test

import (
	"fmt"
	"testing/fstest"

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

func ExampleLoader() {
	templates := fstest.MapFS{
		"base.yml.j2": {Data: []byte("# {{ env.DOMAIN }}\n{% block services %}{% endblock %}\n")},
		"macros.j2": {Data: []byte(`{% macro router(name) -%}
traefik.http.routers.{{ name }}.rule=Host(` + "`{{ name }}.{{ env.DOMAIN }}`" + `)
{%- endmacro %}`)},
	}
	loader := render.NewLoader(templates)
	tpl, err := loader.Parse("compose.yml.j2", `{% extends 'base.yml.j2' %}
{% from 'macros.j2' import router with context %}
{% block services %}
services:
{% for name in ['whoami', 'grafana'] %}
  {{ name }}:
    labels: ["{{ router(name) }}"]
{% endfor %}
{% endblock %}
`)
	if err != nil {
		panic(err)
	}
	out, err := tpl.Execute(map[string]any{"env": map[string]string{"DOMAIN": "example.com"}})
	if err != nil {
		panic(err)
	}
	fmt.Print(out)
	// Output:
	// # example.com
	// services:
	//   whoami:
	//     labels: ["traefik.http.routers.whoami.rule=Host(`whoami.example.com`)"]
	//   grafana:
	//     labels: ["traefik.http.routers.grafana.rule=Host(`grafana.example.com`)"]
}
