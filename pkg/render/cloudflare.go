package render

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

// Cloudflare publishes the ranges its proxies connect from; the reverse
// proxy trusts only those.
var CloudflareURLs = []string{"https://www.cloudflare.com/ips-v4", "https://www.cloudflare.com/ips-v6"}

// Embedded fallbacks, used when the lists can't be fetched (offline,
// air-gapped hosts). Refresh them when Cloudflare announces new ranges.
var (
	//go:embed data/cloudflare-ips-v4.txt
	embeddedIPv4 string
	//go:embed data/cloudflare-ips-v6.txt
	embeddedIPv6 string
)

// CloudflareFetchTimeout bounds the whole fetch, so an offline machine falls
// back to the embedded list quickly.
const CloudflareFetchTimeout = 3 * time.Second

// EmbeddedCloudflareIPs returns the sorted ranges shipped with this package.
func EmbeddedCloudflareIPs() []string {
	ips, _ := parseRanges(embeddedIPv4 + "\n" + embeddedIPv6)
	return ips
}

// CloudflareIPs returns Cloudflare's ranges, sorted: from CLOUDFLARE_IPS
// (comma-separated) when set, else fetched from urls with a short timeout,
// else the embedded list. The second result says where they came from.
func CloudflareIPs(ctx context.Context, client *http.Client, urls []string) ([]string, string) {
	if v := strings.TrimSpace(os.Getenv("CLOUDFLARE_IPS")); v != "" {
		ips, err := parseRanges(strings.ReplaceAll(v, ",", "\n"))
		if err == nil {
			return ips, "CLOUDFLARE_IPS"
		}
	}
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, CloudflareFetchTimeout)
	defer cancel()
	var all strings.Builder
	for _, u := range urls {
		body, err := fetch(ctx, client, u)
		if err != nil {
			return EmbeddedCloudflareIPs(), "embedded list (fetching " + u + " failed: " + err.Error() + ")"
		}
		all.WriteString(body + "\n")
	}
	ips, err := parseRanges(all.String())
	if err != nil || len(ips) == 0 {
		return EmbeddedCloudflareIPs(), "embedded list (the published list was not valid)"
	}
	return ips, strings.Join(urls, ", ")
}

func fetch(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(body), err
}

// parseRanges reads CIDRs, one per line, and returns them deduplicated and sorted.
func parseRanges(s string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.Fields(s) {
		if _, _, err := net.ParseCIDR(f); err != nil {
			return nil, fmt.Errorf("%q is not a CIDR range: %w", f, err)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out, nil
}
