package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/authflow/authflow/internal/jwk"
	"github.com/authflow/authflow/store"
)

// /.well-known/jwks.json publishes more than this instance's key: every key
// that signed upstream JWTs lately, so that a key change (a new key file, a
// restart with an ephemeral key, a rolling deploy where old and new
// instances sign side by side) never leaves a service holding a token it
// cannot verify. How a key change is known, across restarts and
// instances: each instance records its public key in the Store, under
// publishedKeysName, with the time it last saw it in use (at start, and
// again at least every keyBeat while it signs or serves the JWK Set). The
// document lists this instance's key and every recorded key seen in use
// within keyRetention: a key replaced stays published for a day after it
// last signed, then drops out. With the memory store (one process) a
// restart forgets the record, as it forgets the sessions.
const (
	publishedKeysName = "upstream-jwt-keys"
	keyRetention      = 24 * time.Hour
	keyBeat           = time.Hour
	keysRecheck       = time.Minute // the document is rebuilt from the Store at most this often
	maxPublishedKeys  = 16
)

// keyUse is one key of the record: its public JWK and when it was last
// seen in use (Unix seconds).
type keyUse struct {
	KID  string          `json:"kid"`
	JWK  json.RawMessage `json:"jwk"`
	Last int64           `json:"last"`
}

// publishedKeys builds the JWK Set document from the Store's record.
type publishedKeys struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
	self  keyUse
	own   []byte // the document with this instance's key alone

	mu      sync.Mutex
	doc     []byte
	builtAt time.Time
	beatAt  time.Time // when this instance last recorded its key
	beating sync.Mutex
}

func newPublishedKeys(st Store, now func() time.Time, log *slog.Logger, kid string, key []byte) (*publishedKeys, error) {
	if k, err := jwk.Parse(key); err != nil || k.KID != kid {
		return nil, fmt.Errorf("server: upstream JWT key: not a public JWK under kid %q: %v", kid, err)
	}
	own := append(append([]byte(`{"keys":[`), key...), "]}"...)
	return &publishedKeys{store: st, now: now, log: log, self: keyUse{KID: kid, JWK: key}, own: own}, nil
}

// document returns the JWK Set, rebuilt from the Store when older than
// keysRecheck. When the Store fails, the last document (or this
// instance's key alone) is served, and the Store is asked again a
// keysRecheck later.
func (p *publishedKeys) document(ctx context.Context) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.doc != nil && now.Sub(p.builtAt) < keysRecheck {
		return p.doc
	}
	p.builtAt = now
	list, err := p.sync(ctx, now)
	if err != nil {
		p.log.Warn("upstream jwt: the published keys could not be read from the session store; serving the last known", "error", err.Error())
		if p.doc == nil {
			return p.own
		}
		return p.doc
	}
	p.doc = p.build(list, now)
	return p.doc
}

// touch records this instance's key as in use when it last did so more
// than keyBeat ago, in the background; sign calls it.
func (p *publishedKeys) touch() {
	p.mu.Lock()
	due := p.now().Sub(p.beatAt) >= keyBeat
	p.mu.Unlock()
	if !due || !p.beating.TryLock() {
		return
	}
	go func() {
		defer p.beating.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.mu.Lock()
		p.builtAt = time.Time{} // rebuild, recording the key
		p.mu.Unlock()
		p.document(ctx)
	}()
}

// sync reads the record, drops the keys not seen in use within
// keyRetention, records this instance's key as in use when due, and
// writes the record back (compare-and-swap: instances starting together
// all land). p.mu is held.
func (p *publishedKeys) sync(ctx context.Context, now time.Time) ([]keyUse, error) {
	for range 4 {
		old, err := p.store.Get(ctx, publishedKeysName)
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		var list []keyUse
		if found && json.Unmarshal(old, &list) != nil {
			list = nil // unreadable: start again
		}
		cut := now.Add(-keyRetention).Unix()
		next := slices.DeleteFunc(slices.Clone(list), func(k keyUse) bool { return k.Last < cut || k.KID == "" })
		i := slices.IndexFunc(next, func(k keyUse) bool { return k.KID == p.self.KID })
		changed := len(next) != len(list)
		if i < 0 || now.Unix()-next[i].Last >= int64(keyBeat/time.Second) {
			self := p.self
			self.Last = now.Unix()
			if i < 0 {
				next = append(next, self)
			} else {
				next[i] = self
			}
			changed = true
		}
		slices.SortFunc(next, func(a, b keyUse) int { return int(b.Last - a.Last) })
		if len(next) > maxPublishedKeys {
			next, changed = next[:maxPublishedKeys], true
		}
		if !changed {
			return next, nil
		}
		enc, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		ttl := keyRetention + 2*keyBeat
		var ok bool
		if found {
			ok, err = p.store.CompareAndSwap(ctx, publishedKeysName, old, enc, ttl)
		} else {
			ok, err = p.store.SetNew(ctx, publishedKeysName, enc, ttl)
		}
		if err != nil {
			return nil, err
		}
		if ok {
			p.beatAt = now
			return next, nil
		}
	}
	return nil, errors.New("the record of published keys changed four times while being written")
}

// build makes the document: this instance's key first, then the others
// seen in use within keyRetention, newest first.
func (p *publishedKeys) build(list []keyUse, now time.Time) []byte {
	keys := []json.RawMessage{p.self.JWK}
	cut := now.Add(-keyRetention).Unix()
	for _, k := range list {
		if k.KID != p.self.KID && k.Last >= cut && len(keys) < maxPublishedKeys {
			if key, err := jwk.Parse(k.JWK); err != nil || key.KID != k.KID { // Parse refuses private members
				continue // never publish what is not a public key under its kid
			}
			keys = append(keys, k.JWK)
		}
	}
	doc, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		return p.own
	}
	return doc
}
