package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// runner runs a client's command and returns its standard output; tests
// replace it.
type runner func(ctx context.Context, name string, args ...string) (string, error)

func runClient(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	return strings.TrimSpace(string(out)), err
}

// A detected upstream is one [[upstream.sources.<ecosystem>]] entry, or a
// reason it could not be written.
type detected struct {
	eco, name, url string
	artifactHosts  []string
	sumdb          string
	from           string // the command it came from
	problem        string // why it is left out, for people
}

func (d detected) toml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# from %s\n", d.from)
	prefix := ""
	if d.problem != "" {
		fmt.Fprintf(&b, "# left out: %s\n", d.problem)
		prefix = "# "
	}
	fmt.Fprintf(&b, "%s[[upstream.sources.%s]]\n%sname = %q\n%surl = %q\n", prefix, d.eco, prefix, d.name, prefix, d.url)
	if len(d.artifactHosts) > 0 {
		fmt.Fprintf(&b, "%sartifact_hosts = [%q]\n", prefix, strings.Join(d.artifactHosts, `", "`))
	}
	if d.eco == "go" {
		fmt.Fprintf(&b, "%ssumdb = %q\n", prefix, d.sumdb)
	}
	return b.String()
}

// detectUpstreams asks the clients on this machine which registries they
// use: npm's registry, pip's index (pip config list, or pip's own default),
// the go command's GOPROXY and GOSUMDB. goSumDBKey is the key of the
// checksum database GOSUMDB names, when GOSUMDB gives only its name.
func detectUpstreams(ctx context.Context, run runner, goSumDBKey string) ([]detected, []string) {
	var out []detected
	var missing []string
	if reg, err := run(ctx, "npm", "config", "get", "registry"); err == nil && reg != "" && reg != "undefined" {
		out = append(out, detected{eco: "npm", name: hostName(reg), url: strings.TrimRight(reg, "/"), from: "npm config get registry"})
	} else {
		missing = append(missing, fmt.Sprintf("npm: `npm config get registry` failed (%v); install npm or add the source by hand", err))
	}
	if d, err := detectPip(ctx, run); err == nil {
		out = append(out, d)
	} else {
		missing = append(missing, "pypi: "+err.Error())
	}
	if ds, err := detectGo(ctx, run, goSumDBKey); err == nil {
		out = append(out, ds...)
	} else {
		missing = append(missing, "go: "+err.Error())
	}
	return out, missing
}

// detectPip reads pip's index-url as pip resolves it (environment first,
// then the site, user and global files), or pip's built-in index.
func detectPip(ctx context.Context, run runner) (detected, error) {
	list, err := run(ctx, "pip", "config", "list")
	if err != nil {
		return detected{}, fmt.Errorf("`pip config list` failed (%v); install pip or add the source by hand", err)
	}
	best, rank := "", 99
	for _, l := range strings.Split(list, "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok || !strings.HasSuffix(k, ".index-url") {
			continue
		}
		for i, p := range []string{":env:.", "site.", "user.", "global."} {
			if strings.HasPrefix(k, p) && i < rank {
				best, rank = strings.Trim(v, `'"`), i
			}
		}
	}
	d := detected{eco: "pypi", from: "pip config list"}
	if best == "" {
		def, err := run(ctx, "python3", "-c", "from pip._internal.models.index import PyPI; print(PyPI.simple_url, PyPI.file_storage_domain)")
		f := strings.Fields(def)
		if err != nil || len(f) != 2 {
			return detected{}, fmt.Errorf("pip has no index-url setting and its default could not be read (%v)", err)
		}
		best, d.artifactHosts, d.from = f[0], []string{f[1]}, "pip's default index"
	}
	root, ok := strings.CutSuffix(strings.TrimRight(best, "/"), "/simple")
	if !ok {
		d.problem = fmt.Sprintf("%s does not end in /simple: give the index's root, under which /simple/ is its simple API", best)
		root = best
	}
	d.name, d.url = hostName(best), root
	return d, nil
}

// detectGo reads GOPROXY (each proxy URL a source, in order; direct and
// off are not upstreams) and GOSUMDB.
func detectGo(ctx context.Context, run runner, key string) ([]detected, error) {
	env, err := run(ctx, "go", "env", "GOPROXY", "GOSUMDB")
	lines := strings.Split(env, "\n")
	if err != nil || len(lines) != 2 {
		return nil, fmt.Errorf("`go env GOPROXY GOSUMDB` failed (%v); install Go or add the source by hand", err)
	}
	sumdb, problem := strings.TrimSpace(lines[1]), ""
	switch f := strings.Fields(sumdb); {
	case sumdb == "off" || sumdb == "":
		problem = "GOSUMDB is off: Trove verifies every upstream module against a checksum database; give its key with --go-sumdb-key"
		sumdb = key
	case strings.Count(f[0], "+") == 2:
		sumdb = f[0]
	case key != "":
		if !strings.HasPrefix(key, f[0]+"+") {
			return nil, fmt.Errorf("--go-sumdb-key %q is not a key of %s, the database GOSUMDB names", key, f[0])
		}
		sumdb = key
	default:
		problem = fmt.Sprintf("GOSUMDB names %s without its key: paste the key published with the go command's documentation as --go-sumdb-key", f[0])
	}
	var out []detected
	for _, p := range strings.FieldsFunc(lines[0], func(r rune) bool { return r == ',' || r == '|' }) {
		if p == "direct" || p == "off" {
			continue
		}
		out = append(out, detected{eco: "go", name: hostName(p), url: strings.TrimRight(p, "/"), sumdb: sumdb, from: "go env GOPROXY GOSUMDB", problem: problem})
	}
	if len(out) == 0 {
		return nil, errors.New("GOPROXY names no proxy (only direct or off)")
	}
	return out, nil
}

// hostName names a source after its URL's host.
func hostName(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "upstream"
}

func newUpstreamDetect() *cobra.Command {
	var write, key string
	cmd := &cobra.Command{
		Use:   "detect [--write FILE] [--go-sumdb-key KEY]",
		Short: "Fill in upstreams from the registries this machine's npm, pip and go use",
		Long: `Ask this machine's clients which registries they use — npm config get
registry, pip config list (or pip's built-in index), go env GOPROXY GOSUMDB —
and print them as [[upstream.sources.<ecosystem>]] settings, or append them
to a configuration file with --write. Trove then fetches the names it does not
hold from them, verified (docs/proxy.md).

Go modules are verified against the upstream checksum database: when GOSUMDB
gives only the database's name, paste its key (published with the go
command's documentation) as --go-sumdb-key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			found, missing := detectUpstreams(cmd.Context(), runClient, key)
			var b strings.Builder
			b.WriteString("\n# Upstreams detected by trove upstream detect\n")
			for _, d := range found {
				b.WriteString(d.toml())
			}
			for _, m := range missing {
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: not detected: %s\n", m)
			}
			for _, d := range found {
				if d.problem != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "trove: %s upstream %s left commented out: %s\n", d.eco, d.url, d.problem)
				}
			}
			if write == "" {
				_, err := io.WriteString(cmd.OutOrStdout(), b.String())
				return err
			}
			f, err := os.OpenFile(write, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
			if err != nil {
				return err
			}
			if _, err := f.WriteString(b.String()); err != nil {
				f.Close()
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "trove: appended %d upstreams to %s; check it with: trove config check --config %s\n", len(found), write, write)
			return f.Close()
		},
	}
	cmd.Flags().StringVar(&write, "write", "", "append the settings to this configuration file")
	cmd.Flags().StringVar(&key, "go-sumdb-key", "", "the key of the checksum database GOSUMDB names (<name>+<hash>+<key>)")
	return cmd
}
