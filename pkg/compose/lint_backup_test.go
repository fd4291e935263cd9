package compose

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const dbWithVolume = `
services:
  db:
    image: mariadb:11.4
    restart: unless-stopped
    networks: [private]
    healthcheck: {test: ["CMD", "true"]}
    volumes: ["mariadb:/var/lib/mysql"]
LABELS
networks:
  private:
volumes:
  mariadb:
`

func TestLintBackupVolumes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels string
		says   string
		sev    Severity
	}{
		{"database without dump", "", "database volume mariadb has no dump", Error},
		{"exclude without dump", "    labels: {selfhosted.backup.exclude: mariadb}", "would be in no backup", Error},
		{"exclude of an unknown volume", "    labels: {selfhosted.backup.dump: x, selfhosted.backup.exclude: nope}", "not a volume of the stack", Error},
		{"dumped but not excluded", "    labels: {selfhosted.backup.dump: x}", "also backed up as files", Warning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			findings := lintBackupVolumes(stackOf(t, map[string]string{"db": strings.Replace(dbWithVolume, "LABELS", tc.labels, 1)}))
			var hit *Finding
			for i := range findings {
				if strings.Contains(findings[i].Message, tc.says) {
					hit = &findings[i]
				}
			}
			if assert.NotNil(t, hit, "%s", messages(findings)) {
				assert.Equal(t, tc.sev, hit.Severity)
				assert.Equal(t, "db", hit.Service)
			}
		})
	}
	clean := strings.Replace(dbWithVolume, "LABELS", "    labels: {selfhosted.backup.dump: x, selfhosted.backup.restore: y, selfhosted.backup.exclude: mariadb}", 1)
	assert.Empty(t, lintBackupVolumes(stackOf(t, map[string]string{"db": clean})))
}
