package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
)

func newMigrate(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Show and apply the database schema migrations (status, up)",
		Long: `A trove release may add migrations to the database schema. trove serve applies
them when it opens the database if database.auto_migrate is true (the default);
otherwise, or to migrate before rolling out a new release to replicas, run
trove migrate up once with the new release. Migrations only expand the schema,
so servers of the previous release keep working on a migrated database
(docs/operations.md, Upgrades).`,
	}
	cmd.AddCommand(newMigrateStatus(g), newMigrateUp(g))
	return cmd
}

func newMigrateStatus(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "List the migrations this trove knows, applied or pending, and any a newer trove applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSchema(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				s, err := db.SchemaStatus(cmd.Context())
				if err != nil {
					return err
				}
				printSchema(cmd.OutOrStdout(), c, s)
				return nil
			})
		},
	}
}

func newMigrateUp(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Apply the migrations the database lacks (under a lock: safe to run beside serving replicas)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withSchema(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				return migrateUp(cmd.Context(), cmd.OutOrStdout(), db)
			})
		},
	}
}

// withSchema runs fn with the configured database opened as it is.
func withSchema(ctx context.Context, g *globals, fn func(c *config.Config, db *meta.DB) error) error {
	c, err := loadConfig(g)
	if err != nil {
		return err
	}
	if err := finish(&c); err != nil {
		return err
	}
	db, err := connectDB(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(&c, db)
}

func printSchema(w io.Writer, c *config.Config, s *meta.SchemaStatus) {
	fmt.Fprintf(w, "database: %s, at schema version %d; this trove knows versions up to %d\n", describeDB(c), s.Current(), meta.LatestSchema())
	for _, m := range s.Migrations {
		state := "applied"
		if !m.Applied {
			state = "pending"
		}
		if m.Contract {
			state += " (contracts the schema)"
		}
		fmt.Fprintf(w, "  %-36s %s\n", m.Name, state)
	}
	for _, v := range s.Unknown {
		fmt.Fprintf(w, "  %05d (unknown)                       applied by a newer trove\n", v)
	}
	switch p := s.Pending(); {
	case len(p) > 0:
		fmt.Fprintf(w, "%d pending: run trove migrate up\n", len(p))
	case s.Newer():
		fmt.Fprintln(w, "up to date; the database is newer than this trove, which keeps working on it (migrations only expand the schema)")
	default:
		fmt.Fprintln(w, "up to date")
	}
}

func migrateUp(ctx context.Context, w io.Writer, db *meta.DB) error {
	done, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, m := range done {
		fmt.Fprintf(w, "applied %s\n", m.Name)
		if m.Contract {
			fmt.Fprintf(w, "note: %s contracts the schema: servers of releases that still read what it removes must not run on this database\n", m.Name)
		}
	}
	s, err := db.CheckSchema(ctx)
	if err != nil {
		return err
	}
	switch {
	case len(done) == 0 && s.Newer():
		fmt.Fprintf(w, "nothing to apply: the database is at version %d, newer than this trove's %d (upgrade trove)\n", s.Current(), meta.LatestSchema())
	case len(done) == 0:
		fmt.Fprintf(w, "nothing to apply: the database is at version %d\n", s.Current())
	default:
		fmt.Fprintf(w, "the database is at version %d\n", s.Current())
	}
	return nil
}

// prepareSchema makes an opened database fit for this build: it applies
// the pending migrations if database.auto_migrate allows (never a
// contracting one), refuses a database that still lacks some, and logs
// when a newer trove migrated it.
func prepareSchema(ctx context.Context, c *config.Config, db *meta.DB) error {
	s, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if pending := s.Pending(); len(pending) > 0 {
		if err := autoMigrate(ctx, c, db, s, pending); err != nil {
			return err
		}
	}
	if s.Newer() {
		slog.Warn("the database schema is newer than this trove: a newer release migrated it; this one keeps working on it (migrations only expand the schema), but upgrade it",
			"database_version", s.Current(), "trove_schema", meta.LatestSchema())
	}
	return nil
}

func autoMigrate(ctx context.Context, c *config.Config, db *meta.DB, s *meta.SchemaStatus, pending []meta.Migration) error {
	behind := &meta.SchemaBehindError{Current: s.Current(), Pending: pending}
	if !c.Database.AutoMigrate {
		return hinted{fmt.Errorf("refusing to use the database: %w", behind), "database.auto_migrate is false: run " + upCommand(c)}
	}
	for _, m := range pending {
		if m.Contract {
			return hinted{fmt.Errorf("refusing to use the database: %w; %s contracts the schema and is never applied automatically", behind, m.Name),
				"once no server of an older release runs on this database, run " + upCommand(c)}
		}
	}
	done, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if s.Current() > 0 && len(done) > 0 {
		names := make([]string, len(done))
		for i, m := range done {
			names[i] = m.Name
		}
		slog.Info("migrated the database", "from_version", s.Current(), "applied", strings.Join(names, ","))
	}
	_, err = db.CheckSchema(ctx)
	return err
}

// upCommand is the trove migrate up command for this process's database:
// the configuration file and data directory it was given.
func upCommand(c *config.Config) string {
	args := []string{"trove", "migrate", "up"}
	if f := configFile(); f != "" {
		args = append(args, "--config", shellWord(f))
	}
	cmd := strings.Join(append(args, "--data", shellWord(c.DataDir)), " ")
	if env := settingsFromEnv(); len(env) > 0 {
		cmd += " with this environment's " + strings.Join(env, ", ")
	}
	return cmd
}

// settingsFromEnv names the TROVE_* variables that configure this
// process beyond --config and --data (names only: values may be secret).
func settingsFromEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TROVE_") && v != "" && k != "TROVE_CONFIG" && k != "TROVE_DATA_DIR" && k != "TROVE_DATABASE_AUTO_MIGRATE" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// configFile returns the --config this process was given (or
// $TROVE_CONFIG), read again from its arguments: opening the database
// is far from the flags.
func configFile() string {
	fs := pflag.NewFlagSet("trove", pflag.ContinueOnError)
	fs.ParseErrorsWhitelist.UnknownFlags = true
	fs.SetOutput(io.Discard)
	path := fs.String("config", os.Getenv("TROVE_CONFIG"), "")
	fs.Parse(os.Args[1:])
	return *path
}

// shellWord quotes s if a shell would split or expand it.
func shellWord(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// describeDB names the configured database without any secret.
func describeDB(c *config.Config) string {
	if c.Database.Driver == "sqlite" {
		return "sqlite " + c.Database.Path
	}
	conn, err := c.Database.ConnString()
	if err != nil {
		return "postgres"
	}
	where, err := meta.DescribePostgres(conn)
	if err != nil {
		return "postgres"
	}
	return "postgres " + where
}
