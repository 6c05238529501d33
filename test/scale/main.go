// Command scale generates Trove data sets of public-registry size and
// measures a running trove serve on them: the figures of the "Scale"
// section of docs/benchmarks.md. scripts/scale.sh runs both.
//
//	scale generate -config trove.toml -packages 100000 -versions 1000000
//	scale load -url http://127.0.0.1:18090 -tokens FILE …
//	scale sample -url http://127.0.0.1:18090 …
//
// # Generation
//
// generate fills a new data directory, with the configuration trove serve
// will use (SQLite or PostgreSQL, the log key's name from base_url), with
// npm packages whose version counts follow a power law (most packages
// have one or a few versions, a few hundred have thousands). Every
// RealEvery-th package is published through the real path (npm publish
// requests to the npm adapter in process, registry.Publish, a signed log);
// the others are written by the bulk writer (bulk.go), which writes the
// same rows and appends the same log records through meta's Tx API, many
// publishes to a transaction. Yanks, deprecations and added owners go
// through registry.Apply. Times are simulated: a log record every minute
// from Epoch. The log is signed at the end.
//
// # Measurement
//
// load runs bounded phases against a trove serve and prints one line of
// figures per phase (see load.go). sample prints the packument and
// tarball URLs of a package of typical size, for wrk.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "generate":
		err = generateMain(os.Args[2:])
	case "load":
		err = loadMain(os.Args[2:])
	case "sample":
		err = sampleMain(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: scale generate|load|sample [flags] (-h for the flags)")
	os.Exit(2)
}

func generateMain(args []string) error {
	fs := flag.NewFlagSet("generate", flag.ExitOnError)
	cfgPath := fs.String("config", "", "trove configuration file (the one trove serve will use)")
	data := fs.String("data", "", "data directory (overrides the configuration's)")
	o := Options{Progress: os.Stderr}
	fs.IntVar(&o.Packages, "packages", 100_000, "npm packages")
	fs.IntVar(&o.Versions, "versions", 1_000_000, "versions in all")
	fs.IntVar(&o.MaxVersions, "max-versions", 5_000, "versions of the largest package")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same flags give the same data set")
	fs.IntVar(&o.RealEvery, "real-every", 200, "publish every Nth package through the real publish path (0: none)")
	fs.IntVar(&o.SharedBlobs, "shared-blobs", 16, "bulk-written versions share this many tarball blobs (0: a tarball each)")
	fs.IntVar(&o.Batch, "batch", 5_000, "versions per bulk transaction")
	fs.StringVar(&o.TokensFile, "tokens", "", "write the maintainers' API tokens to this file (for load's publish phase)")
	fs.IntVar(&o.ProgressEvery, "progress", 50_000, "report progress every N versions")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the generation to this file")
	fs.Parse(args)
	c, err := loadConfig(*cfgPath, *data)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	sum, err := generate(context.Background(), &c, o)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d packages, %d versions (%d packages, %d versions through the real publish path); %d yanked, %d deprecated, %d owners added; log of %d records, signed; %s (%.0f versions/s)\n",
		sum.Packages, sum.Versions, sum.RealPackages, sum.RealVersions, sum.Yanked, sum.Deprecated, sum.OwnersAdded, sum.LogSize,
		sum.Elapsed.Round(1e9), float64(sum.Versions)/sum.Elapsed.Seconds())
	return nil
}

// loadConfig loads a trove configuration as trove serve does.
func loadConfig(path, data string) (config.Config, error) {
	c, err := config.Load(path, os.Environ())
	if err != nil {
		return c, err
	}
	if data != "" {
		c.DataDir = data
	}
	c.Finish()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return c, nil
}

// openDB opens the configured database as trove serve does.
func openDB(ctx context.Context, c *config.Config) (*meta.DB, error) {
	switch c.Database.Driver {
	case "sqlite":
		return meta.OpenSQLite(ctx, c.Database.Path)
	case "postgres":
		conn, err := c.Database.ConnString()
		if err != nil {
			return nil, err
		}
		return meta.OpenPostgres(ctx, conn, meta.PostgresOptions{MaxOpenConns: c.Database.MaxOpenConns,
			MaxIdleConns: c.Database.MaxIdleConns, ConnMaxLifetime: time.Duration(c.Database.ConnMaxLifetime)})
	}
	return nil, fmt.Errorf("database driver %q is not supported", c.Database.Driver)
}
