package testkit

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Mail is one message as the SMTP server received it.
type Mail struct {
	From string
	To   []string
	Data string
}

// Mailbox is a real SMTP server (github.com/emersion/go-smtp) on loopback
// that keeps every message it receives.
type Mailbox struct {
	// Host and Port are where it listens.
	Host string
	Port int

	mu     sync.Mutex
	msgs   []Mail
	refuse *smtp.SMTPError
}

// Refuse makes the server refuse every recipient from now on with the SMTP
// reply code and message given (e.g. 550, "mailbox unavailable"), as a
// relay that will not take the site's mail does.
func (m *Mailbox) Refuse(code int, message string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refuse = &smtp.SMTPError{Code: code, Message: message}
}

// All returns the messages received so far.
func (m *Mailbox) All() []Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Mail(nil), m.msgs...)
}

// SMTP starts a Mailbox on a free loopback port (no TLS, any sender, any
// recipient, no authentication required); it stops at cleanup.
func SMTP(tb testing.TB) *Mailbox {
	tb.Helper()
	box := &Mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{box: box}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { srv.Close() })
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	box.Host = host
	box.Port, _ = strconv.Atoi(port)
	return box
}

type smtpSession struct {
	box *Mailbox
	cur Mail
}

func (s *smtpSession) Reset()        { s.cur = Mail{} }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.From = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.box.mu.Lock()
	refuse := s.box.refuse
	s.box.mu.Unlock()
	if refuse != nil {
		return refuse
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}
