package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logFlushInterval bounds how long a log line may wait in the buffer.
const logFlushInterval = 100 * time.Millisecond

// A logWriter buffers log output and flushes it at least every
// logFlushInterval, so that one log line per request does not cost one
// write system call per request on the read path.
type logWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newLogWriter(w io.Writer) *logWriter {
	lw := &logWriter{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go lw.loop()
	return lw
}

func (lw *logWriter) loop() {
	defer close(lw.done)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			lw.Flush()
		case <-lw.stop:
			lw.Flush()
			return
		}
	}
}

// Write buffers p; it is called with one complete log record at a time.
func (lw *logWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

// Flush writes out what is buffered.
func (lw *logWriter) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Flush()
}

// Close flushes and stops the flusher.
func (lw *logWriter) Close() error {
	close(lw.stop)
	<-lw.done
	return nil
}
