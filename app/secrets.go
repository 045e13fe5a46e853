package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"site/app/cabundle"
	"site/app/config"
)

// secretsFile holds the secrets generated on first start, in the data dir,
// readable by its owner only. Processes sharing the data dir share them.
const secretsFile = "secrets.json"

type secrets struct {
	NATSToken   string `json:"nats_token"`
	S3AccessKey string `json:"s3_access_key"`
	S3SecretKey string `json:"s3_secret_key"`
}

// fillSecrets sets the NATS token and S3 keys that site.hcl left empty from
// the data dir's secrets file, creating it with fresh values when missing.
func fillSecrets(cfg *config.Config) error {
	if cfg.NATS.Token != "" && cfg.Objects.AccessKey != "" {
		return nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(cfg.DataDir, secretsFile)
	var s secrets
	body, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(body, &s); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		s = secrets{NATSToken: randomHex(24), S3AccessKey: "site" + randomHex(8), S3SecretKey: randomHex(24)}
		body, _ := json.MarshalIndent(s, "", "  ")
		// Written aside, then linked into place: when several processes
		// start at once on one data dir, the first link wins and the others
		// read a complete file.
		tmp, err := os.CreateTemp(cfg.DataDir, ".secrets-*")
		if err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.Write(append(body, '\n')); err != nil {
			tmp.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
			return fillSecrets(cfg)
		} else if err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
	default:
		return fmt.Errorf("read %s: %w", path, err)
	}
	if s.NATSToken == "" || s.S3AccessKey == "" || s.S3SecretKey == "" {
		return fmt.Errorf("%s: incomplete; delete it to generate new secrets", path)
	}
	if cfg.NATS.Token == "" {
		cfg.NATS.Token = s.NATSToken
	}
	if cfg.Objects.AccessKey == "" {
		cfg.Objects.AccessKey, cfg.Objects.SecretKey = s.S3AccessKey, s.S3SecretKey
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// applyCABundle makes the AWS_CA_BUNDLE roots trusted process-wide before
// any S3 client starts (see app/cabundle) and logs what it did.
func applyCABundle(cfg *config.Config, logger *slog.Logger) error {
	note, err := cabundle.Apply(filepath.Join(cfg.DataDir, "tmp"))
	if err != nil {
		return err
	}
	if note != "" {
		logger.Info(note)
	}
	return nil
}
