package jobs

import (
	"encoding/json"
	"fmt"
	"time"
)

// AlertJob is the payload of a jobs.alert job: something failed and the
// admins should hear of it.
type AlertJob struct {
	// Source names the part that failed, e.g. "backup", "worker", "web".
	Source string `json:"source"`
	// Level is "error" or "warning".
	Level string `json:"level"`
	// Message says what happened; alerts with the same source, level and
	// message are grouped.
	Message string `json:"message"`
	// At is when it happened.
	At time.Time `json:"at"`
}

// NewAlertJob wraps an alert; the id names the source, message and time, so
// a retried publish of the same alert is dropped by the stream.
func NewAlertJob(a AlertJob) (Job, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return Job{}, fmt.Errorf("encode alert job: %w", err)
	}
	return Job{ID: "alert-" + digest(a.Source, a.Level, a.Message, a.At.UTC().Format(time.RFC3339Nano)), Subject: SubjectAlert, Data: data}, nil
}
