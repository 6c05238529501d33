package trove

// An AuthLevel is how strongly a person proved who they are when a web
// session began or a token was minted. Levels are ordered: a policy that
// asks for AuthMFA is met by AuthMFA and AuthPhishingResistant.
type AuthLevel int

// The levels, weakest first.
const (
	// AuthNone: nobody signed in (or a token minted before levels were
	// recorded).
	AuthNone AuthLevel = iota
	// AuthPassword: a password alone.
	AuthPassword
	// AuthMFA: a password and a second factor that can be phished (a TOTP
	// code or a recovery code).
	AuthMFA
	// AuthPhishingResistant: a WebAuthn credential (a security key or a
	// passkey), bound to this server's origin.
	AuthPhishingResistant
)

// String names the level as configuration, logs and pages show it.
func (l AuthLevel) String() string {
	switch l {
	case AuthPassword:
		return "password"
	case AuthMFA:
		return "mfa"
	case AuthPhishingResistant:
		return "phishing-resistant"
	}
	return "none"
}

// Meets reports whether l is at least want.
func (l AuthLevel) Meets(want AuthLevel) bool { return l >= want }
