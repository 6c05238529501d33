package adapter

import "context"

// A Channel is how a request reached the server (internal/server decides,
// see server.Transport): the web interface names its cookie and marks it
// Secure from it, and refuses sign-ins over plain HTTP from the network.
type Channel int

// The channels, least trusted first.
const (
	// PlainNetwork is plain HTTP from another machine.
	PlainNetwork Channel = iota
	// Loopback is plain HTTP from this machine.
	Loopback
	// HTTPS is TLS, directly or through a trusted proxy.
	HTTPS
)

type channelKey struct{}

// WithChannel returns a context recording how its request arrived.
func WithChannel(ctx context.Context, c Channel) context.Context {
	return context.WithValue(ctx, channelKey{}, c)
}

// ChannelOf returns how the context's request arrived; PlainNetwork if
// nothing recorded it.
func ChannelOf(ctx context.Context) Channel {
	c, _ := ctx.Value(channelKey{}).(Channel)
	return c
}
