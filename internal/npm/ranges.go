package npm

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Satisfies implements registry.Constrainer with semver ranges. Dist-tags
// and ranges it cannot read are errors, so the version counts as depended
// on; its pre-release rule admits more than npm's, which errs the same way.
func (Rules) Satisfies(version, constraint string) (bool, error) {
	constraint = strings.TrimSpace(constraint)
	if constraint == "" || constraint == "*" {
		return true, nil
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false, err
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return false, err
	}
	return c.Check(v), nil
}
