package natsd_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"site/embedded/natsd"
	"site/internal/testkit"
)

// TestDiskFullThenBack: with the store's filesystem full, a publish to a
// file stream fails; once space is back, JetStream is reloaded and
// publishes succeed again, with every message stored before still there
// (without the reload the stream kept refusing writes until a restart).
func TestDiskFullThenBack(t *testing.T) {
	disk := testkit.SmallDisk(t, 48<<20)
	srv := natsd.NewServer()
	srv.StoreDir, srv.Listen, srv.ResumeFree = filepath.Join(disk, "nats"), "", 1<<20
	srv.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "Q", Subjects: []string{"q.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	publish := func(i int) error {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := js.Publish(pctx, "q.x", fmt.Appendf(nil, "message %d %0512d", i, 0))
		return err
	}
	for i := range 10 {
		if err := publish(i); err != nil {
			t.Fatal(err)
		}
	}
	free := testkit.FillDisk(t, disk)
	failed := false
	for i := 10; i < 2000 && !failed; i++ { // the block in hand fills, then a write fails
		failed = publish(i) != nil
	}
	if !failed {
		t.Fatal("publishes kept succeeding on a full disk")
	}
	free()
	testkit.WaitFor(t, 30*time.Second, "publishes to succeed again after space is back", func() bool {
		return publish(-1) == nil
	})
	s, err := js.Stream(ctx, "Q")
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 10; seq++ {
		if _, err := s.GetMsg(ctx, seq); err != nil {
			t.Errorf("message %d, stored before the disk filled: %v", seq, err)
		}
	}
}
