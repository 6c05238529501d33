package limit

import "context"

type clientKey struct{}

// WithClient returns a context that carries the client's rate-limit key
// (Key of its address), for limits applied below the HTTP layer.
func WithClient(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, clientKey{}, key)
}

// ClientFrom returns the client's rate-limit key, or "" when the work is
// not a client's (a background job, a command).
func ClientFrom(ctx context.Context) string {
	k, _ := ctx.Value(clientKey{}).(string)
	return k
}
