package main

import "errors"

func loadMain(args []string) error { return errors.New("load: not written yet") }
