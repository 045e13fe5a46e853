package events_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"site/app/events"
	"site/internal/testkit"
)

// TestPayloadsRoundTrip: each payload is the JSON its subscribers read
// (field names fixed, as browsers and older processes see them) and
// decodes back to itself.
func TestPayloadsRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		event   events.Event
		subject string
		json    string
	}{
		{events.Views{Views: 3, Visitors: 2, Bots: 1, At: at}, "events.metrics.views",
			`{"views":3,"visitors":2,"bots":1,"at":"2026-12-01T10:00:00Z"}`},
		{events.Views{Views: 3, Visitors: 1, At: at, Paths: map[string]int{"/": 2, "/posts/hello": 1},
			Countries: map[string]int{"DE": 2, "": 1}, Mark: 41}, "events.metrics.views",
			`{"views":3,"visitors":1,"bots":0,"at":"2026-12-01T10:00:00Z","paths":{"/":2,"/posts/hello":1},"countries":{"":1,"DE":2},"mark":41}`},
		{events.Alert{Source: "backup", Level: "error", Message: "daily: no answer", At: at}, "events.alerts.errors",
			`{"source":"backup","level":"error","message":"daily: no answer","at":"2026-12-01T10:00:00Z"}`},
		{events.Alert{Source: "cron", Level: "warning", Message: "wal", At: at}, "events.alerts.warnings",
			`{"source":"cron","level":"warning","message":"wal","at":"2026-12-01T10:00:00Z"}`},
		{events.Comment{ID: "c1", Post: "hello-world", Author: "Ann", Body: "Nice.", Held: true, At: at}, "events.comments.hello-world",
			`{"id":"c1","post":"hello-world","author":"Ann","body":"Nice.","held":true,"at":"2026-12-01T10:00:00Z"}`},
		{events.ImageReady{Key: "posts/a.png", Width: 640, Height: 480, Variants: []string{"variants/posts/a/320.jpg"}, Thumb: "variants/posts/a/thumb.jpg", Placeholder: "data:image/jpeg;base64,AA"}, "events.images.ready",
			`{"key":"posts/a.png","width":640,"height":480,"variants":["variants/posts/a/320.jpg"],"thumb":"variants/posts/a/thumb.jpg","placeholder":"data:image/jpeg;base64,AA"}`},
	} {
		subject, err := c.event.Subject()
		if err != nil || subject != c.subject {
			t.Errorf("%T.Subject() = %q, %v; want %q", c.event, subject, err, c.subject)
		}
		data, err := json.Marshal(c.event)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != c.json {
			t.Errorf("%T as JSON:\n got %s\nwant %s", c.event, data, c.json)
		}
		back := reflect.New(reflect.TypeOf(c.event))
		if err := json.Unmarshal(data, back.Interface()); err != nil {
			t.Fatal(err)
		}
		if got := back.Elem().Interface(); !reflect.DeepEqual(got, c.event) {
			t.Errorf("%T round trip: got %+v, want %+v", c.event, got, c.event)
		}
	}
}

// TestTop: a batch's counts are cut to the largest, ties to the smaller
// key; a map small enough is kept whole.
func TestTop(t *testing.T) {
	counts := map[string]int{"/a": 1, "/b": 5, "/c": 3, "/d": 3, "/e": 2}
	if got, want := events.Top(counts, 3), map[string]int{"/b": 5, "/c": 3, "/d": 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("Top 3 = %v, want %v", got, want)
	}
	if got, want := events.Top(counts, 2), map[string]int{"/b": 5, "/c": 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("Top 2 = %v, want %v", got, want)
	}
	if got := events.Top(counts, 5); !reflect.DeepEqual(got, counts) {
		t.Errorf("Top 5 = %v, want all", got)
	}
}

// TestCommentSubject: a post's slug is one token of the subject; one that
// would name another subject or a wildcard, or that NATS refuses, is refused.
func TestCommentSubject(t *testing.T) {
	if s, err := events.CommentSubject("hello-world_2"); err != nil || s != "events.comments.hello-world_2" {
		t.Errorf("CommentSubject(hello-world_2) = %q, %v", s, err)
	}
	for _, post := range []string{"", "a.b", "*", "a*", ">", "a>", "a b", "a\tb", "a\nb", "a\x00b", "a\x7fb"} {
		if s, err := events.CommentSubject(post); !errors.Is(err, events.ErrSubject) {
			t.Errorf("CommentSubject(%q) = %q, %v; want ErrSubject", post, s, err)
		}
		if err := events.Publish(nil, events.Comment{Post: post}); !errors.Is(err, events.ErrSubject) {
			t.Errorf("Publish of a comment on %q: %v; want ErrSubject", post, err)
		}
	}
}

// TestPublish: a subscriber to a family's wildcard gets the payload on its
// subject, through a real NATS server.
func TestPublish(t *testing.T) {
	nc, _ := testkit.NATS(t).Connect(t)
	sub, err := nc.SubscribeSync(events.AllAlerts)
	if err != nil {
		t.Fatal(err)
	}
	sent := events.Alert{Source: "worker", Level: "error", Message: "boom", At: time.Now().UTC().Truncate(time.Second)}
	if err := events.Publish(nc, sent); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got events.Alert
	if err := json.Unmarshal(msg.Data, &got); err != nil || msg.Subject != events.SubjectAlertErrors || got != sent {
		t.Errorf("got %s %s (%v); want %+v on %s", msg.Subject, msg.Data, err, sent, events.SubjectAlertErrors)
	}
}
