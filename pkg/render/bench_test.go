package render

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

const benchTemplates = 180

// BenchmarkTemplate measures parse + render of one realistic template, the
// unit Jinja2 is compared with (≈0.65 ms a template in-process here).
func BenchmarkTemplate(b *testing.B) {
	dir := b.TempDir()
	require.NoError(b, WriteBenchTree(dir, 1))
	src, err := os.ReadFile(filepath.Join(dir, "services/app0/docker-compose.app0.yml.j2"))
	require.NoError(b, err)
	data := map[string]any{
		"env":            map[string]string{"DOMAIN": "example.com", "REPLICAS": "2", "NETWORKS": "Public, Private", "DEBUG": "false"},
		"cloudflare_ips": stringsToList(EmbeddedCloudflareIPs()),
	}
	b.ReportAllocs()
	for b.Loop() {
		tpl, err := Parse("t.j2", string(src))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tpl.Execute(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTree renders a tree of 180 templates, writes included.
func BenchmarkTree(b *testing.B) {
	dir := b.TempDir()
	require.NoError(b, WriteBenchTree(dir, benchTemplates))
	opts := Options{Root: dir, CloudflareIPs: EmbeddedCloudflareIPs(), SkipGitignore: true}
	for b.Loop() {
		if _, err := Tree(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/benchTemplates, "µs/template")
}

func TestBenchTreeRenders(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteBenchTree(dir, 3))
	written, err := Tree(context.Background(), Options{Root: dir, CloudflareIPs: []string{"1.1.1.0/24"}, SkipGitignore: true})
	require.NoError(t, err)
	require.Len(t, written, 3)
}
