package render

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/renderbench"
)

const benchTemplates = 180

// BenchmarkTemplate measures parse + render of one realistic template, the
// unit Jinja2 is compared with in-process (see bench-render's output).
func BenchmarkTemplate(b *testing.B) {
	src := renderbench.Source(0)
	data := map[string]any{
		"env":            map[string]string{"DOMAIN": "example.com", "REPLICAS": "2", "NETWORKS": "Public, Private", "DEBUG": "false"},
		"cloudflare_ips": EmbeddedCloudflareIPs(),
	}
	b.ReportAllocs()
	for b.Loop() {
		tpl, err := Parse("t.j2", src)
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
	require.NoError(b, renderbench.WriteTree(dir, benchTemplates))
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
	require.NoError(t, renderbench.WriteTree(dir, 3))
	res, err := Tree(context.Background(), Options{Root: dir, CloudflareIPs: []string{"1.1.1.0/24"}, SkipGitignore: true})
	require.NoError(t, err)
	require.Len(t, res.Outputs, 3)
}
