package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"time"

	"site/app/jobs"
)

// Notifier is the worker's jobs.notify handler.
type Notifier struct {
	// Mail sends email; SMS sends text messages.
	Mail Mailer
	SMS  Texter
	// DB is the writer connection of data.db, where sent job ids are kept.
	DB *sql.DB
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Handle sends one message. A message already sent (its id recorded) is
// not sent again; a crash between sending and recording sends it twice at
// worst, never zero times. A message that can never be sent (no recipient,
// a bad address) goes to the dead letters at once.
func (n *Notifier) Handle(ctx context.Context, j jobs.Job) error {
	var p jobs.NotifyJob
	if err := json.Unmarshal(j.Data, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("notify job: %w", err))
	}
	if done, err := jobs.Done(ctx, n.DB, j.ID); err != nil {
		return fmt.Errorf("notify: %w", err)
	} else if done {
		return nil
	}
	switch {
	case p.Email != "" && p.Phone != "":
		return jobs.Permanent(errors.New("notify job has both an email and a phone number"))
	case p.Email != "":
		if _, err := mail.ParseAddress(p.Email); err != nil {
			return jobs.Permanent(fmt.Errorf("notify: %q is not an email address", p.Email))
		}
		if err := n.Mail.SendEmail(ctx, Email{To: []string{p.Email}, Subject: p.Subject, Text: p.Text, HTML: p.HTML}); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	case p.Phone != "":
		if !e164.MatchString(p.Phone) {
			return jobs.Permanent(fmt.Errorf("notify: %q is not a phone number in +E.164 form", p.Phone))
		}
		if err := n.SMS.SendSMS(ctx, SMS{To: p.Phone, Text: p.Text}); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	default:
		return jobs.Permanent(errors.New("notify job without a recipient"))
	}
	if _, err := jobs.MarkDone(ctx, n.DB, j, time.Now()); err != nil {
		return fmt.Errorf("notify: sent, but not recorded: %w", err)
	}
	return nil
}
