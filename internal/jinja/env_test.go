package jinja

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvLoadsTemplatesAndNamesTheirFilesInErrors(t *testing.T) {
	env := NewEnv(fstest.MapFS{
		"lib/macros.j2": {Data: []byte("{% macro m(x) %}<{{ x }}>{% endmacro %}")},
		"lib/broken.j2": {Data: []byte("ok\n{{ 1 + 'a' }}")},
		"lib/syntax.j2": {Data: []byte("{% if %}")},
		"base.j2":       {Data: []byte("[{% block b %}base{% endblock %}]")},
	}, "services")
	for _, tc := range []struct{ name, src, want, fails string }{
		{"import", "{% from 'lib/macros.j2' import m %}{{ m(1) }}", "<1>", ""},
		{"names are cleaned as Jinja's loader does", "{% import './lib//macros.j2' as l %}{{ l.m(2) }}", "<2>", ""},
		{"extends", "{% extends 'base.j2' %}{% block b %}child {{ super() }}{% endblock %}", "[child base]", ""},
		{"missing", "{% include 'nope.j2' %}", "", "t.j2:1:1: template 'nope.j2' not found: no such file in services/"},
		{"parent folder", "{% include '../x.j2' %}", "", "not a valid template name"},
		{"runtime error in an include names its file", "{% include 'lib/broken.j2' %}", "", "services/lib/broken.j2:2:1: unsupported operand"},
		{"syntax error in an include names its file", "{% include 'lib/syntax.j2' %}", "", "services/lib/syntax.j2:1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := env.Parse("t.j2", tc.src)
			require.NoError(t, err)
			got, err := tpl.Execute(nil)
			if tc.fails != "" {
				assert.ErrorContains(t, err, tc.fails)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestEnvWithoutFilesystemCannotLoad(t *testing.T) {
	tpl, err := NewEnv(nil, "").Parse("t.j2", "{% include 'x.j2' %}")
	require.NoError(t, err)
	_, err = tpl.Execute(nil)
	assert.ErrorContains(t, err, "no folder to load templates from")
}

func TestGoDataConvertsToTemplateValues(t *testing.T) {
	tpl, err := NewEnv(nil, "").Parse("t.j2", "{{ m }} {{ s }} {{ l }} {{ n }} {{ lazy }} {{ lazy }}")
	require.NoError(t, err)
	calls := 0
	got, err := tpl.Execute(map[string]any{
		"m":    map[string]string{"b": "1", "a": "2"},
		"s":    []string{"x", "y"},
		"l":    []any{1, 2.5, nil, true},
		"n":    int64(7),
		"lazy": Lazy(func() any { calls++; return []string{"z"} }),
	})
	require.NoError(t, err)
	assert.Equal(t, "{'a': '2', 'b': '1'} ['x', 'y'] [1, 2.5, None, True] 7 ['z'] ['z']", got)
	assert.Equal(t, 1, calls, "a lazy value is computed once")
}

func TestDecodeJSONKeepsTheDocumentsOrder(t *testing.T) {
	v, err := DecodeJSON([]byte(`{"z": 1, "a": [1.5, null, {"y": true, "b": "x"}], "m": 10000000000}`))
	require.NoError(t, err)
	assert.Equal(t, `{'z': 1, 'a': [1.5, None, {'y': True, 'b': 'x'}], 'm': 10000000000}`, repr(v))
	_, err = DecodeJSON([]byte(`{"a": 1} 2`))
	assert.Error(t, err)
}

func TestTemplatesRenderConcurrently(t *testing.T) {
	env := NewEnv(fstest.MapFS{"inc.j2": {Data: []byte("{% for i in range(3) %}{{ i }}{% endfor %}")}}, "")
	tpl, err := env.Parse("t.j2", "{% set ns = namespace(n=0) %}{% include 'inc.j2' %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}")
	require.NoError(t, err)
	done := make(chan string)
	for range 8 {
		go func() {
			out, err := tpl.Execute(map[string]any{"xs": []any{1, 2, 3}})
			if err != nil {
				out = err.Error()
			}
			done <- out
		}()
	}
	for range 8 {
		assert.Equal(t, "0126", <-done)
	}
}
