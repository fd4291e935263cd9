package compose_test

import (
	"fmt"

	"github.com/selfhosted-go/selfhosted/pkg/compose"
)

// Every verb is a builder: the argv a runner executes, here or on a server.
func Example() {
	p := compose.Project{Name: "shop", Files: []string{"services/db/docker-compose.db.yml", "services/web/docker-compose.web.yml"}}
	fmt.Println(p.Up())
	fmt.Println(p.Restart("web"))
	fmt.Println(p.Exec("db", false, "mariadb", "-e", "SELECT 1"))
	// Output:
	// docker compose --project-directory . --project-name shop -f services/db/docker-compose.db.yml -f services/web/docker-compose.web.yml up -d --remove-orphans
	// docker compose --project-directory . --project-name shop -f services/db/docker-compose.db.yml -f services/web/docker-compose.web.yml restart web
	// docker compose --project-directory . --project-name shop -f services/db/docker-compose.db.yml -f services/web/docker-compose.web.yml exec -T db mariadb -e 'SELECT 1'
}
