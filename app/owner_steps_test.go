package main_test

import (
	"context"
	"testing"
)

// ownerWritesAndPublishes is filled in when the posts and media pages land.
func ownerWritesAndPublishes(t *testing.T, ctx context.Context, site string) {}
