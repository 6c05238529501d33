//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestCurationCLIAndAPI sets curation policies and marks with trove
// policy, approve, deny and allow against a running server, and reads them
// back through the CLI and Trove's JSON API: only curators (and
// administrators) with a curate token may, bad input is refused with a
// clear message and changes nothing, and every decision is a record of the
// transparency log that trove verify --audit counts.
func TestCurationCLIAndAPI(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	tr.AddUser(t, "bob")
	wantOutput(t, "trove curator add", tr.trove(t, "", "curator", "add", "alice"), "alice is a curator")
	wantOutput(t, "trove curator list", tr.trove(t, "", "curator", "list"), "alice")
	curator := []string{"TROVE_TOKEN=" + tr.Token(t, "alice", "*", "read,curate")}
	cli := func(env []string, args ...string) string {
		t.Helper()
		return must(t, "", env, troveBin, append(args, "--url", tr.URL)...)
	}
	fail := func(env []string, args ...string) string {
		t.Helper()
		return mustFail(t, "", env, troveBin, append(args, "--url", tr.URL)...)
	}

	wantOutput(t, "trove policy set", cli(curator, "policy", "set", "npm", "--min-age", "3d", "--install-scripts", "block", "--why", "worm season"),
		"policy npm:* is mode inherit, min-age 72h0m0s, install-scripts block")
	wantOutput(t, "trove policy set a scope", cli(curator, "policy", "set", "npm", "@acme/*", "--mode", "approved-only"),
		"policy npm:@acme/* is mode approved-only, min-age inherit")
	wantOutput(t, "trove deny a range", cli(curator, "deny", "npm", "left-pad", ">=2.0.0 <3.0.0", "--why", "breaks builds"), "marked npm left-pad >=2.0.0 <3.0.0 deny")
	wantOutput(t, "trove deny --malicious", cli(curator, "deny", "npm", "@evil/*", "--malicious", "--why", "worm"), "marked npm @evil/* * malicious")
	wantOutput(t, "trove approve", cli(curator, "approve", "npm", "left-pad", "1.3.0", "--why", "reviewed"), "marked npm left-pad 1.3.0 approved")
	wantOutput(t, "trove allow", cli(curator, "allow", "pypi", "Requests", ">=2.31", "--why", "vetted"), "marked pypi Requests >=2.31 allow")

	show := cli(curator, "policy", "show", "npm", "left-pad")
	wantOutput(t, "trove policy show NAME", show, "EFFECTIVE", "mode open (default)", "min-age 72h0m0s (npm:*)", "install-scripts block (npm:*)",
		"deny", ">=2.0.0 <3.0.0", "tag approved", "1.3.0", "reviewed")
	if strings.Contains(show, "@evil") || strings.Contains(show, "@acme") {
		t.Errorf("trove policy show npm left-pad lists what does not apply to it:\n%s", show)
	}
	wantOutput(t, "trove policy show a scoped name", cli(curator, "policy", "show", "npm", "@acme/util"), "mode approved-only (npm:@acme/*)")

	// Refusals: nothing changes.
	state := t.TempDir()
	records := func() string { return cli(nil, "verify", "--key", tr.logKey(t), "--state", state, "--audit") }
	before := records()
	bob := []string{"TROVE_TOKEN=" + tr.Token(t, "bob", "*", "read,curate")}
	wantOutput(t, "a user who is not a curator", fail(bob, "deny", "npm", "left-pad", "--why", "x"), "403", "bob is not a curator", "trove curator add bob")
	noCurate := []string{"TROVE_TOKEN=" + tr.Token(t, "alice", "*", "read,publish,yank")}
	wantOutput(t, "a token without curate", fail(noCurate, "deny", "npm", "left-pad", "--why", "x"), "403", "--action curate")
	wantOutput(t, "no token", fail(nil, "policy", "show", "npm"), "no API token", "--action curate")
	wantOutput(t, "a bad range", fail(curator, "deny", "npm", "left-pad", ">>nope", "--why", "x"), "400", "neither a npm version nor a range")
	wantOutput(t, "no reason", fail(curator, "approve", "npm", "left-pad", "1.0.0"), "400", "give a reason (--why)")
	wantOutput(t, "a bad mode", fail(curator, "policy", "set", "npm", "--mode", "closed"), "400", "want open, approved-only or inherit")
	wantOutput(t, "a bad age", fail(curator, "policy", "set", "npm", "--min-age", "soon"), "400", "like 72h or 3d")
	wantOutput(t, "no setting", fail(curator, "policy", "set", "npm"), "no policy setting to change")
	wantOutput(t, "a Go range", fail(curator, "deny", "go", "example.com/m", ">=v1.0.0", "--why", "x"), "400", "constraints name one version")
	wantOutput(t, "undoing what is not there", fail(curator, "deny", "npm", "right-pad", "--undo"), "404", "not marked deny")
	if after := records(); after != before {
		t.Errorf("refused changes changed the log:\n%s\n→\n%s", before, after)
	}

	// The API answers the same.
	req, _ := http.NewRequest(http.MethodGet, tr.URL+"/api/v1/curation/pypi/requests", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(curator[0], "TROVE_TOKEN="))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var view struct {
		Marks []struct {
			Kind, Name, Versions, Why string
			SetBy                     string `json:"set_by"`
		}
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &view) != nil || len(view.Marks) != 1 ||
		view.Marks[0].Kind != "allow" || view.Marks[0].Name != "requests" || view.Marks[0].Versions != ">=2.31" || view.Marks[0].SetBy != "alice" {
		t.Errorf("GET /api/v1/curation/pypi/requests = %s %s, want alice's allow mark on requests >=2.31", resp.Status, body)
	}

	wantOutput(t, "trove deny --undo", cli(curator, "deny", "npm", "left-pad", ">=2.0.0 <3.0.0", "--undo"), "unmarked npm left-pad >=2.0.0 <3.0.0 deny")
	if out := cli(curator, "policy", "show", "npm", "left-pad"); strings.Contains(out, "breaks builds") {
		t.Errorf("after --undo the deny mark is still shown:\n%s", out)
	}
	// Two policies, five marks added and one removed.
	wantOutput(t, "trove verify --audit", records(), "policy     2", "curate     5")
}

// logKey returns the verifier key of the server's transparency log.
func (tr *Trove) logKey(t *testing.T) string {
	lines := strings.Split(strings.TrimSpace(tr.trove(t, "", "log", "key")), "\n")
	return lines[len(lines)-1]
}
