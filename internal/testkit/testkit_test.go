package testkit_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/embedded/natsd"
	"site/internal/testkit"
)

// A message stored through the in-process JetStream is read back by a
// client dialing the TCP URL with the token.
func TestNATS(t *testing.T) {
	b := testkit.NATS(t)
	if _, err := b.JetStream.CreateStream(t.Context(), jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.JetStream.Publish(t.Context(), "t.one", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(b.URL(), nats.Token(testkit.NATSToken))
	if err != nil {
		t.Fatalf("dial %s: %v", b.URL(), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(t.Context(), "T")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := st.GetLastMsgForSubject(t.Context(), "t.one")
	if err != nil || string(msg.Data) != "hello" {
		t.Fatalf("over TCP: %v, %v", msg, err)
	}
}

// A configure func applies before Open: the same store dir reopens with the
// stream still there, and no TCP port when Listen is "".
func TestNATSConfigure(t *testing.T) {
	dir := t.TempDir()
	inDir := func(s *natsd.Server) { s.StoreDir, s.Listen = dir, "" }
	first := testkit.NATS(t, inDir)
	if first.URL() != "" {
		t.Fatalf("URL %q with no listener", first.URL())
	}
	if _, err := first.JetStream.CreateStream(t.Context(), jetstream.StreamConfig{Name: "KEEP", Subjects: []string{"keep"}}); err != nil {
		t.Fatal(err)
	}
	if err := first.Server.Close(); err != nil {
		t.Fatal(err)
	}
	second := testkit.NATS(t, inDir)
	if _, err := second.JetStream.Stream(t.Context(), "KEEP"); err != nil {
		t.Fatalf("stream after reopening the store dir: %v", err)
	}
}

// The stores are migrated, and two opens of one dir share the file.
func TestStores(t *testing.T) {
	data, ttl := testkit.DataDB(t), testkit.TTLDB(t)
	for table, db := range map[string]*sql.DB{"processed_jobs": data.Read, "sessions": ttl.Read} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
	}
	dir := t.TempDir()
	a, b := testkit.DataDBIn(t, dir), testkit.DataDBIn(t, dir)
	if _, err := a.Write.Exec(`INSERT INTO processed_jobs (id, kind, done_at) VALUES ('x', 'k', 1)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.Read.QueryRow(`SELECT count(*) FROM processed_jobs`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("second open sees %d rows, %v", n, err)
	}
	if testkit.TTLDBIn(t, dir).Path == a.Path {
		t.Fatal("ttl.db and data.db are one file")
	}
}

// WaitFor returns once the condition holds, and fails naming what it waited
// for when it never does.
func TestWaitFor(t *testing.T) {
	calls := 0
	testkit.WaitFor(t, time.Minute, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Fatalf("%d calls", calls)
	}
	var tb fakeTB
	testkit.WaitFor(&tb, 20*time.Millisecond, "nothing", func() bool { return false })
	if !strings.Contains(tb.failed, "timed out after 20ms waiting for nothing") {
		t.Fatalf("failure %q", tb.failed)
	}
}

// fakeTB records a Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }
