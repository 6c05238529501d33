package cert

import "crypto/tls"

// A Source gives the certificate for a TLS handshake: the type of
// tls.Config.GetCertificate. Implementations are safe for concurrent use.
type Source interface {
	GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error)
}

// ServerConfig returns the TLS settings of trove serve, with certificates
// from src: TLS 1.2 at least, Go's default cipher suites and curves, and
// HTTP/2 before HTTP/1.1. protos are further ALPN protocols to accept
// (ACME's "acme-tls/1").
func ServerConfig(src Source, protos ...string) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: src.GetCertificate,
		NextProtos:     append([]string{"h2", "http/1.1"}, protos...),
	}
}
