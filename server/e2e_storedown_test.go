package server_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/store"
)

// downStore is a memory store whose reads fail while down is set, as a
// Redis that stopped answering would.
type downStore struct {
	*store.Memory
	down atomic.Bool
}

var errStoreDown = errors.New("store: connection refused")

func (d *downStore) Get(ctx context.Context, key string) ([]byte, error) {
	if d.down.Load() {
		return nil, errStoreDown
	}
	return d.Memory.Get(ctx, key)
}

func (d *downStore) GetObject(ctx context.Context, key string) (any, error) {
	if d.down.Load() {
		return nil, errStoreDown
	}
	return d.Memory.GetObject(ctx, key)
}

// TestStoreDownIsNotSignedOut: when the session store stops answering, a
// signed-in user is not treated as signed out — /auth/verify answers 500
// (not 401, which would send everyone to the login), /auth/session 500
// JSON, and a page behind Require the error page — each with a reference
// whose log line holds the cause.
func TestStoreDownIsNotSignedOut(t *testing.T) {
	t.Parallel()
	ds := &downStore{}
	b := authtest.New(t, authtest.Options{NewStore: func(t testing.TB, _ int) server.Store {
		ds.Memory = store.NewMemory(store.MemoryOptions{})
		t.Cleanup(func() { ds.Memory.Close() })
		return ds
	}})
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	ds.down.Store(true)

	if p := br.Verify(); p.Status != http.StatusInternalServerError {
		t.Errorf("/auth/verify with the store down: %d, want 500", p.Status)
	}
	status, s := br.Session()
	if status != http.StatusInternalServerError || s["ref"] == nil {
		t.Errorf("/auth/session with the store down: %d %v, want 500 with a ref", status, s)
	} else if e := b.Logs.WithRef(s["ref"].(string)); e == nil || e["error"] == nil {
		t.Errorf("no log line with the cause under ref %v", s["ref"])
	}
	if p := br.Get("/app/"); p.Status != http.StatusInternalServerError || p.Ref() == "" {
		t.Errorf("a page behind Require with the store down: %d to %q, want the 500 page with a ref", p.Status, p.Location)
	}

	ds.down.Store(false)
	if p := br.Verify(); p.Status != http.StatusOK {
		t.Errorf("/auth/verify once the store is back: %d, want 200 (the session was never ended)", p.Status)
	}
}
