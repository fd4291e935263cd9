package render

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"net"
	"net/http"
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
	ips, _ := ParseCloudflareIPs(embeddedIPv4 + "\n" + embeddedIPv6)
	return ips
}

// CloudflareIPs fetches Cloudflare's ranges from urls (http.DefaultClient
// when client is nil), with a short timeout, and returns them sorted.
func CloudflareIPs(ctx context.Context, client *http.Client, urls []string) ([]string, error) {
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, CloudflareFetchTimeout)
	defer cancel()
	var all strings.Builder
	for _, u := range urls {
		body, err := fetch(ctx, client, u)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", u, err)
		}
		all.WriteString(body + "\n")
	}
	ips, err := ParseCloudflareIPs(all.String())
	if err != nil {
		return nil, fmt.Errorf("the published list is not valid: %w", err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("the published list is empty")
	}
	return ips, nil
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

// ParseCloudflareIPs reads CIDR ranges separated by commas or whitespace
// (the CLOUDFLARE_IPS format, or the published lists) and returns them
// deduplicated and sorted.
func ParseCloudflareIPs(s string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
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
