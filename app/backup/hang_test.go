package backup_test

import (
	"context"
	"net"
	"testing"
	"time"

	"site/app/backup"
)

// TestOffsiteThatHangsFails: an offsite store that accepts connections and
// never answers fails the request (and so the run, which the cron role
// retries and alerts on) instead of holding it forever.
func TestOffsiteThatHangsFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	o := &backup.Offsite{Bucket: "offsite", Target: backup.Endpoint{URL: "http://" + ln.Addr().String(),
		AccessKey: "k", SecretKey: "s", ResponseTimeout: 200 * time.Millisecond}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := o.Open(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = o.Check(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("mirror to a store that never answers: err %v, ctx %v; want a timeout error before the test's deadline", err, ctx.Err())
	}
	t.Logf("failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
}
