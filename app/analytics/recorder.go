package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"site/app/jobs"
)

// Summary tells what one committed batch added (Recorder.OnCommit).
type Summary struct {
	// Views is the number of page views stored.
	Views int `json:"views"`
	// Visitors is how many of them were a visitor's first view of the day.
	Visitors int `json:"visitors"`
	// Bots is the number of views that went to the bot ledger.
	Bots int `json:"bots"`
	// At is when the batch committed.
	At time.Time `json:"at"`
	// Paths and Countries count the stored page views by path and by
	// country code.
	Paths     map[string]int `json:"paths"`
	Countries map[string]int `json:"countries"`
	// Mark is the largest id in page_view_batches once the batch
	// committed (events.Views.Mark).
	Mark int64 `json:"mark"`
}

// Recorder stores page views in data.db: many per transaction, each job's
// id recorded with its effect, so a redelivered job changes nothing. A job
// carries a batch of page views (NewBatchJob).
type Recorder struct {
	// DB is the writer connection of data.db.
	DB *sql.DB
	// Geo places addresses; nil gives UnknownCountry.
	Geo *Geo
	// Site is mixed into the visitor hash (the site's name or URL).
	Site string
	// RespectDNT drops views whose reader sent DNT: 1 or Sec-GPC: 1.
	RespectDNT bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// MaxViews is the most page views stored in one transaction (500 when
	// zero); a job's views are never split across transactions.
	MaxViews int
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time
	// OnCommit, when set, is called after each batch that stored anything.
	OnCommit func(Summary)
	// Logger receives notes about odd payloads.
	Logger *slog.Logger

	salts    salts
	visitors visitorCache
	agents   agentCache
	stmts    statements
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Handle is the jobs.Handler of jobs.pageview: a batch of one.
func (r *Recorder) Handle(ctx context.Context, j jobs.Job) error {
	err := r.HandleBatch(ctx, []jobs.Job{j})
	if failed, ok := err.(jobs.JobErrors); ok {
		return failed[j.ID]
	}
	return err
}

// decodedJob is a job with its page views decoded.
type decodedJob struct {
	job   jobs.Job
	views []PageView
}

// decode reads a job's pv1 payload. A payload that will never decode
// yields no views: the job is then done with no effect rather than retried
// into the dead letters.
func (r *Recorder) decode(j jobs.Job) decodedJob {
	views, err := decodeBatch(j.Data)
	if err != nil && r.Logger != nil {
		r.Logger.Warn("page view batch out of format; skipped", "id", j.ID)
	}
	return decodedJob{job: j, views: views}
}

// HandleBatch is the jobs.BatchHandler of jobs.pageview: it stores every
// job of the batch not stored before, and the rollups they add to, in
// transactions of up to MaxViews views. A job in a batch format newer than
// pv1 is left alone and named in a jobs.JobErrors, so that it goes to the
// dead letters, to be retried once the worker is upgraded.
func (r *Recorder) HandleBatch(ctx context.Context, batch []jobs.Job) error {
	limit := r.MaxViews
	if limit <= 0 {
		limit = 500
	}
	decoded := make([]decodedJob, 0, len(batch))
	var later jobs.JobErrors
	for _, j := range batch {
		if format, ok := laterFormat(j.Data); ok {
			if later == nil {
				later = jobs.JobErrors{}
			}
			later[j.ID] = jobs.Permanent(fmt.Errorf("page view batch in format %q, newer than this worker reads: upgrade the worker, then retry the dead letter", format))
			continue
		}
		decoded = append(decoded, r.decode(j))
	}
	for len(decoded) > 0 {
		n, views := 1, len(decoded[0].views)
		for n < len(decoded) && views+len(decoded[n].views) <= limit {
			views += len(decoded[n].views)
			n++
		}
		if err := r.commit(ctx, decoded[:n]); err != nil {
			return err
		}
		decoded = decoded[n:]
	}
	if later != nil {
		return later
	}
	return nil
}

// commit stores group in one transaction.
func (r *Recorder) commit(ctx context.Context, group []decodedJob) error {
	now := r.now()
	// Prepared before the transaction takes the writer's one connection.
	if err := r.stmts.prepare(ctx, r.DB); err != nil {
		return fmt.Errorf("record page views: %w", err)
	}
	tx, err := r.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record page views: %w", err)
	}
	defer tx.Rollback()
	st := &txState{salts: map[string][]byte{}, visitors: map[string]struct{}{}}
	sum, err := r.record(ctx, tx, st, group, now)
	if err != nil {
		return fmt.Errorf("record page views: %w", err)
	}
	if r.OnCommit != nil {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM page_view_batches`).Scan(&sum.Mark); err != nil {
			return fmt.Errorf("record page views: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record page views: %w", err)
	}
	// Only what is committed may be remembered.
	r.salts.keep(st.salts)
	r.visitors.keep(st.visitors, dayOf(now.Add(-SaltLifetime)))
	if r.OnCommit != nil && (sum.Views > 0 || sum.Bots > 0) {
		sum.At = now
		r.OnCommit(sum)
	}
	return nil
}

// txState is what one transaction read or wrote that the recorder may
// remember once it commits.
type txState struct {
	salts    map[string][]byte   // day → salt
	visitors map[string]struct{} // visitorKey(day, visitor) stored in daily_visitors
}

func (r *Recorder) record(ctx context.Context, tx *sql.Tx, st *txState, group []decodedJob, now time.Time) (Summary, error) {
	sum := Summary{Paths: map[string]int{}, Countries: map[string]int{}}
	if err := r.salts.prune(ctx, tx, now); err != nil {
		return sum, err
	}
	stmts := r.stmts.in(ctx, tx)
	markDone, addVisitor := stmts.markDone, stmts.visitor
	var log viewLog
	roll := newRollup()
	var days dayNames
	readers := map[readerKey]string{} // the visitor id of each reader met in this transaction
	for _, d := range group {
		res, err := markDone.ExecContext(ctx, d.job.ID, d.job.Kind(), now.Unix())
		if err != nil {
			return sum, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // done before: a redelivery, or a second publish of the same job
		}
		log.reset(earliest(d.views, now))
		for i, pv := range d.views {
			if pv.Path == "" || (r.RespectDNT && (pv.DNT || pv.GPC)) {
				continue
			}
			at := pv.At
			if at.IsZero() {
				at = now
			}
			day := days.of(at)
			agent := r.agents.parse(pv.UserAgent)
			if agent.Bot != "" {
				roll.bot(day, agent.Bot)
				sum.Bots++
				continue
			}
			ip := ClientIP(pv.IP, pv.ForwardedFor, r.TrustedProxies)
			visitor, isNew := "", false
			reader := readerKey{day: day, ip: ip, ua: pv.UserAgent}
			if v, ok := readers[reader]; ok {
				visitor = v // seen earlier in this transaction: not new
			} else if salt, err := r.salts.get(ctx, tx, st, day, now); err != nil {
				return sum, err
			} else if salt != nil && ip.IsValid() {
				visitor = visitorID(salt, r.Site, ip, pv.UserAgent)
				readers[reader] = visitor
				key := visitorKey(day, visitor)
				if _, seen := st.visitors[key]; !seen && !r.visitors.has(key) {
					res, err := addVisitor.ExecContext(ctx, day, visitor)
					if err != nil {
						return sum, err
					}
					n, _ := res.RowsAffected()
					isNew = n == 1
					st.visitors[key] = struct{}{}
				}
			}
			country, city := r.Geo.Locate(ip)
			v := view{
				path: clip(pv.Path, 512), at: at, visitor: visitor, isNew: isNew,
				country: country, city: clip(city, 100), browser: agent.Browser, os: agent.OS, device: agent.Device,
				refHost: referrerHost(pv.Referrer, pv.Host), utm: clip(strings.ToLower(strings.TrimSpace(pv.UTMSource)), 100),
			}
			log.add(i, referrerPage(pv.Referrer), v)
			roll.view(day, v)
			sum.Views++
			sum.Paths[v.path]++
			sum.Countries[v.country]++
			if isNew {
				sum.Visitors++
			}
		}
		if err := log.write(ctx, stmts.viewLog, d.job.ID); err != nil {
			return sum, err
		}
	}
	return sum, roll.flush(ctx, tx)
}

// earliest is the earliest time among views, a view without one counting
// as now.
func earliest(views []PageView, now time.Time) time.Time {
	first := now
	for i := range views {
		if at := views[i].At; !at.IsZero() && at.Before(first) {
			first = at
		}
	}
	return first
}

// referrerHost is the referring site's host without "www.", or "" for a
// link from the site itself or no referrer.
func referrerHost(ref, self string) string {
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	if self != "" {
		s := strings.ToLower(self)
		if h, _, err := splitHostPort(s); err == nil {
			s = h
		}
		if host == s {
			return ""
		}
	}
	return clip(strings.TrimPrefix(host, "www."), 253)
}

// referrerPage is the referrer without its query and fragment, which may
// carry tokens.
func referrerPage(ref string) string {
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return ""
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return clip(u.String(), 512)
}

func splitHostPort(s string) (string, string, error) {
	if i := strings.LastIndexByte(s, ':'); i > 0 && !strings.Contains(s[i:], "]") {
		return strings.Trim(s[:i], "[]"), s[i+1:], nil
	}
	return strings.Trim(s, "[]"), "", nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
