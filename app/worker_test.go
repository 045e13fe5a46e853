package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/analytics"
	"site/app/events"
	"site/app/jobs"
	"site/app/media"
	"site/internal/testkit"
)

// MustWorkerSetup starts objects+nats in one process and a worker in
// another on dir; it returns a JetStream client, the worker's arguments and
// the worker.
func MustWorkerSetup(t *testing.T, dir string) (*nats.Conn, jetstream.JetStream, []string, *Proc, string) {
	t.Helper()
	infra := StartProc(t, nil, "serve", "--roles=objects,nats", "--data-dir", dir, "--nats.listen", "127.0.0.1:0",
		"--objects.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0")
	endpoint, natsURL := infra.Addrs["objects"], infra.Addrs["nats"]
	args := []string{"serve", "--roles=worker", "--ops.listen", "127.0.0.1:0", "--data-dir", dir,
		"--objects.endpoint", endpoint, "--nats.url", natsURL}
	worker := StartProc(t, nil, args...)
	body, err := os.ReadFile(filepath.Join(dir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Token string `json:"nats_token"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsURL, nats.Token(s.Token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, args, worker, endpoint
}

func publishJob(t *testing.T, js jetstream.JetStream, j jobs.Job) {
	t.Helper()
	msg := &nats.Msg{Subject: j.Subject, Data: j.Data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, j.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("publish %s: %v", j.ID, err)
	}
}

// TestWorkerExactlyOnceUnderFaults publishes page-view jobs, some twice,
// kills the worker with SIGKILL in the middle of its batches, restarts it,
// and finds exactly one row per job.
func TestWorkerExactlyOnceUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("worker faults: skipped in -short")
	}
	dir := t.TempDir()
	_, js, args, worker, _ := MustWorkerSetup(t, dir)
	db := openDB(t, filepath.Join(dir, "data.db"))
	// 4,000 views in batches as the web role sends them (NewBatchJob); the
	// jobs alternate between one view and 1 to 37 views.
	const n = 4000
	ua := "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	view := func(i int) analytics.PageView {
		return analytics.PageView{Path: fmt.Sprintf("/p/%d", i%50), UserAgent: ua,
			IP: fmt.Sprintf("198.51.100.%d", i%200), At: time.Now().UTC()}
	}
	var all []jobs.Job
	for i := 0; i < n; {
		size := 1
		if len(all)%2 == 1 {
			size = min(1+len(all)%37, n-i)
		}
		batch := make([]analytics.PageView, size)
		for k := range batch {
			batch[k] = view(i + k)
		}
		all = append(all, analytics.NewBatchJob(batch))
		i += size
	}
	dups := 0
	send := func(from, to int) {
		for i := from; i < to; i++ {
			publishJob(t, js, all[i])
			if i%7 == 0 { // a retried publish of the same job
				publishJob(t, js, all[i])
				dups++
			}
		}
	}
	half := len(all) / 2
	send(0, half)
	testkit.WaitFor(t, 30*time.Second, "the worker to be part-way", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views") >= n/8
	})
	worker.Kill()
	killedAt := count(t, db, "SELECT count(*) FROM page_views")
	send(half, len(all))
	StartProc(t, nil, args...)
	testkit.WaitFor(t, 60*time.Second, "every page view after the restart", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views") >= n
	})
	time.Sleep(jobs.AckWait + 2*time.Second) // redeliveries of jobs done before the kill land by now
	for q, want := range map[string]int{
		"SELECT count(*) FROM page_views":                             n,
		"SELECT count(DISTINCT job_id) FROM page_views":               n,
		"SELECT count(*) FROM processed_jobs WHERE kind = 'pageview'": len(all),
		"SELECT coalesce(sum(views), 0) FROM views_hourly":            n,
		"SELECT coalesce(sum(views), 0) FROM views_daily":             n,
		"SELECT count(*) FROM page_views WHERE visitor = ''":          0,
		"SELECT count(*) FROM page_views WHERE country <> 'unknown'":  0,
	} {
		if got := count(t, db, q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	t.Logf("%d views in %d jobs (+%d duplicate publishes); worker killed at %d rows; exactly %d after restart", n, len(all), dups, killedAt, n)
}

// TestWorkerImage sends an original through jobs.image: the variants land
// in the private bucket (not readable anonymously: /media/ serves them once
// a visible entry shows the image) and in data.db, and an
// events.images.ready event follows; a text file is refused to the dead
// letters.
func TestWorkerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("worker image: skipped in -short")
	}
	dir := t.TempDir()
	nc, js, _, _, endpoint := MustWorkerSetup(t, dir)
	s3 := clientFromSecrets(t, dir, endpoint)
	ready := make(chan *nats.Msg, 4)
	if _, err := nc.ChanSubscribe(events.SubjectImageReady, ready); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 1000, 700))
	for y := range 700 {
		for x := range 1000 {
			img.SetRGBA(x, y, color.RGBA{uint8(x / 4), uint8(y / 3), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put := func(key string, data []byte) {
		if _, err := s3.PutObject(ctx, "private", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put("uploads/photo.jpg", buf.Bytes())
	put("uploads/fake.jpg", []byte("this is text, not a photo\n"))
	for _, p := range []jobs.ImageJob{
		{Key: "posts/hello/photo.jpg", Bucket: "private", Original: "uploads/photo.jpg", Alt: "a gradient"},
		{Key: "posts/hello/fake.jpg", Bucket: "private", Original: "uploads/fake.jpg"},
	} {
		j, err := jobs.NewImageJob(p)
		if err != nil {
			t.Fatal(err)
		}
		publishJob(t, js, j)
	}
	db := openDB(t, filepath.Join(dir, "data.db"))
	testkit.WaitFor(t, 30*time.Second, "the variants", func() bool {
		return count(t, db, "SELECT count(*) FROM image_variants WHERE image_key = 'posts/hello/photo.jpg'") == 3
	})
	select {
	case m := <-ready:
		var r events.ImageReady
		if err := json.Unmarshal(m.Data, &r); err != nil || r.Key != "posts/hello/photo.jpg" || len(r.Variants) != 3 {
			t.Errorf("ready event %s", m.Data)
		}
	case <-time.After(10 * time.Second):
		t.Error("no events.images.ready")
	}
	if got := count(t, db, "SELECT count(*) FROM images WHERE key = 'posts/hello/photo.jpg' AND width = 1000 AND height = 700 AND placeholder LIKE 'data:image/jpeg;base64,%'"); got != 1 {
		t.Error("images row without size or placeholder")
	}
	resp, err := http.Get(endpoint + "/public/" + media.VariantKey("posts/hello/photo.jpg", "960"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Error("the 960 variant is readable anonymously from the public bucket")
	}
	v, err := s3.GetObject(ctx, "private", media.VariantKey("posts/hello/photo.jpg", "960"), minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := v.Stat()
	v.Close()
	if err != nil || st.ContentType != "image/jpeg" {
		t.Errorf("the 960 variant in the private bucket: %v %s", err, st.ContentType)
	}
	// The text file is dead at once, with the reason.
	dead, err := js.Stream(ctx, jobs.StreamDead)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 20*time.Second, "the refused file in the dead letters", func() bool {
		m, err := dead.GetLastMsgForSubject(ctx, jobs.DeadPrefix+jobs.SubjectImage)
		return err == nil && bytes.Contains([]byte(m.Header.Get("Site-Error")), []byte("not a JPEG"))
	})
	if got := count(t, db, "SELECT count(*) FROM image_variants WHERE image_key = 'posts/hello/fake.jpg'"); got != 0 {
		t.Errorf("%d variants of a text file", got)
	}
}
