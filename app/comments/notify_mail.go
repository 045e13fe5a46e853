package comments

import (
	"fmt"
	"strings"
	"time"

	"site/app/jobs"
)

// actionLabels name the one-click links in the admins' mails, in order.
var actionLabels = []struct{ action, label string }{
	{ActionApprove, "Approve"},
	{ActionReject, "Reject"},
	{ActionDelete, "Delete"},
	{ActionBan, "Ban the reader"},
}

// Notice is what the admins' mail says of one new comment.
type Notice struct {
	CommentID int64
	// Post is the post's title; URL the comment's place on it.
	Post, URL string
	// Author is the name it was written under; Address the reader's
	// verified address.
	Author, Address string
	// Text is the comment as plain text, cut short.
	Text string
	// Status is its status when the mail goes; Reply is true when it
	// answers another comment.
	Status Status
	Reply  bool
	// At is when it was written.
	At time.Time
	// Links are the signed one-click links by action.
	Links map[string]string
}

// quote prefixes each line of s with "> ".
func quote(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("> "+l, " ")
	}
	return strings.Join(lines, "\n")
}

// noticeBlock is one comment in an admins' mail: who, where, the text, the
// links.
func noticeBlock(b *strings.Builder, no Notice) {
	who := no.Author
	if no.Address != "" {
		who += " (" + no.Address + ")"
	}
	what := "commented on"
	if no.Reply {
		what = "replied to a comment on"
	}
	fmt.Fprintf(b, "%s %s %q, %s:\n%s\n\n%s\n\n", who, what, no.Post, no.At.UTC().Format("2006-01-02 15:04 UTC"), no.URL, quote(no.Text))
	switch no.Status {
	case Held:
		b.WriteString("It is held: readers do not see it until you approve it.\n")
	case Approved:
		b.WriteString("It is shown to readers.\n")
	case Rejected:
		b.WriteString("It has been rejected since.\n")
	}
	for _, a := range actionLabels {
		if u, ok := no.Links[a.action]; ok {
			fmt.Fprintf(b, "%s: %s\n", a.label, u)
		}
	}
}

// digestMail is the admins' mail of one new comment, or a digest of
// several; queue is the moderation queue's URL.
func digestMail(site string, list []Notice, every time.Duration, queue string) jobs.NotifyJob {
	var b strings.Builder
	held := 0
	for _, no := range list {
		if no.Status == Held {
			held++
		}
	}
	var subject string
	if len(list) == 1 {
		no := list[0]
		subject = fmt.Sprintf("[%s] New comment on %q by %s", site, no.Post, no.Author)
		if held == 1 {
			subject += " (held)"
		}
	} else {
		subject = fmt.Sprintf("[%s] %d new comments", site, len(list))
		if held > 0 {
			subject += fmt.Sprintf(" (%d held)", held)
		}
		fmt.Fprintf(&b, "%d new comments since the last mail (one mail every %s at most; more wait for the next):\n\n", len(list), period(every))
	}
	for i, no := range list {
		if i > 0 {
			b.WriteString("\n----\n\n")
		}
		noticeBlock(&b, no)
	}
	fmt.Fprintf(&b, "\nEach link opens a page that asks you to confirm; the links work for %d days.\nThe moderation queue: %s\n",
		int(ModerationLinkTTL.Hours()/24), queue)
	return jobs.NotifyJob{Subject: subject, Text: b.String()}
}

// replyMail is the reader's notice of an approved reply to their comment.
func replyMail(site, author, post, text, link, unsubscribe string) jobs.NotifyJob {
	var b strings.Builder
	fmt.Fprintf(&b, "%s replied to your comment on %q:\n\n%s\n\nRead it on the page: %s\n\n", author, post, quote(text), link)
	fmt.Fprintf(&b, "You get this email because you asked to hear of replies when you commented on %s.\n", site)
	fmt.Fprintf(&b, "To get no more emails about replies (no sign-in needed): %s\n", unsubscribe)
	return jobs.NotifyJob{Subject: fmt.Sprintf("[%s] %s replied to your comment on %q", site, author, post), Text: b.String()}
}

// period says d in words: "10 minutes", "1 hour", else d's own form.
func period(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "minute"
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
