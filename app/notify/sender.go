// Package notify sends what the worker role is asked to send: email over
// SMTP, text messages through an HTTP API, and alerts to the admins, grouped
// and rate-limited. Without a mail server or SMS endpoint it logs the
// messages instead, for development.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/wneessen/go-mail"
)

// Email is one message to one or more addresses.
type Email struct {
	To      []string
	Subject string
	Text    string
	HTML    string
}

// SMS is one text message.
type SMS struct {
	To   string `json:"to"`
	Text string `json:"text"`
}

// Mailer sends email.
type Mailer interface {
	SendEmail(ctx context.Context, e Email) error
}

// Texter sends text messages.
type Texter interface {
	SendSMS(ctx context.Context, s SMS) error
}

// SMTP sends email through a mail server with go-mail.
type SMTP struct {
	Host string
	Port int
	// TLS is "starttls", "tls" or "none".
	TLS      string
	User     string
	Password string
	From     string
	// Timeout bounds one delivery (default 30 s).
	Timeout time.Duration
}

// SendEmail delivers e; an error means it was not accepted by the server.
func (s *SMTP) SendEmail(ctx context.Context, e Email) error {
	m := mail.NewMsg()
	if err := m.From(s.From); err != nil {
		return fmt.Errorf("from %q: %w", s.From, err)
	}
	if err := m.To(e.To...); err != nil {
		return fmt.Errorf("to %v: %w", e.To, err)
	}
	m.Subject(e.Subject)
	m.SetBodyString(mail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		m.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithTimeout(timeout)}
	switch s.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	opts = append(opts, mail.WithPort(s.Port))
	if s.User != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.User), mail.WithPassword(s.Password))
	}
	c, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("smtp %s:%d: %w", s.Host, s.Port, err)
	}
	return nil
}

// HTTPSMS posts each text message as JSON {"to": ..., "text": ...} to URL,
// with Token as a bearer token when set; any 2xx answer is success.
type HTTPSMS struct {
	URL    string
	Token  string
	Client *http.Client
}

// SendSMS posts s.
func (h *HTTPSMS) SendSMS(ctx context.Context, s SMS) error {
	body, _ := json.Marshal(s)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if h.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("sms post: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sms post: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// Log is the development sender: it prints each message to the log.
type Log struct {
	Logger *slog.Logger
}

// SendEmail logs e.
func (l *Log) SendEmail(_ context.Context, e Email) error {
	l.Logger.Info("email (log sender; set notify.smtp_host to send)", "to", e.To, "subject", e.Subject, "text", e.Text)
	return nil
}

// SendSMS logs s.
func (l *Log) SendSMS(_ context.Context, s SMS) error {
	l.Logger.Info("sms (log sender; set notify.sms_url to send)", "to", s.To, "text", s.Text)
	return nil
}
