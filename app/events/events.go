// Package events names the subjects of the site's live events and the
// payload each carries, so that the roles that publish them (the worker
// today; web and cron may too) and those that subscribe (the live hub of
// the web role, app/live, which streams them to browsers) agree on both.
// Events go over core NATS, fire and forget; the EVENTS stream (app/jobs)
// keeps them a short while, for browsers that reconnect.
package events

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Subjects, and the wildcards that take a whole family.
const (
	// SubjectViews is where the worker reports each batch of page views
	// it stored (a Views payload).
	SubjectViews = "events.metrics.views"
	// AllMetrics takes every events.metrics subject.
	AllMetrics = "events.metrics.>"
	// SubjectAlertErrors is where the worker reports each new alert of
	// level "error" (an Alert payload).
	SubjectAlertErrors = "events.alerts.errors"
	// SubjectAlertWarnings is where the worker reports each new alert of
	// any other level (an Alert payload).
	SubjectAlertWarnings = "events.alerts.warnings"
	// AllAlerts takes every events.alerts subject.
	AllAlerts = "events.alerts.>"
	// AllComments takes every events.comments subject: all posts'
	// comments at once. CommentSubject names one post's.
	AllComments = "events.comments.>"
	// SubjectImageReady is where the worker reports an image whose
	// variants are made and recorded (an ImageReady payload).
	SubjectImageReady = "events.images.ready"
)

// commentPrefix starts the subject of one post's comments.
const commentPrefix = "events.comments."

// ErrSubject is returned for a post slug that cannot be one token of a
// subject.
var ErrSubject = errors.New("events: not a subject token")

// CommentSubject is events.comments.<post>, where one post's comments are
// published. It refuses a slug that would not be exactly one token: empty,
// or holding '.', '*', '>' or white space (which would name another
// subject, a wildcard, or nothing NATS accepts).
func CommentSubject(post string) (string, error) {
	if post == "" || strings.ContainsAny(post, ".*>") || strings.IndexFunc(post, isSpace) >= 0 {
		return "", fmt.Errorf("%w: post %q", ErrSubject, post)
	}
	return commentPrefix + post, nil
}

// isSpace reports the runes NATS does not allow in a subject: space, tab,
// line breaks and any other control character.
func isSpace(r rune) bool { return r <= ' ' || r == 0x7f }

// Event is a payload that knows the subject it is published on.
type Event interface {
	// Subject is where the event is published.
	Subject() (string, error)
}

// Views is the payload of events.metrics.views: what one committed
// batch of page views added.
type Views struct {
	// Views is the number of page views stored.
	Views int `json:"views"`
	// Visitors is how many of them were a visitor's first view of the day.
	Visitors int `json:"visitors"`
	// Bots is the number of views counted as bots, not page views.
	Bots int `json:"bots"`
	// At is when the batch committed.
	At time.Time `json:"at"`
	// Paths counts the batch's page views by path: the TopPaths most
	// viewed when it had more.
	Paths map[string]int `json:"paths,omitempty"`
	// Countries counts the batch's page views by country code ("" for
	// an unknown country).
	Countries map[string]int `json:"countries,omitempty"`
	// Mark is the largest id of data.db's page-view log
	// (page_view_batches) once the batch committed: whoever read the
	// rollups in one transaction with max(id) = M has counted exactly the
	// batches whose Mark is at most M, and must add the others.
	Mark int64 `json:"mark,omitempty"`
}

// TopPaths is the most paths a Views event names.
const TopPaths = 50

// Top is counts cut to its n largest entries (ties go to the smaller key),
// counts itself when it has no more than n.
func Top(counts map[string]int, n int) map[string]int {
	if len(counts) <= n {
		return counts
	}
	keys := slices.Collect(maps.Keys(counts))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	out := make(map[string]int, n)
	for _, k := range keys[:n] {
		out[k] = counts[k]
	}
	return out
}

// Subject is SubjectViews.
func (Views) Subject() (string, error) { return SubjectViews, nil }

// Alert is the payload of events.alerts.errors and events.alerts.warnings:
// an alert the worker recorded for the first time in its group.
type Alert struct {
	// Source names the part that failed, e.g. "backup", "worker", "web".
	Source string `json:"source"`
	// Level is "error" or "warning".
	Level string `json:"level"`
	// Message says what happened.
	Message string `json:"message"`
	// At is when it happened.
	At time.Time `json:"at"`
}

// Subject is SubjectAlertErrors for level "error", SubjectAlertWarnings
// otherwise.
func (a Alert) Subject() (string, error) {
	if a.Level == "error" {
		return SubjectAlertErrors, nil
	}
	return SubjectAlertWarnings, nil
}

// Comment is the payload of events.comments.<post>: a comment stored on a
// post, or approved (app/comments publishes it). Every reader of the post
// gets it: a held one carries no Author and no Body.
type Comment struct {
	// ID identifies the comment.
	ID string `json:"id"`
	// Post is the slug of the post it belongs to.
	Post string `json:"post"`
	// Parent is the ID of the comment a reply answers, "" for a top-level
	// comment.
	Parent string `json:"parent,omitempty"`
	// Author is the name shown with it.
	Author string `json:"author"`
	// Body is its text as readers see it: HTML, sanitized (safe to insert).
	Body string `json:"body"`
	// Held is true while it waits for the admin's approval.
	Held bool `json:"held"`
	// At is when it was written.
	At time.Time `json:"at"`
}

// Subject is CommentSubject of the post.
func (c Comment) Subject() (string, error) { return CommentSubject(c.Post) }

// ImageReady is the payload of events.images.ready: an image whose
// variants are stored and recorded in data.db.
type ImageReady struct {
	// Key is the image's key.
	Key string `json:"key"`
	// Width and Height are the image's size in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Variants are the keys of the responsive widths made.
	Variants []string `json:"variants"`
	// Thumb is the key of the square thumbnail.
	Thumb string `json:"thumb"`
	// Placeholder is a tiny blurred image as a data URI.
	Placeholder string `json:"placeholder"`
}

// Subject is SubjectImageReady.
func (ImageReady) Subject() (string, error) { return SubjectImageReady, nil }

// Publish sends e as JSON on its subject through nc, without waiting for
// anyone: an event no one hears is gone (the EVENTS stream keeps a copy).
func Publish(nc *nats.Conn, e Event) error {
	subject, err := e.Subject()
	if err != nil {
		return err
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("events: encode %s: %w", subject, err)
	}
	return nc.Publish(subject, data)
}
