package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
)

// publishReal publishes every version of a package as npm publish does:
// a PUT of the publish document with the tarball attached, through the
// whole server (authentication, the npm adapter, registry.Publish, the
// log signature), with the registry's clock at the simulated time.
func (g *generator) publishReal(ctx context.Context, pp *plannedPackage) error {
	deps := g.plan.depsOf(pp)
	for i, v := range pp.versions {
		t, err := g.tarballFor(ctx, pp, i, v.version, deps)
		if err != nil {
			return err
		}
		body, err := publishDoc(g.baseURL+"/npm", string(pp.name), v.version, v.tag, deps, t)
		if err != nil {
			return err
		}
		if err := g.setClock(ctx); err != nil {
			return err
		}
		req := httptest.NewRequestWithContext(ctx, http.MethodPut, "/npm/"+url.PathEscape(string(pp.name)), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+g.secrets[pp.owner])
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "127.0.0.1:1"
		rec := httptest.NewRecorder()
		g.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("version %s: %d %s", v.version, rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
		}
		g.progress(1)
	}
	return nil
}

// publishDoc returns the body of npm publish for a version of a
// generated package: its package.json as the version's manifest, with the
// dist fields npm adds, and the tarball as a base64 attachment.
func publishDoc(registry, name, version, tag string, deps map[string]string, t *tarball) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(packageJSON(name, version, deps), &m); err != nil {
		return nil, err
	}
	m["_id"] = name + "@" + version
	m["readme"] = readme(name)
	m["dist"] = map[string]any{
		"integrity": t.digests.Integrity(),
		"shasum":    t.digests.SHA1,
		"tarball":   registry + "/" + name + "/-/" + filename(name, version),
	}
	file := name + "-" + version + ".tgz"
	return json.Marshal(map[string]any{
		"_id":         name,
		"name":        name,
		"description": m["description"],
		"dist-tags":   map[string]string{tag: version},
		"versions":    map[string]any{version: m},
		"access":      nil,
		"_attachments": map[string]any{file: map[string]any{
			"content_type": "application/octet-stream",
			"data":         base64.StdEncoding.EncodeToString(t.data),
			"length":       len(t.data),
		}},
	})
}
