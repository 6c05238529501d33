// Package curate decides which upstream versions clients may see: the
// curation policies of issue 10 (PKM-17, consumers' approval lists).
//
// # Policies and marks
//
// A policy applies to the packages of an ecosystem whose names match its
// pattern: "*" (every package), a pattern such as "@acme/*", or one name.
// It sets a mode (open, or approved-only: only versions a curator tagged
// approved or allowed are served), a minimum age (a cool-down before a new
// upstream version is served) and whether versions with install scripts
// are blocked. For a package each setting comes from the most specific
// policy that sets it: its own name, then patterns with longer literal
// parts, then "*". Without any policy every version is allowed.
//
// Marks are curators' decisions about versions: allow, deny and malicious
// marks name a package (or a pattern of names) and versions ("*", one
// version, or a range in the ecosystem's own syntax, read by its
// registry.Constrainer); tags (approved, …) name one version of one
// package, with who tagged it, when and why.
//
// # Decisions
//
// For each version, in this order: a malicious mark blocks it; a deny mark
// blocks it; an allow mark or an approved tag allows it (over the rules
// below, a curator having looked at it); approved-only mode blocks it; the
// cool-down blocks it while it is younger than the minimum age (and when
// its publication time is unknown: curation fails closed); a blocked
// install script blocks it; otherwise it is allowed.
//
// # Consistency and cost
//
// Every change (policy, mark) goes through registry.Service.Record: one
// transaction with a transparency-log record (kinds "policy" and
// "curate", which carry every fact of the change so that recovery can
// replay it) and a change-feed entry under the name or pattern. Decide runs
// on every proxied metadata render: it reads the ecosystem's pattern
// policies and marks once, and each package's own once (one query), and
// keeps them until the registry's watchers say they changed, on this
// replica at once and on the others through the change feed. Decisions
// themselves are not cached, so a cool-down ends on time.
package curate
