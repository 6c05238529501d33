package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/config"
)

func TestS3CredentialsFromFilesOrEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret-value"}
	getenv := func(k string) string { return env[k] }

	s := config.S3{AccessKeyFile: write("access", "AKIDFILE\n"), SecretKeyFile: write("secret", "  file-secret-value\n")}
	c, err := s3Credentials(s, getenv)
	if err != nil || c.AccessKey != "AKIDFILE" || c.SecretKey != "file-secret-value" {
		t.Errorf("from files: %q %q %v; want the files' keys, trimmed", c.AccessKey, c.SecretKey, err)
	}
	c, err = s3Credentials(config.S3{}, getenv)
	if err != nil || c.AccessKey != "AKIDENV" || c.SecretKey != "env-secret-value" {
		t.Errorf("from the environment: %q %q %v", c.AccessKey, c.SecretKey, err)
	}
	for _, tc := range []struct {
		s    config.S3
		env  map[string]string
		want string
	}{
		{config.S3{}, map[string]string{"AWS_ACCESS_KEY_ID": "AKID"}, "no access key"},
		{config.S3{AccessKeyFile: filepath.Join(dir, "nope"), SecretKeyFile: s.SecretKeyFile}, env, "storage.s3.access_key_file"},
		{config.S3{AccessKeyFile: s.AccessKeyFile, SecretKeyFile: write("empty", "\n")}, env, "must hold the key alone"},
		{config.S3{AccessKeyFile: s.AccessKeyFile, SecretKeyFile: write("two", "file-secret-value\nmore-secret\n")}, env, "must hold the key alone"},
	} {
		_, err := s3Credentials(tc.s, func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("s3Credentials(%+v) = %v, want an error containing %q", tc.s, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-value") {
			t.Errorf("the error shows a secret: %v", err)
		}
	}
}
