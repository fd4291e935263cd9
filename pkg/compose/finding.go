package compose

import "fmt"

// Severity tells whether a lint finding fails the run.
type Severity string

const (
	// Error findings make lint, check-config and deploy exit non-zero.
	Error Severity = "error"
	// Warning findings are printed and do not fail.
	Warning Severity = "warning"
)

// Rule IDs name what a finding is about. A baseline matches findings by rule,
// file, service and subject, never by message, so messages can be reworded
// without breaking a stack's baseline: an ID, once released, never changes.
const (
	// The old checklist: errors.
	RuleRestart          = "restart"           // no restart policy
	RuleNetworks         = "networks"          // no explicit networks
	RuleTraefikRouter    = "traefik-router"    // traefik.enable=true without a router
	RuleRouterRule       = "router-rule"       // a router without a rule
	RuleRouterEntrypoint = "router-entrypoint" // a router without an entrypoint
	RuleRouterTLS        = "router-tls"        // a router without a certificate resolver
	RuleRouterSSO        = "router-sso"        // a router not behind the stack's SSO
	RuleLoadBalancerPort = "loadbalancer-port" // no load-balancer port
	RulePublicNetwork    = "public-network"    // web-facing but not on the public network
	RuleTraefikNetwork   = "traefik-network"   // Traefik's docker provider network unset or wrong
	RuleMiddleware       = "middleware-undefined"
	RuleTraefikConfig    = "traefik-config" // Traefik's configuration can't be found or read
	RuleDependsOnMissing = "depends-on-missing"
	RuleDependsOnCycle   = "depends-on-cycle"
	RuleEnvExampleSyntax = "env-example-syntax" // .env.example can't be parsed
	RuleLintConfig       = "lint-config"        // .selfhosted-lint.yml can't be parsed

	// The newer rules: warnings, errors in strict mode (see strictRules).
	RuleHealthcheck      = "healthcheck"
	RuleDependsOnHealthy = "depends-on-healthy"
	RuleExternalNetwork  = "external-network"
	RuleEnvExample       = "env-example" // a variable read but not in .env.example

	// Warnings about what the linter can't check, or what works but is odd.
	RuleSSOExternal          = "router-sso-external"    // behind a forwardAuth outside the stack
	RuleTraefikConfigIgnored = "traefik-config-ignored" // flags or TRAEFIK_* variables Traefik ignores

	// Backups (lint_backup.go): errors, but for a dump that is also copied.
	RuleBackupDump            = "backup-dump" // a database volume without a dump
	RuleBackupExcludeUnknown  = "backup-exclude-unknown"
	RuleBackupExcludeNoDump   = "backup-exclude-without-dump"
	RuleBackupDumpedAndCopied = "backup-dumped-and-copied" // a warning
)

// strictRuleIDs are the rules whose warnings strict mode makes errors:
// rules added after the old checklist, which an existing stack adopts step
// by step.
var strictRuleIDs = []string{RuleHealthcheck, RuleDependsOnHealthy, RuleExternalNetwork, RuleEnvExample}

var strictRules = func() map[string]bool {
	m := map[string]bool{}
	for _, id := range strictRuleIDs {
		m[id] = true
	}
	return m
}()

// StrictRules returns the IDs of the rules that are warnings unless the
// stack opts into strict mode.
func StrictRules() []string { return append([]string{}, strictRuleIDs...) }

// Finding is one lint result: which compose file and service, what is wrong,
// and how to fix it. It prints as one line.
type Finding struct {
	Severity Severity
	Rule     string // a Rule* ID
	File     string // compose file (or template, .env.example, Traefik configuration, ...) the finding is about
	Service  string // empty for stack-wide findings
	Subject  string // what in the service: a router, variable, network, ...; empty when the service is the subject
	Message  string // what is missing or wrong
	Fix      string // what to write to fix it
}

func (f Finding) String() string {
	where := f.File
	if f.Service != "" {
		where += ": service " + f.Service
	}
	return fmt.Sprintf("%s: %s: %s (fix: %s) [%s]", f.Severity, where, f.Message, f.Fix, f.Rule)
}

// Key identifies a finding across lint runs: rule, file, service and
// subject, tab-separated.
func (f Finding) Key() string {
	return f.Rule + "\t" + f.File + "\t" + f.Service + "\t" + f.Subject
}
