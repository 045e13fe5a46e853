package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"site/app/jobs"
	"site/app/web"
	"site/views"
)

// SectionJobs is the jobs page's section of the panel.
const SectionJobs = "jobs"

// deadPage is how many dead letters one page lists.
const deadPage = 100

// natsWait bounds each read or write of the jobs page on JetStream.
const natsWait = 5 * time.Second

func (a *Admin) jobsRoutes() []web.Route {
	return []web.Route{
		{Pattern: "GET /admin/jobs", Handler: http.HandlerFunc(a.jobsPage)},
		{Pattern: "POST /admin/jobs/dead/{seq}/retry", Handler: http.HandlerFunc(a.jobsRetry)},
		{Pattern: "POST /admin/jobs/dead/{seq}/discard", Handler: http.HandlerFunc(a.jobsDiscard)},
	}
}

func (a *Admin) jobsPage(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	a.showJobs(w, r, http.StatusOK, after, "", "")
}

// showJobs renders the jobs page, dead letters from after+1 on, with the
// outcome of an action.
func (a *Admin) showJobs(w http.ResponseWriter, r *http.Request, code int, after uint64, notice, problem string) {
	d := views.AdminJobsData{Notice: notice, Problem: problem}
	if a.JS == nil {
		d.Unavailable = "This process has no connection to NATS, so the work queue cannot be read."
		a.page(w, r, code, "Jobs", SectionJobs, views.AdminJobs(d))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), natsWait)
	defer cancel()
	q, err := jobs.Queue(ctx, a.JS)
	if err == nil {
		var dead []jobs.DeadLetter
		dead, err = jobs.DeadLetters(ctx, a.JS, after, deadPage)
		for _, j := range dead {
			d.Dead = append(d.Dead, views.DeadJob{Seq: j.Seq, Kind: j.Kind, ID: j.ID, Error: j.Error, Time: j.Time, Bytes: len(j.Data)})
		}
		if len(dead) == deadPage {
			d.More = "/admin/jobs?after=" + strconv.FormatUint(dead[len(dead)-1].Seq, 10)
		}
	}
	if err != nil {
		a.Logger.Error("admin: read the work queue", "err", err)
		d.Unavailable = "The work queue could not be read from NATS: " + err.Error()
		a.page(w, r, http.StatusServiceUnavailable, "Jobs", SectionJobs, views.AdminJobs(d))
		return
	}
	for _, k := range q.Kinds {
		d.Kinds = append(d.Kinds, views.JobKind{Kind: k.Kind, Messages: k.Messages})
	}
	d.Total, d.NotDelivered, d.InHand, d.Redelivered, d.DeadTotal = q.Total, q.NotDelivered, q.InHand, q.Redelivered, q.Dead
	a.page(w, r, code, "Jobs", SectionJobs, views.AdminJobs(d))
}

func (a *Admin) jobsRetry(w http.ResponseWriter, r *http.Request) {
	a.deadAction(w, r, "job.retry", jobs.RetryDead, "is back in the queue")
}

func (a *Admin) jobsDiscard(w http.ResponseWriter, r *http.Request) {
	a.deadAction(w, r, "job.discard", jobs.DiscardDead, "was discarded")
}

// deadAction runs retry or discard on the dead letter of the path, audits
// it, and shows the jobs page with the outcome.
func (a *Admin) deadAction(w http.ResponseWriter, r *http.Request, action string,
	do func(context.Context, jetstream.JetStream, uint64) (jobs.DeadLetter, error), done string) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		a.Shell.NotFound(w, r)
		return
	}
	if a.JS == nil {
		a.showJobs(w, r, http.StatusServiceUnavailable, 0, "", "This process has no connection to NATS.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), natsWait)
	defer cancel()
	d, err := do(ctx, a.JS, seq)
	var tooSoon *jobs.TooSoonError
	switch {
	case errors.Is(err, jobs.ErrNoDeadLetter):
		a.showJobs(w, r, http.StatusNotFound, 0, "", fmt.Sprintf("Dead letter %d is no longer there: it was retried or discarded already, or aged out.", seq))
		return
	case errors.As(err, &tooSoon):
		a.showJobs(w, r, http.StatusConflict, 0, "", fmt.Sprintf("Not retried yet: the queue still remembers %s job %s from its first publish, and would drop it as a duplicate. Retry after %s.",
			d.Kind, d.ID, tooSoon.After.UTC().Format("15:04:05 UTC")))
		return
	case err != nil:
		a.Logger.Error("admin: "+action, "seq", seq, "err", err)
		a.showJobs(w, r, http.StatusInternalServerError, 0, "", "Failed: "+err.Error())
		return
	}
	target := d.Kind + "/" + d.ID
	if aerr := a.Audit(r, action, target, clip(d.Error, 500)); aerr != nil {
		a.Logger.Error("admin: audit", "action", action, "err", aerr)
	}
	a.showJobs(w, r, http.StatusOK, 0, fmt.Sprintf("The %s job %s %s.", d.Kind, d.ID, done), "")
}
