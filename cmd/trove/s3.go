package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/s3blob"
	"github.com/trove-dev/trove/internal/config"
)

// openS3 opens the s3 blob store, checking the bucket (see s3blob.New).
func openS3(ctx context.Context, c *config.Config) (blob.Store, error) {
	s := c.Storage.S3
	creds, err := s3Credentials(s, os.Getenv)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.TempDir(), 0o750); err != nil {
		return nil, fmt.Errorf("creating upload directory: %w", err)
	}
	cfg := s3blob.Config{Endpoint: s.Endpoint, Bucket: s.Bucket, Region: s.Region, Prefix: s.Prefix, PathStyle: s.PathStyle,
		Credentials: creds, Timeout: s.Timeout.Std(), SpoolDir: c.TempDir()}
	if s.Redirect {
		cfg.RedirectTTL = s.RedirectTTL.Std()
	}
	store, err := s3blob.New(ctx, cfg)
	if err != nil {
		return nil, hinted{err, "see docs/s3.md for the bucket, the key's permissions and the settings"}
	}
	slog.Info("blob store", "backend", "s3", "endpoint", s.Endpoint, "bucket", s.Bucket, "prefix", s.Prefix,
		"redirect", s.Redirect, "server_verifies_sha256", store.ServerVerifies())
	return store, nil
}

// s3Credentials reads the access key from the files the configuration
// names or, without them, from the standard AWS_* variables. Their
// contents never appear in an error.
func s3Credentials(s config.S3, getenv func(string) string) (s3blob.Credentials, error) {
	if s.AccessKeyFile == "" {
		creds := s3blob.Credentials{AccessKey: getenv("AWS_ACCESS_KEY_ID"), SecretKey: getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: getenv("AWS_SESSION_TOKEN")}
		if creds.AccessKey == "" || creds.SecretKey == "" {
			return creds, errors.New("storage.s3: no access key: set storage.s3.access_key_file and secret_key_file, or the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables")
		}
		return creds, nil
	}
	access, err := readKeyFile("storage.s3.access_key_file", s.AccessKeyFile)
	if err != nil {
		return s3blob.Credentials{}, err
	}
	secret, err := readKeyFile("storage.s3.secret_key_file", s.SecretKeyFile)
	if err != nil {
		return s3blob.Credentials{}, err
	}
	return s3blob.Credentials{AccessKey: access, SecretKey: secret}, nil
}

// readKeyFile reads a one-line secret file.
func readKeyFile(setting, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", setting, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" || strings.ContainsAny(v, "\n\r") {
		return "", fmt.Errorf("%s: %s must hold the key alone, on one line", setting, path)
	}
	return v, nil
}
