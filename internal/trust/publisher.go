package trust

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/trove"
)

// A Kind of issuer decides which claims its publishers check.
type Kind string

// The kinds.
const (
	// GitHub is GitHub Actions: repository, repository_owner_id, the
	// workflow file of job_workflow_ref, and optionally environment.
	GitHub Kind = "github"
	// GitLab is GitLab CI: project_path, the configuration file of
	// ci_config_ref_uri, and optionally environment.
	GitLab Kind = "gitlab"
	// Generic issuers' publishers list the claims to match exactly.
	Generic Kind = "generic"
)

// Limits on a publisher's rules.
const (
	MaxClaimRules    = 16
	maxClaimName     = 64
	maxClaimValue    = 512
	defaultGitLabCfg = ".gitlab-ci.yml"
)

// A Spec is what identifies a publisher's CI jobs: the issuer (by its
// configured name) and the fields of its kind; the other kinds' fields
// stay empty.
type Spec struct {
	Issuer string `json:"issuer"`
	// GitHub Actions: Repository is "owner/repo", RepositoryOwnerID the
	// owner's numeric id (it survives renames; a new account with the old
	// name does not get it), Workflow the file name in .github/workflows.
	Repository        string `json:"repository,omitempty"`
	RepositoryOwnerID string `json:"repository_owner_id,omitempty"`
	Workflow          string `json:"workflow,omitempty"`
	// GitLab CI: Project is the project's path ("group/sub/project"),
	// ConfigFile the CI configuration file (default .gitlab-ci.yml).
	Project    string `json:"project,omitempty"`
	ConfigFile string `json:"config_file,omitempty"`
	// Environment, for GitHub and GitLab, is the deployment environment
	// the job must run in; "" accepts any.
	Environment string `json:"environment,omitempty"`
	// Claims, for generic issuers, are claims the token must carry with
	// exactly these string values.
	Claims map[string]string `json:"claims,omitempty"`
}

var (
	githubRepo   = regexp.MustCompile(`^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$`)
	numeric      = regexp.MustCompile(`^[0-9]{1,20}$`)
	workflowFile = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}\.ya?ml$`)
	gitlabPath   = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`)
)

// checkedClaims are the claims a Verifier checks itself, or that say
// nothing about who runs the job: generic rules may not name them (sub
// excepted, which they may name along with others).
var checkedClaims = []string{"iss", "aud", "exp", "nbf", "iat", "jti"}

// validate checks the spec for an issuer of kind k and returns it in its
// stored form.
func (s Spec) validate(k Kind) (Spec, error) {
	bad := func(format string, args ...any) (Spec, error) {
		return Spec{}, trove.Error(trove.ErrInvalid, format, args...)
	}
	s.Repository, s.RepositoryOwnerID, s.Workflow = strings.TrimSpace(s.Repository), strings.TrimSpace(s.RepositoryOwnerID), strings.TrimSpace(s.Workflow)
	s.Project, s.ConfigFile, s.Environment = strings.Trim(strings.TrimSpace(s.Project), "/"), strings.TrimSpace(s.ConfigFile), strings.TrimSpace(s.Environment)
	if len(s.Environment) > 255 || strings.ContainsAny(s.Environment, "\n\r\t") {
		return bad("environment: at most 255 characters on one line")
	}
	switch k {
	case GitHub:
		switch {
		case s.Project != "" || s.ConfigFile != "" || len(s.Claims) > 0:
			return bad("issuer %s is GitHub Actions: give repository, repository_owner_id, workflow and optionally environment (not project, config_file or claims)", s.Issuer)
		case !githubRepo.MatchString(s.Repository):
			return bad("repository: %q is not OWNER/REPO", s.Repository)
		case !numeric.MatchString(s.RepositoryOwnerID):
			return bad("repository_owner_id: %q is not the numeric id of the repository's owner (GitHub's API shows it as owner.id; it stays with the account through renames)", s.RepositoryOwnerID)
		case !workflowFile.MatchString(s.Workflow):
			return bad("workflow: %q is not the file name of a workflow in .github/workflows, like release.yml", s.Workflow)
		}
	case GitLab:
		if s.ConfigFile == "" {
			s.ConfigFile = defaultGitLabCfg
		}
		switch {
		case s.Repository != "" || s.RepositoryOwnerID != "" || s.Workflow != "" || len(s.Claims) > 0:
			return bad("issuer %s is GitLab CI: give project, optionally config_file and environment (not repository, workflow or claims)", s.Issuer)
		case !gitlabPath.MatchString(s.Project) || len(s.Project) > 255:
			return bad("project: %q is not a project path like group/project", s.Project)
		case strings.Contains(s.ConfigFile, "..") || strings.HasPrefix(s.ConfigFile, "/") || strings.ContainsAny(s.ConfigFile, "@ \n") || len(s.ConfigFile) > 255:
			return bad("config_file: %q is not a path in the repository like .gitlab-ci.yml", s.ConfigFile)
		}
	case Generic:
		switch {
		case s.Repository != "" || s.RepositoryOwnerID != "" || s.Workflow != "" || s.Project != "" || s.ConfigFile != "" || s.Environment != "":
			return bad("issuer %s is generic: give its rules as claims (NAME=VALUE), not the GitHub or GitLab fields", s.Issuer)
		case len(s.Claims) > MaxClaimRules:
			return bad("claims: at most %d rules", MaxClaimRules)
		}
		others := 0
		for name, v := range s.Claims {
			switch {
			case name == "" || len(name) > maxClaimName || strings.ContainsAny(name, " =\n"):
				return bad("claims: %q is not a claim name", name)
			case slices.Contains(checkedClaims, name):
				return bad("claims: %s is checked by the registry itself (issuer, audience, times, token id): rules name the claims that identify the job", name)
			case v == "" || len(v) > maxClaimValue:
				return bad("claims: %s needs a value of 1 to %d bytes", name, maxClaimValue)
			}
			if name != "sub" {
				others++
			}
		}
		if others == 0 {
			return bad("claims: a generic publisher must match at least one claim besides sub (issuer, subject and audience alone identify too little; name the repository, project or workflow claims your issuer sets)")
		}
	default:
		return bad("issuer %s has an unknown kind %q", s.Issuer, k)
	}
	return s, nil
}

// match returns nil if the claims satisfy the spec (of an issuer is), or
// an error naming the first claim that differs.
func (s Spec) match(is Issuer, c *Claims) error {
	differs := func(claim, want string) error {
		return &TokenError{Code: "invalid-publisher", Msg: fmt.Sprintf("claim %s is %q, the publisher wants %q", claim, c.String(claim), want)}
	}
	switch is.Kind {
	case GitHub:
		ref, _, _ := strings.Cut(c.String("job_workflow_ref"), "@")
		switch want := s.Repository + "/.github/workflows/" + s.Workflow; {
		case !strings.EqualFold(c.String("repository"), s.Repository):
			return differs("repository", s.Repository)
		case c.String("repository_owner_id") != s.RepositoryOwnerID:
			return differs("repository_owner_id", s.RepositoryOwnerID)
		case !strings.EqualFold(ref, want):
			return differs("job_workflow_ref", want+"@…")
		case s.Environment != "" && !strings.EqualFold(c.String("environment"), s.Environment):
			return differs("environment", s.Environment)
		}
	case GitLab:
		ref, _, _ := strings.Cut(c.String("ci_config_ref_uri"), "@")
		switch want := issuerHost(is.URL) + "/" + s.Project + "//" + s.ConfigFile; {
		case !strings.EqualFold(c.String("project_path"), s.Project):
			return differs("project_path", s.Project)
		case !strings.EqualFold(ref, want):
			return differs("ci_config_ref_uri", want+"@…")
		case s.Environment != "" && c.String("environment") != s.Environment:
			return differs("environment", s.Environment)
		}
	case Generic:
		names := make([]string, 0, len(s.Claims))
		for n := range s.Claims {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if c.String(n) != s.Claims[n] {
				return differs(n, s.Claims[n])
			}
		}
	default:
		return &TokenError{Code: "invalid-publisher", Msg: fmt.Sprintf("issuer %s has an unknown kind %q", is.Name, is.Kind)}
	}
	return nil
}

// issuerHost is the host (and path) of an issuer URL, as GitLab writes
// it in ci_config_ref_uri.
func issuerHost(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return strings.TrimSuffix(p.Host+p.Path, "/")
}
