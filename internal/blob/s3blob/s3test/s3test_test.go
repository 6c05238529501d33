package s3test

import (
	"os"
	"strings"
	"testing"
)

// The test command installs the version this package asks for.
func TestScriptInstallsThePinnedVersion(t *testing.T) {
	b, err := os.ReadFile("../../../../scripts/test.sh")
	if err != nil {
		t.Fatal(err)
	}
	module := strings.TrimPrefix(Install, "go install ")
	if !strings.Contains(string(b), module) {
		t.Errorf("scripts/test.sh does not install %s", module)
	}
}
