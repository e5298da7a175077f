package authtest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
)

// LogBuffer collects logs, safe for concurrent writers. A Bench's servers
// write JSON records to it (one per line), which Entries and WithRef read.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a JSON logger at level debug that writes to l.
func (l *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Entries returns the JSON records whose msg is msg.
func (l *LogBuffer) Entries(msg string) []map[string]any {
	var out []map[string]any
	for _, e := range l.records() {
		if e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// WithRef returns the JSON record carrying reference id ref (the one an
// error page shows), or nil.
func (l *LogBuffer) WithRef(ref string) map[string]any {
	for _, e := range l.records() {
		if e["ref"] == ref {
			return e
		}
	}
	return nil
}

// records decodes the lines that are JSON objects.
func (l *LogBuffer) records() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}
