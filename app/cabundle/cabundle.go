// Package cabundle moves the AWS SDK's AWS_CA_BUNDLE variable into Go's own
// root-certificate lookup, so that every S3 client in the process (ours,
// Litestream's and the offsite client) trusts the bundle without the SDK
// refusing a custom HTTP client.
//
// The AWS SDK for Go v2 fails with "unable to add custom RootCAs HTTPClient"
// when AWS_CA_BUNDLE is set and the caller supplies its own http.Client, which
// Litestream always does. Go's crypto/x509 reads SSL_CERT_FILE (one file) and
// SSL_CERT_DIR (directories) when it first loads the system roots, so pointing
// SSL_CERT_FILE at a file holding the system roots plus the bundle keeps both
// trusted, and unsetting AWS_CA_BUNDLE keeps the SDK from rejecting clients.
package cabundle

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// EnvAWS is the variable the AWS SDK reads for an extra CA bundle.
const EnvAWS = "AWS_CA_BUNDLE"

// envCertFile is the variable Go's crypto/x509 reads for the system roots file.
const envCertFile = "SSL_CERT_FILE"

// systemCertFiles are the places Go looks for the system roots on Linux, in
// its own order; the first one that exists is the one it would have used.
var systemCertFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// Apply must run before any TLS connection is made. When AWS_CA_BUNDLE is set
// it makes Go trust the bundle's roots as well as the system's, unsets the
// variable, and returns a sentence describing what it did ("" when the
// variable was not set). A bundle that cannot be read is an error: trusting
// fewer roots than the operator asked for would fail later and less clearly.
// scratchDir receives the merged file when one is needed.
func Apply(scratchDir string) (string, error) {
	bundle := os.Getenv(EnvAWS)
	if bundle == "" {
		return "", nil
	}
	extra, err := os.ReadFile(bundle)
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvAWS, err)
	}
	if !bytes.Contains(extra, []byte("-----BEGIN CERTIFICATE-----")) {
		return "", fmt.Errorf("%s: %s holds no PEM certificate", EnvAWS, bundle)
	}
	base := os.Getenv(envCertFile)
	if base == "" {
		for _, f := range systemCertFiles {
			if _, err := os.Stat(f); err == nil {
				base = f
				break
			}
		}
	}
	target := bundle
	if base != "" && !sameFile(base, bundle) {
		system, err := os.ReadFile(base)
		if err != nil {
			return "", fmt.Errorf("read system roots %s: %w", base, err)
		}
		merged := append(append(append([]byte{}, system...), '\n'), extra...)
		if err := os.MkdirAll(scratchDir, 0o700); err != nil {
			return "", fmt.Errorf("merge CA bundle: %w", err)
		}
		target = filepath.Join(scratchDir, "ca-bundle.pem")
		if err := os.WriteFile(target, merged, 0o644); err != nil {
			return "", fmt.Errorf("merge CA bundle: %w", err)
		}
	}
	if err := os.Setenv(envCertFile, target); err != nil {
		return "", err
	}
	if err := os.Unsetenv(EnvAWS); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s=%s is trusted through %s=%s; %s unset so AWS clients accept our HTTP client", EnvAWS, bundle, envCertFile, target, EnvAWS), nil
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
