// Package testkit starts the real infrastructure that tests run against: an
// embedded NATS server with JetStream, SQLite stores opened as the
// application opens them, a headless Chromium, and a poll that waits for a
// condition. Only tests import it; everything it starts lives in the test's
// temp dirs and stops at cleanup.
package testkit

import (
	"testing"
	"time"
)

// WaitFor polls cond until it returns true, and fails tb (Fatalf, naming
// what and timeout) if it still has not after timeout. The timeout only
// bounds a hang, it does not measure speed: make it generous. Call WaitFor
// from the test's goroutine; cond may itself fail tb.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
			return
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
