package transfer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/trove-dev/trove/internal/meta"
)

// copyTables loads every table of the snapshot into the target, in one
// transaction: the target gets all rows or none.
func copyTables(ctx context.Context, s *meta.Snapshot, o Options, rep *Report) error {
	if o.DryRun {
		for _, table := range meta.DumpTables() {
			n, err := s.CountRows(ctx, table)
			if err != nil {
				return err
			}
			rep.Tables = append(rep.Tables, TableCount{table, n})
			o.progress("table %s: %d rows to copy", table, n)
		}
		return nil
	}
	return o.To.DB.Tx(ctx, func(tx *meta.Tx) error {
		for _, table := range meta.DumpTables() {
			n, err := copyTable(ctx, s, tx, table)
			if err != nil {
				return err
			}
			rep.Tables = append(rep.Tables, TableCount{table, n})
			o.progress("table %s: %d rows copied", table, n)
		}
		return nil
	})
}

// copyTable streams one table's dump from the snapshot into the load.
func copyTable(ctx context.Context, s *meta.Snapshot, tx *meta.Tx, table string) (int64, error) {
	pr, pw := io.Pipe()
	dumped := make(chan error, 1)
	var rows int64
	go func() {
		n, err := s.DumpTable(ctx, table, pw)
		rows = n
		pw.CloseWithError(err)
		dumped <- err
	}()
	n, err := tx.LoadTable(ctx, table, pr)
	pr.CloseWithError(fmt.Errorf("the load of %s stopped", table)) // unblocks the dump
	derr := <-dumped
	switch {
	case derr != nil:
		return n, fmt.Errorf("reading the source's %s: %w", table, derr)
	case err != nil:
		return n, err
	case n != rows:
		return n, fmt.Errorf("table %s: %d rows dumped, %d loaded", table, rows, n)
	}
	return n, nil
}

// A TableCheck is what Verify found of one table on both sides.
type TableCheck struct {
	Table          string
	Rows           int64  // in the source
	TargetRows     int64  //
	SHA256         string // of the source's dump
	TargetSHA256   string
	FirstDifferent int64 // the first row (from 1) that differs; 0 if none
}

// compareTable dumps the table on both sides at once and compares the
// dumps row by row.
func compareTable(ctx context.Context, src, dst *meta.Snapshot, table string) (TableCheck, error) {
	c := TableCheck{Table: table}
	a, b := dumpReader(ctx, src, table), dumpReader(ctx, dst, table)
	defer a.Close()
	defer b.Close()
	ha, hb := sha256.New(), sha256.New()
	sa, sb := lines(io.TeeReader(a, ha)), lines(io.TeeReader(b, hb))
	for row := int64(0); ; row++ {
		okA, okB := sa.Scan(), sb.Scan()
		if okA && row > 0 {
			c.Rows++
		}
		if okB && row > 0 {
			c.TargetRows++
		}
		if c.FirstDifferent == 0 && (okA != okB || okA && !bytes.Equal(sa.Bytes(), sb.Bytes())) {
			c.FirstDifferent = max(row, 1) // row 0 is the header: the columns differ
		}
		if !okA && !okB {
			break
		}
	}
	if err := sa.Err(); err != nil {
		return c, fmt.Errorf("reading the source's %s: %w", table, err)
	}
	if err := sb.Err(); err != nil {
		return c, fmt.Errorf("reading the target's %s: %w", table, err)
	}
	c.SHA256, c.TargetSHA256 = hex.EncodeToString(ha.Sum(nil)), hex.EncodeToString(hb.Sum(nil))
	return c, nil
}

func lines(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), meta.MaxDumpRowBytes)
	return sc
}

// dumpReader returns the table's dump, written by a goroutine; Close
// stops it and waits for it, so the snapshot outlives it.
func dumpReader(ctx context.Context, s *meta.Snapshot, table string) io.ReadCloser {
	pr, pw := io.Pipe()
	d := &dump{PipeReader: pr, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		_, err := s.DumpTable(ctx, table, pw)
		pw.CloseWithError(err)
	}()
	return d
}

type dump struct {
	*io.PipeReader
	done chan struct{}
}

func (d *dump) Close() error {
	d.PipeReader.Close()
	<-d.done
	return nil
}
