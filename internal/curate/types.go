package curate

import "github.com/trove-dev/trove/internal/upstream"

// A Version is an upstream version to decide on, and a Decision whether
// it may be served: the upstream package's, whose Policy a Service is.
type (
	Version  = upstream.Version
	Decision = upstream.Decision
)

var _ upstream.Policy = (*Service)(nil)
