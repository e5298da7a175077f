package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/strategies"
	"github.com/fsnotify/fsnotify"
)

// reloader swaps in a new strategy set when the strategies file changes or
// the process receives SIGHUP. The new file is loaded and compiled first;
// on any error the running strategies stay and the error is logged.
// Sessions live in the store, so they survive a reload; a session whose
// strategy a reload removed ends at its next use.
type reloader struct {
	path     string
	log      *slog.Logger
	srv      *server.Server
	options  func() engine.Options
	reloaded func(error) // metrics

	mu  sync.Mutex
	eng *engine.Engine // the running engine, closed when replaced
}

// reload loads the file and, if it is valid, puts it in service.
func (r *reloader) reload(reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	eng, plan, err := loadEngine(r.path, r.options(), r.log)
	if err == nil {
		if err = r.srv.SetEngine(eng); err != nil {
			eng.Close()
		}
	}
	r.reloaded(err)
	if err != nil {
		r.log.Error("reload failed; the previous strategies stay in service", "reason", reason, "file", r.path, "error", err.Error())
		return err
	}
	old := r.eng
	r.eng = eng
	old.Close()
	r.log.Info("strategies reloaded", "reason", reason, "file", r.path, "count", len(plan.Names()))
	return nil
}

// loadEngine compiles the strategies file (the compile `authflow validate`
// runs), logs its warnings, and binds the plan to the environment and the
// engine's options: at start-up and at every reload.
func loadEngine(path string, opts engine.Options, log *slog.Logger) (*engine.Engine, *strategies.Plan, error) {
	plan, err := strategies.Load(path)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range plan.Warnings() {
		log.Warn("strategies", "problem", w.Error())
	}
	eng, err := engine.New(plan, opts)
	if err != nil {
		return nil, nil, err
	}
	return eng, plan, nil
}

// close stops the running engine.
func (r *reloader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.eng.Close()
}

// watch starts watching the strategies file's directory, not the file:
// editors and Kubernetes ConfigMaps replace a file (rename, symlink swap)
// rather than write it. It returns before serving starts, so no change made
// after "authflow serving" is missed. A nil watcher (watching failed, or is
// off) leaves SIGHUP as the only trigger.
func (r *reloader) watch() *fsnotify.Watcher {
	abs, _ := filepath.Abs(r.path)
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(filepath.Dir(abs)); err != nil {
			w.Close()
		}
	}
	if err != nil {
		r.log.Warn("not watching the strategies file; reload with SIGHUP", "file", r.path, "error", err.Error())
		return nil
	}
	return w
}

// run reloads on each value from hup (SIGHUP) and on changes w reports
// (w may be nil), until ctx ends; it closes w. Bursts of events within
// debounce make one reload.
func (r *reloader) run(ctx context.Context, hup <-chan os.Signal, w *fsnotify.Watcher, debounce time.Duration) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	abs, _ := filepath.Abs(r.path)
	if w != nil {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}

	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload("SIGHUP")
		case ev := <-events:
			if ev.Name != abs && filepath.Base(ev.Name) != "..data" {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(debounce)
			} else {
				timer.Reset(debounce)
			}
			fire = timer.C
		case <-fire:
			fire = nil
			if _, err := os.Stat(abs); err != nil {
				continue // removed, not yet replaced: wait for the next event
			}
			r.reload("file changed")
		case err := <-errs:
			r.log.Warn("watching the strategies file", "error", err.Error())
		}
	}
}
