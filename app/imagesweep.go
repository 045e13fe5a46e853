package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/config"
	"site/app/jobs"
	"site/app/media"
)

// imageSweepEvery is how often the worker looks for images without
// variants: images written by `site import` or by another process that
// could not reach NATS.
const imageSweepEvery = time.Minute

// imageSweeper publishes a jobs.image for every image that has no variants
// yet. Each image is tried once per worker process: one whose job failed for
// good (it sits in the dead letters) is not retried until the next start.
// With s3 set it first moves the originals and variants earlier releases
// put in the public bucket to the private one (media.MoveToPrivate), so
// none stays readable anonymously.
type imageSweeper struct {
	db     *sql.DB
	js     jetstream.JetStream
	s3     *minio.Client
	logger *slog.Logger
	tried  map[string]bool
}

// run sweeps at once and then every imageSweepEvery until ctx ends.
func (s *imageSweeper) run(ctx context.Context) {
	s.tried = map[string]bool{}
	for {
		if n, err := s.sweep(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("image sweep", "err", err)
		} else if n > 0 {
			s.logger.Info("images without variants queued", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(imageSweepEvery):
		}
	}
}

// sweep moves image objects out of the public bucket, then queues the
// images without variants not tried yet and reports how many it queued.
func (s *imageSweeper) sweep(ctx context.Context) (int, error) {
	if s.s3 != nil {
		moved, err := media.MoveToPrivate(ctx, s.s3, s.db, config.BucketPublic, config.BucketPrivate)
		if moved > 0 {
			s.logger.Info("image objects moved from the public bucket to the private one", "count", moved)
		}
		if err != nil && ctx.Err() == nil { // the next sweep tries again; queue the variants meanwhile
			s.logger.Warn("image sweep: move images out of the public bucket", "err", err)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT key, original_key FROM images
		WHERE original_key != '' AND NOT EXISTS (SELECT 1 FROM image_variants v WHERE v.image_key = images.key)
		ORDER BY created_at LIMIT 1000`)
	if err != nil {
		return 0, fmt.Errorf("list images without variants: %w", err)
	}
	type pending struct{ key, original string }
	var todo []pending
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.key, &p.original); err != nil {
			rows.Close()
			return 0, fmt.Errorf("list images without variants: %w", err)
		}
		if !s.tried[p.key] {
			todo = append(todo, p)
		}
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range todo {
		j, err := jobs.NewImageJob(jobs.ImageJob{Key: p.key, Bucket: config.BucketPrivate, Original: p.original})
		if err != nil {
			return n, err
		}
		msg := &nats.Msg{Subject: j.Subject, Data: j.Data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, j.ID)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = s.js.PublishMsg(pctx, msg)
		cancel()
		if err != nil {
			return n, fmt.Errorf("queue image %s: %w", p.key, err)
		}
		s.tried[p.key] = true
		n++
	}
	return n, nil
}
