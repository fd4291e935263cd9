package compose

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The SSO fixtures: Traefik v2 started with --configFile, its static and
// dynamic configuration bind-mounted; Authelia; an app behind them.
const (
	ssoTraefikCompose = "services/reverse-proxy/docker-compose.traefik.yml"
	ssoStatic         = "services/reverse-proxy/traefik.static.yml"
	ssoDynamic        = "services/reverse-proxy/traefik.dynamic.yml"
	ssoAuthelia       = "services/sso-proxy/docker-compose.authelia.yml"
	ssoApp            = "services/app/docker-compose.app.yml"
)

func traefikCompose(command, volumes, environment string) string {
	out := `
services:
  traefik:
    image: traefik:v2.11
    restart: unless-stopped
    networks: [public]
    healthcheck: {test: ["CMD", "traefik", "healthcheck"]}
`
	if command != "" {
		out += "    command: " + command + "\n"
	}
	if volumes != "" {
		out += "    volumes:\n" + volumes
	}
	if environment != "" {
		out += "    environment:\n" + environment
	}
	return out + "networks:\n  public:\n"
}

const (
	mountStatic  = "      - ./services/reverse-proxy/traefik.static.yml:/etc/traefik/static.yml:ro\n"
	mountDynamic = `      - type: bind
        source: ./services/reverse-proxy/traefik.dynamic.yml
        target: /etc/traefik/dynamic.yml
        read_only: true
`
)

const staticYAML = `
entryPoints:
  web:
    address: ":80"
  websecure:
    address: ":443"
providers:
  docker:
    exposedByDefault: false
    network: lint_public
  file:
    filename: /etc/traefik/dynamic.yml
`

const dynamicYAML = `
http:
  middlewares:
    sso-proxy:
      forwardAuth:
        address: "http://authelia:9091/api/verify?rd=https://auth.example.com/"
        trustForwardHeader: true
    secure-headers:
      headers: {frameDeny: true}
    protected:
      chain:
        middlewares: [secure-headers, sso-proxy]
    outer:
      chain:
        middlewares: [protected@file]
    headers-only:
      chain:
        middlewares: [secure-headers]
    hosted-sso:
      forwardAuth:
        address: https://sso.example.net/verify
`

const autheliaCompose = `
services:
  authelia:
    image: authelia/authelia:4.37
    restart: unless-stopped
    networks: [public]
    healthcheck: {test: ["CMD", "true"]}
    labels:
      traefik.enable: "true"
      traefik.http.routers.authelia.rule: Host(` + "`auth.example.com`" + `)
      traefik.http.routers.authelia.entrypoints: websecure
      traefik.http.routers.authelia.tls.certresolver: letsencrypt
      traefik.http.services.authelia.loadbalancer.server.port: "9091"
      selfhosted.lint.no-auth: "true"
      traefik.http.middlewares.sso.forwardauth.address: http://authelia:9091/api/verify
      traefik.http.middlewares.nosniff.headers.contentTypeNosniff: "true"
networks:
  public:
`

// appCompose is a web-facing app whose router has middlewares and
// entrypoints (each left out when empty).
func appCompose(middlewares, entrypoints string) string {
	out := `
services:
  app:
    image: example/app:1.0
    restart: unless-stopped
    networks: [public]
    healthcheck: {test: ["CMD", "true"]}
    labels:
      traefik.enable: "true"
      traefik.http.routers.app.rule: Host(` + "`app.example.com`" + `)
      traefik.http.routers.app.tls.certresolver: letsencrypt
      traefik.http.services.app.loadbalancer.server.port: "80"
`
	if middlewares != "" {
		out += "      traefik.http.routers.app.middlewares: " + middlewares + "\n"
	}
	if entrypoints != "" {
		out += "      traefik.http.routers.app.entrypoints: " + entrypoints + "\n"
	}
	return out + "networks:\n  public:\n"
}

// ssoStack is the fixture stack with files replaced (or, with "", removed).
func ssoStack(t *testing.T, replace map[string]string) *Stack {
	t.Helper()
	files := map[string]string{
		ssoTraefikCompose: traefikCompose(`["--configFile=/etc/traefik/static.yml"]`, mountStatic+mountDynamic, ""),
		ssoStatic:         staticYAML,
		ssoDynamic:        dynamicYAML,
		ssoAuthelia:       autheliaCompose,
		ssoApp:            appCompose("sso-proxy@file", "websecure"),
	}
	for k, v := range replace {
		if v == "" {
			delete(files, k)
		} else {
			files[k] = v
		}
	}
	return stackFiles(t, files)
}

// traefikRules are the rules these tests are about.
var traefikRules = map[string]bool{
	RuleRouterSSO: true, RuleSSOExternal: true, RuleMiddleware: true,
	RuleTraefikConfig: true, RuleTraefikConfigIgnored: true, RuleTraefikNetwork: true,
}

// traefikFindings returns "rule service subject" of the findings of
// traefikRules, sorted.
func traefikFindings(findings []Finding) []string {
	var out []string
	for _, f := range findings {
		if traefikRules[f.Rule] {
			out = append(out, f.Rule+" "+f.Service+" "+f.Subject)
		}
	}
	sort.Strings(out)
	return out
}

func TestLintSSOByDefinition(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replace map[string]string
		want    []string // traefikFindings; none: the router is protected and the configuration found
		says    string   // in the first wanted finding's message
	}{
		{name: "a file-provider forwardAuth named sso-proxy to Authelia protects",
			replace: nil},
		{name: "a file-provider middleware that is no forwardAuth does not protect",
			replace: map[string]string{ssoApp: appCompose("secure-headers@file", "websecure")},
			want:    []string{"router-sso app app"}, says: "the stack's SSO is sso@docker (a forwardAuth to authelia)"},

		{name: "a label-defined sso@docker on the SSO service protects",
			replace: map[string]string{ssoApp: appCompose("sso@docker", "websecure")}},
		{name: "an unqualified label middleware resolves in the docker provider",
			replace: map[string]string{ssoApp: appCompose("sso", "websecure")}},
		{name: "a label-defined headers middleware does not protect",
			replace: map[string]string{ssoApp: appCompose("nosniff@docker", "websecure")},
			want:    []string{"router-sso app app"}, says: "none of its middlewares (nosniff@docker)"},
		{name: "labels of a service the docker provider ignores define nothing",
			replace: map[string]string{ssoApp: appCompose("sso@docker", "websecure"),
				ssoAuthelia: strings.Replace(autheliaCompose, `traefik.enable: "true"`, `com.example.x: "y"`, 1)},
			want: []string{"middleware-undefined app app/sso@docker"}, says: "Traefik's docker provider ignores that service"},

		{name: "an entrypoint middleware protects the routers on it",
			replace: map[string]string{
				ssoStatic: strings.Replace(staticYAML, `address: ":443"`, "address: \":443\"\n    http:\n      middlewares: [sso-proxy@file]", 1),
				ssoApp:    appCompose("", "websecure")}},
		{name: "an entrypoint middleware does not protect routers on another entrypoint",
			replace: map[string]string{
				ssoStatic: strings.Replace(staticYAML, `address: ":80"`, "address: \":80\"\n    http:\n      middlewares: [sso-proxy@file]", 1),
				ssoApp:    appCompose("", "websecure")},
			want: []string{"router-sso app app"}, says: "entrypoint websecure's (none)"},
		{name: "a router without entrypoints must be protected on every entrypoint",
			replace: map[string]string{
				ssoStatic: strings.Replace(staticYAML, `address: ":80"`, "address: \":80\"\n    http:\n      middlewares: [sso-proxy@file]", 1),
				ssoApp:    appCompose("", "")},
			want: []string{"router-sso app app"}, says: "entrypoint websecure's"},

		{name: "a router without entrypoints is on the asDefault ones only",
			replace: map[string]string{
				ssoStatic: strings.Replace(staticYAML, `address: ":443"`, "address: \":443\"\n    asDefault: true\n    http:\n      middlewares: [sso-proxy@file]", 1),
				ssoApp:    appCompose("", "")}},
		{name: "Traefik's own middlewares are no SSO",
			replace: map[string]string{ssoApp: appCompose("dashboard_redirect@internal", "websecure")},
			want:    []string{"router-sso app app"}, says: "dashboard_redirect@internal"},

		{name: "a chain containing the forwardAuth protects, nested chains too",
			replace: map[string]string{ssoApp: appCompose("outer@file", "websecure")}},
		{name: "a chain without a forwardAuth does not protect",
			replace: map[string]string{ssoApp: appCompose("headers-only@file", "websecure")},
			want:    []string{"router-sso app app"}, says: "not behind SSO"},

		{name: "an undefined middleware is an error of its own, not an unprotected router",
			replace: map[string]string{ssoApp: appCompose("sso@file", "websecure")},
			want:    []string{"middleware-undefined app app/sso@file"}, says: "Traefik's file provider reads services/reverse-proxy/traefik.dynamic.yml"},
		{name: "an undefined middleware says where a middleware of that name is defined",
			replace: map[string]string{ssoApp: appCompose("sso-proxy@docker", "websecure")},
			want:    []string{"middleware-undefined app app/sso-proxy@docker"}, says: "sso-proxy@docker, which is defined nowhere"},
		{name: "an undefined chain member is reported on the dynamic configuration",
			replace: map[string]string{ssoDynamic: strings.Replace(dynamicYAML, "[secure-headers]", "[secure-headerz]", 1)},
			want:    []string{"middleware-undefined traefik headers-only/secure-headerz"}, says: "chain headers-only@file includes"},

		{name: "a forwardAuth outside the stack is a warning",
			replace: map[string]string{ssoApp: appCompose("hosted-sso@file", "websecure")},
			want:    []string{"router-sso-external app app"}, says: "sso.example.net"},

		{name: "--configFile with a space and a bind mount is found",
			replace: map[string]string{ssoTraefikCompose: traefikCompose(`["traefik", "--configfile", "/etc/traefik/static.yml"]`, mountStatic+mountDynamic, "")}},
		{name: "--configFile without a mount that provides it is an error",
			replace: map[string]string{ssoTraefikCompose: traefikCompose(`["--configFile=/etc/traefik/static.yml"]`, mountDynamic, "")},
			want:    []string{"traefik-config traefik /etc/traefik/static.yml"}, says: "no mount of the service provides /etc/traefik/static.yml"},
		{name: "a mounted configuration file that does not exist is an error",
			replace: map[string]string{ssoStatic: ""},
			want:    []string{"traefik-config traefik /etc/traefik/static.yml"}, says: "which does not exist"},
		{name: "a configuration file mounted in a folder is found",
			replace: map[string]string{
				ssoTraefikCompose: traefikCompose(`["--configFile=/etc/traefik/traefik.static.yml"]`, "      - ./services/reverse-proxy:/etc/traefik:ro\n", ""),
				ssoStatic:         strings.Replace(staticYAML, "/etc/traefik/dynamic.yml", "/etc/traefik/traefik.dynamic.yml", 1)}},
		{name: "a mounted folder without the configuration file is an error",
			replace: map[string]string{ssoTraefikCompose: traefikCompose(`["--configFile=/etc/traefik/static.yml"]`, "      - ./services/reverse-proxy:/etc/traefik:ro\n", "")},
			want:    []string{"traefik-config traefik /etc/traefik/static.yml"}, says: "services/reverse-proxy, mounted at /etc/traefik, has no static.yml"},

		{name: "the default path /etc/traefik/traefik.yml is read without flags",
			replace: map[string]string{ssoTraefikCompose: traefikCompose("", "      - ./services/reverse-proxy/traefik.static.yml:/etc/traefik/traefik.yml:ro\n"+mountDynamic, "")}},
		{name: "a TOML configuration at the default path is read",
			replace: map[string]string{
				ssoTraefikCompose:                     traefikCompose("", "      - ./services/reverse-proxy/traefik.toml:/etc/traefik/traefik.toml:ro\n"+mountDynamic, ""),
				"services/reverse-proxy/traefik.toml": "[providers.docker]\nexposedByDefault = false\nnetwork = \"lint_public\"\n[providers.file]\nfilename = \"/etc/traefik/dynamic.yml\"\n[entryPoints.websecure]\naddress = \":443\"\n"}},
		{name: "$XDG_CONFIG_HOME/traefik.yml is a default path",
			replace: map[string]string{ssoTraefikCompose: traefikCompose("", "      - ./services/reverse-proxy/traefik.static.yml:/config/traefik.yml:ro\n"+mountDynamic, "      XDG_CONFIG_HOME: /config\n")}},
		{name: "a file at no default path is not read without --configFile",
			replace: map[string]string{ssoTraefikCompose: traefikCompose("", mountStatic+mountDynamic, "")},
			want:    []string{"middleware-undefined app app/sso-proxy@file", "traefik-network traefik providers.docker.network"}, says: "Traefik has no file provider"},

		{name: "TRAEFIK_* variables configure Traefik without a file or flags",
			replace: map[string]string{ssoTraefikCompose: traefikCompose("", mountDynamic,
				"      TRAEFIK_PROVIDERS_DOCKER_NETWORK: lint_public\n      TRAEFIK_PROVIDERS_DOCKER_EXPOSEDBYDEFAULT: \"false\"\n      TRAEFIK_PROVIDERS_FILE_FILENAME: /etc/traefik/dynamic.yml\n      TRAEFIK_ENTRYPOINTS_WEBSECURE_ADDRESS: \":443\"\n      TRAEFIK_ENTRYPOINTS_WEBSECURE_HTTP_MIDDLEWARES: sso-proxy@file\n"),
				ssoApp: appCompose("", "websecure")}},
		{name: "TRAEFIK_* variables are ignored when the command has flags",
			replace: map[string]string{ssoTraefikCompose: traefikCompose(`["--log.level=DEBUG"]`, mountDynamic,
				"      TRAEFIK_PROVIDERS_DOCKER_NETWORK: lint_public\n      TRAEFIK_PROVIDERS_FILE_FILENAME: /etc/traefik/dynamic.yml\n")},
			want: []string{"middleware-undefined app app/sso-proxy@file", "traefik-config-ignored traefik ", "traefik-network traefik providers.docker.network"},
			says: "Traefik has no file provider"},
		{name: "flags configure Traefik, list flags repeated",
			replace: map[string]string{ssoTraefikCompose: traefikCompose(`["--providers.docker.network=lint_public", "--providers.file.directory", "/etc/traefik/dynamic", "--entrypoints.websecure.address=:443", "--entrypoints.websecure.http.middlewares=secure-headers@file", "--entrypoints.websecure.http.middlewares=sso-proxy@file"]`,
				"      - ./services/reverse-proxy/dynamic:/etc/traefik/dynamic:ro\n", ""),
				"services/reverse-proxy/dynamic/auth.toml":     "[http.middlewares.sso-proxy.forwardAuth]\naddress = \"http://authelia:9091/api/verify\"\n",
				"services/reverse-proxy/dynamic/more/hdrs.yml": "http:\n  middlewares:\n    secure-headers:\n      headers: {frameDeny: true}\n",
				ssoApp: appCompose("", "websecure")}},
		{name: "flags are ignored when Traefik reads a configuration file",
			replace: map[string]string{ssoTraefikCompose: traefikCompose(`["--configFile=/etc/traefik/static.yml", "--providers.docker.network=other"]`, mountStatic+mountDynamic, "")},
			want:    []string{"traefik-config-ignored traefik "}, says: "ignores --providers.docker.network=other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			findings := Lint(ssoStack(t, tc.replace))
			got := traefikFindings(findings)
			if len(tc.want) == 0 {
				assert.Empty(t, got, messages(findings))
				return
			}
			require.Equal(t, tc.want, got, messages(findings))
			var said bool
			for _, f := range findings {
				if traefikRules[f.Rule] && strings.Contains(f.Message, tc.says) {
					said = true
					assert.NotEmpty(t, f.Fix)
					assert.NotEmpty(t, f.File)
				}
			}
			assert.True(t, said, "want a message saying %q:\n%s", tc.says, messages(findings))
		})
	}
}

func TestLintUnprotectedRouterFixNamesTheSSOService(t *testing.T) {
	findings := Lint(ssoStack(t, map[string]string{
		ssoApp: appCompose("secure-headers@file", "websecure"),
		ssoAuthelia: strings.Replace(autheliaCompose,
			"      traefik.http.middlewares.sso.forwardauth.address: http://authelia:9091/api/verify\n", "", 1),
	}))
	for _, f := range findings {
		if f.Rule == RuleRouterSSO {
			assert.Equal(t, ssoApp, f.File)
			assert.Contains(t, f.Message, "the stack's SSO is sso-proxy@file (a forwardAuth to authelia)")
			assert.Contains(t, f.Fix, "traefik.http.routers.app.middlewares=sso-proxy@file,secure-headers@file")
			return
		}
	}
	t.Fatalf("no %s finding:\n%s", RuleRouterSSO, messages(findings))
}

func TestLintSSOMatchesNetworkAliasesAndContainerNames(t *testing.T) {
	for _, host := range []string{"auth-alias", "authelia-container", "AUTHELIA"} {
		t.Run(host, func(t *testing.T) {
			authelia := strings.Replace(autheliaCompose, "    networks: [public]\n",
				"    container_name: authelia-container\n    networks:\n      public:\n        aliases: [auth-alias]\n", 1)
			s := ssoStack(t, map[string]string{
				ssoAuthelia: authelia,
				ssoDynamic:  strings.Replace(dynamicYAML, "http://authelia:9091", "http://"+host+":9091", 1),
			})
			assert.Empty(t, traefikFindings(Lint(s)))
		})
	}
}

func TestParseTraefikFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want map[string]string
	}{
		{[]string{"--configFile=/a.yml"}, map[string]string{"configfile": "/a.yml"}},
		{[]string{"--configFile", "/a.yml", "--api.insecure", "--log.level", "DEBUG"}, map[string]string{"configfile": "/a.yml", "api.insecure": "true", "log.level": "DEBUG"}},
		{[]string{"-providers.docker.network=x", "--", "--ignored=1"}, map[string]string{"providers.docker.network": "x"}},
		{[]string{"--ping", "--providers.docker"}, map[string]string{"ping": "true", "providers.docker": "true"}},
	} {
		got := map[string]string{}
		for _, f := range parseTraefikFlags(tc.args) {
			got[f.key] = f.value
		}
		assert.Equal(t, tc.want, got, "%q", tc.args)
	}
}

func TestLintSSOServiceRoutersNeedNoOptOut(t *testing.T) {
	withoutLabel := strings.Replace(autheliaCompose, "      selfhosted.lint.no-auth: \"true\"\n", "", 1)
	assert.Empty(t, traefikFindings(Lint(ssoStack(t, map[string]string{ssoAuthelia: withoutLabel}))),
		"Authelia's own router serves the login portal")

	notSSO := strings.Replace(withoutLabel, "      traefik.http.middlewares.sso.forwardauth.address: http://authelia:9091/api/verify\n", "", 1)
	findings := Lint(ssoStack(t, map[string]string{ssoAuthelia: notSSO, ssoDynamic: strings.ReplaceAll(dynamicYAML, "http://authelia:9091", "http://app:80")}))
	assert.Contains(t, traefikFindings(findings), "router-sso authelia authelia", "a service no forwardAuth points at is no SSO portal")
}

func TestLintTraefikNetworkFixNamesTheTemplate(t *testing.T) {
	s := ssoStack(t, map[string]string{
		ssoStatic:         strings.Replace(staticYAML, "network: lint_public", "network: web", 1),
		ssoStatic + ".j2": "{# renders traefik.static.yml #}",
	})
	findings := lintTraefikNetwork(s)
	require.Len(t, findings, 1)
	assert.Equal(t, ssoStatic, findings[0].File)
	assert.Contains(t, findings[0].Message, "Traefik watches network web")
	assert.Contains(t, findings[0].Fix, "set providers.docker.network: lint_public in "+ssoStatic+".j2, which renders "+ssoStatic)
}
