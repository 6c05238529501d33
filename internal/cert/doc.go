// Package cert provides the certificates trove serve presents over TLS,
// from one of three sources, and the TLS settings it serves them with.
//
//   - [Files]: a certificate chain and key in PEM files, read again when
//     they change (or on request: trove serve does on SIGHUP), so that a
//     renewal by another tool needs no restart. A reload that fails keeps
//     the certificate already loaded.
//   - [Local]: a local certificate authority for trials, kept in a
//     directory and reused across restarts, which issues a leaf
//     certificate for the server's host names at every start. The CA is
//     name-constrained to those names, so that a user who trusts it trusts
//     it for nothing else, even if its key leaks.
//   - [NewACME]: certificates from an ACME server (RFC 8555) through
//     golang.org/x/crypto/acme/autocert, validated with the tls-alpn-01
//     challenge on the server's own TLS port and cached in a directory.
//
// # Security invariants
//
// Private keys are written with mode 0600 and never logged. The server
// accepts TLS 1.2 and 1.3 only, with Go's default cipher suites (in TLS
// 1.2 forward-secret ECDHE suites only, AEAD ones preferred: Go no longer
// enables RSA key exchange or 3DES by default), and offers HTTP/2.
package cert
