package cabundle_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"site/app/cabundle"
)

// mustCertPEM returns a self-signed CA certificate in PEM.
func mustCertPEM(t *testing.T, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestApply: the bundle's roots join the system's through SSL_CERT_FILE and
// AWS_CA_BUNDLE is unset; an unreadable or empty bundle is an error.
func TestApply(t *testing.T) {
	dir := t.TempDir()
	system := filepath.Join(dir, "system.pem")
	bundle := filepath.Join(dir, "bundle.pem")
	if err := os.WriteFile(system, mustCertPEM(t, "system root"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundle, mustCertPEM(t, "bundle root"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Setenv(cabundle.EnvAWS, "")
	os.Unsetenv(cabundle.EnvAWS)
	if note, err := cabundle.Apply(dir); note != "" || err != nil {
		t.Fatalf("without AWS_CA_BUNDLE: %q, %v; want nothing done", note, err)
	}

	t.Setenv("SSL_CERT_FILE", system)
	t.Setenv(cabundle.EnvAWS, bundle)
	scratch := filepath.Join(dir, "scratch")
	note, err := cabundle.Apply(scratch)
	if err != nil {
		t.Fatal(err)
	}
	if _, set := os.LookupEnv(cabundle.EnvAWS); set {
		t.Error("AWS_CA_BUNDLE still set")
	}
	merged := os.Getenv("SSL_CERT_FILE")
	if !strings.HasPrefix(merged, scratch) || !strings.Contains(note, merged) {
		t.Fatalf("SSL_CERT_FILE = %q, note %q; want a merged file in %s", merged, note, scratch)
	}
	body, err := os.ReadFile(merged)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(body) {
		t.Fatal("merged file holds no certificate")
	}
	var names []string
	for rest := body; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, c.Subject.CommonName)
	}
	if strings.Join(names, ",") != "system root,bundle root" {
		t.Errorf("merged roots %v; want the system's and the bundle's", names)
	}

	for name, value := range map[string]string{"missing file": filepath.Join(dir, "nope.pem"), "no PEM": system + ".txt"} {
		if name == "no PEM" {
			if err := os.WriteFile(value, []byte("not a certificate"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Setenv(cabundle.EnvAWS, value)
		if _, err := cabundle.Apply(scratch); err == nil || !strings.Contains(err.Error(), cabundle.EnvAWS) {
			t.Errorf("%s: err %v; want an error naming %s", name, err, cabundle.EnvAWS)
		}
	}
}
