package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// NotifyJob is the payload of a jobs.notify job: one email or one text
// message. Exactly one of Email and Phone is set.
type NotifyJob struct {
	// Email is the recipient's address, for an email.
	Email string `json:"email,omitempty"`
	// Phone is the recipient's number in E.164 form (+15551234567), for SMS.
	Phone string `json:"phone,omitempty"`
	// Subject is the email's subject; unused for SMS.
	Subject string `json:"subject,omitempty"`
	// Text is the plain-text body.
	Text string `json:"text"`
	// HTML is an optional HTML alternative of an email.
	HTML string `json:"html,omitempty"`
}

// NewNotifyJob wraps a message; dedupe, when not empty, names the message
// (e.g. "otp-<code id>") so that publishing it twice sends it once.
func NewNotifyJob(n NotifyJob, dedupe string) (Job, error) {
	data, err := json.Marshal(n)
	if err != nil {
		return Job{}, fmt.Errorf("encode notify job: %w", err)
	}
	if dedupe == "" {
		dedupe = string(data)
	}
	return Job{ID: "notify-" + digest(dedupe), Subject: SubjectNotify, Data: data}, nil
}

// digest is a short stable hash of parts, for job ids.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
