//go:build !unix

package main

// openFileLimit returns the process's limit of open files, if it has one.
func openFileLimit() (uint64, bool) { return 0, false }
