package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// healthCommand GETs one URL and fails unless it answers 200; container
// health checks use it because the runtime image has no curl.
func healthCommand(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("health: want one URL, e.g. site health http://127.0.0.1:8080/readyz")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %s", args[0], resp.Status)
	}
	return nil
}
