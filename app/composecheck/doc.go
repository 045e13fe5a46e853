// Package composecheck holds the check of compose.yaml and the Dockerfile at
// the top of the module.
//
// No Docker engine runs where the tests run, so compose_test.go loads
// compose.yaml with github.com/compose-spec/compose-go/v2, exactly as
// `docker compose` would, and asserts the deployment the design asks for:
// five services from one image, one role each, the shared /data volume,
// health checks and start-up order, and the all-in-one `all` profile. The
// topology itself is run for real by the five-process test. The package has
// no code of its own.
package composecheck
