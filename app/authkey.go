package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// authKeyFile holds the key of sign-in's hashes (codes, links, sessions),
// in the data dir, readable by its owner only. It is made on first use;
// processes sharing the data dir share it. Deleting it signs everyone out.
const authKeyFile = "auth.key"

// loadAuthKey reads the data dir's sign-in key, creating it when missing.
func loadAuthKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, authKeyFile)
	body, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createAuthKey(dataDir, path); err != nil {
			return nil, err
		}
		body, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	key, err := hex.DecodeString(string(trimNewline(body)))
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("%s: not a hex key of at least 16 bytes; delete it to make a new one (everyone signs in again)", path)
	}
	return key, nil
}

// createAuthKey writes a new key aside, then links it into place: when
// several processes start at once, the first link wins and the others
// read it.
func createAuthKey(dataDir, path string) error {
	tmp, err := os.CreateTemp(dataDir, ".auth-key-*")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(randomHex(32) + "\n")
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		return fmt.Errorf("write %s: %w", path, errors.Join(werr, cerr))
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
