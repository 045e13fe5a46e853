package objects_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"site/embedded/objects"
)

func TestNewClient(t *testing.T) {
	tests := []struct {
		endpoint string
		host     string
		secure   bool
		wantErr  string
	}{
		{endpoint: "http://127.0.0.1:9000", host: "127.0.0.1:9000"},
		{endpoint: "https://s3.amazonaws.com", host: "s3.amazonaws.com", secure: true},
		{endpoint: "https://s3.example.com/", host: "s3.example.com", secure: true},
		{endpoint: "127.0.0.1:9000", host: "127.0.0.1:9000"},
		{endpoint: "localhost:9000", host: "localhost:9000"},
		{endpoint: "ftp://example.com", wantErr: "scheme"},
		{endpoint: "http://example.com/bucket", wantErr: "path"},
		{endpoint: "", wantErr: "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			c, err := objects.NewClient(tt.endpoint, "a", "b", "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := c.EndpointURL()
			if u.Host != tt.host || (u.Scheme == "https") != tt.secure {
				t.Errorf("endpoint URL = %s, want host %s secure %v", u, tt.host, tt.secure)
			}
		})
	}
}

func TestServerBeforeOpen(t *testing.T) {
	s := objects.NewServer()
	if _, err := s.Client(); err == nil {
		t.Error("Client before Open: no error")
	}
	if s.Addr() != "" || s.Endpoint() != "" || s.Metadata() != "" {
		t.Errorf("before Open: Addr %q Endpoint %q Metadata %q", s.Addr(), s.Endpoint(), s.Metadata())
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close before Open: %v", err)
	}
	if s.Listen != objects.DefaultListen || s.Region != objects.DefaultRegion {
		t.Errorf("defaults: Listen %q Region %q", s.Listen, s.Region)
	}
	if strings.Join(s.Buckets, ",") != "public,private,backup" || strings.Join(s.PublicBuckets, ",") != "public" {
		t.Errorf("default buckets %v public %v", s.Buckets, s.PublicBuckets)
	}
}

func TestPublicReadPolicy(t *testing.T) {
	got := objects.PublicReadPolicy("public")
	for _, want := range []string{`"Principal":"*"`, `"s3:GetObject"`, `"arn:aws:s3:::public/*"`, `"Effect":"Allow"`} {
		if !strings.Contains(got, want) {
			t.Errorf("policy %s lacks %s", got, want)
		}
	}
}

func TestOpenValidation(t *testing.T) {
	root := filepath.Join(t.TempDir(), "objects")
	tests := []struct {
		name    string
		change  func(*objects.Server)
		wantErr string
	}{
		{"no root", func(s *objects.Server) { s.Root = "" }, "root is required"},
		{"no keys", func(s *objects.Server) { s.SecretKey = "" }, "secret key are required"},
		{"bad listen", func(s *objects.Server) { s.Listen = "9000" }, "listen"},
		{"public not in buckets", func(s *objects.Server) { s.PublicBuckets = []string{"www"} }, `"www" is not in buckets`},
		{"meta dir prefixed by root", func(s *objects.Server) {
			s.ForceSidecar = true
			s.MetaDir = root + ".meta"
		}, "must not start with root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, root)
			tt.change(s)
			err := s.Open(t.Context())
			if err == nil {
				s.Close()
				t.Fatal("Open: no error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, objects.ErrAlreadyRunning) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}
