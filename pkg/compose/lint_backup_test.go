package compose

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		{"database without dump", "", "database files at /var/lib/mysql have no dump", Error},
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

// service is a minimal service that passes the other rules, with volumes.
func service(name, image, volumes, labels string) string {
	return `services:
  ` + name + `:
    image: ` + image + `
    restart: unless-stopped
    networks: [private]
    healthcheck: {test: ["CMD", "true"]}
    volumes: ` + volumes + `
    labels: {` + labels + `}
networks:
  private:
`
}

const backupService = `services:
  backup:
    image: restic/restic:0.17.3
    restart: unless-stopped
    networks: [private]
    healthcheck: {test: ["CMD", "true"]}
    volumes:
      - ./services/backup/bin/selfhosted-backup:/usr/local/bin/selfhosted-backup:ro
      - /var/run/docker.sock:/var/run/docker.sock
      - /var/lib/docker/volumes:/var/lib/docker/volumes
      - /srv/uploads:/srv/uploads
networks:
  private:
`

// Every mount is backed up, excluded, or opted out on purpose.
func TestLintEveryMountIsBackedUpOrOptedOut(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		finding string // "" when the stack is clean
	}{
		{"a named volume is snapshotted", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[data:/data]", "") + "volumes:\n  data:\n"}, ""},
		{"a volume with a name of its own is the project's too", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[data:/data]", "") + "volumes:\n  data:\n    name: shop-data\n"}, ""},
		{"an anonymous volume", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[/data]", "")}, "anonymous volume at /data is lost"},
		{"an anonymous volume skipped on purpose", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[/cache]", "selfhosted.backup.skip: /cache")}, ""},
		{"an external volume", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[shared:/data]", "") + "volumes:\n  shared:\n    external: true\n"}, "external volume shared is not this project's"},
		{"an external volume skipped", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[shared:/data]", "selfhosted.backup.skip: shared") + "volumes:\n  shared:\n    external: true\n"}, ""},
		{"a host folder in no backup", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[/srv/uploads:/uploads]", "")}, "host folder /srv/uploads is in no backup"},
		{"a host folder listed but not mounted by the backup service", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[/srv/media:/media]", "selfhosted.backup.paths: /srv/media"), "services/backup/docker-compose.backup.yml": backupService}, "the backup service does not mount it"},
		{"a host folder backed up", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[/srv/uploads:/uploads]", "selfhosted.backup.paths: /srv/uploads"), "services/backup/docker-compose.backup.yml": backupService}, ""},
		{"a host folder skipped", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[/srv/tmp:/tmp/x]", "selfhosted.backup.skip: /tmp/x")}, ""},
		{"the docker socket is no data", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[/var/run/docker.sock:/var/run/docker.sock]", "")}, ""},
		{"a folder inside the stack that is not uploaded", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[./data/uploads:/uploads]", ""), ".deployignore": "/data/\n", "data/uploads/x": "x"}, "./data/uploads is inside the stack but not part of it"},
		{"a folder inside the stack that does not exist", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[./data:/data]", "")}, "./data is inside the stack but not part of it"},
		{"the stack's own configuration", map[string]string{"services/app/docker-compose.app.yml": service("app", "app:1", "[./services/app/app.conf:/etc/app.conf]", ""), "services/app/app.conf": "x"}, ""},
		{"a database recognised by where it keeps data", map[string]string{"services/shop/docker-compose.shop.yml": service("shop", "ghcr.io/example/shop-db:2", "[shopdata:/var/lib/mysql]", "") + "volumes:\n  shopdata:\n"}, "database files at /var/lib/mysql have no dump"},
		{"a database in a host folder", map[string]string{"services/pg/docker-compose.pg.yml": service("pg", "postgres:16", "[/srv/pg:/var/lib/postgresql/data]", "")}, "database files at /var/lib/postgresql/data have no dump"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findings := lintBackupVolumes(stackFiles(t, tt.files))
			if tt.finding == "" {
				assert.Empty(t, findings, "%s", messages(findings))
				return
			}
			require.Len(t, findings, 1, "%s", messages(findings))
			assert.Contains(t, findings[0].Message, tt.finding)
			assert.Equal(t, Error, findings[0].Severity)
		})
	}
}
