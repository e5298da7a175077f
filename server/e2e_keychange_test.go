package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/authtest"
	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// jwksOf fetches s's /.well-known/jwks.json and returns its kids.
func jwksOf(t *testing.T, s *server.Server) (*authtest.KeySet, []string) {
	t.Helper()
	hs := httptest.NewServer(s)
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	set, err := authtest.ParseKeySet(body) // refuses a private key
	if err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var kids []string
	for _, k := range set.Keys() {
		kids = append(kids, k.KID)
	}
	return set, kids
}

// TestUpstreamKeyChange: after a key change (a restart with another key,
// or a second instance with its own), the previous key stays in
// /.well-known/jwks.json for a day after it was last in use, on every
// instance sharing the store, so tokens it signed still verify.
func TestUpstreamKeyChange(t *testing.T) {
	t.Parallel()
	keyA, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyB, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b := upstreamBench(t, func(c *server.Config) { c.UpstreamJWT.Key = keyA })
	br := b.NewBrowser()
	br.MustLogin("dev", authtest.Ada())
	tokA := br.Verify().Header.Get("X-Auth-Token")
	_, kidsA := jwksOf(t, b.App().Server)
	if len(kidsA) != 1 {
		t.Fatalf("one key in use: jwks %v", kidsA)
	}

	// The restart: the same store, another key.
	restarted, err := server.New(b.App().Engine, server.Config{BaseURI: b.URL, Store: b.App().Store, Now: b.Clock.Now,
		Logger: b.Logs.Logger(), UpstreamJWT: server.UpstreamJWT{Enabled: true, Key: keyB, TTL: upstreamTTL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(restarted.Close)
	set, kids := jwksOf(t, restarted)
	if len(kids) != 2 || kids[1] != kidsA[0] {
		t.Fatalf("after the key change: jwks %v, want the new key and %s", kids, kidsA[0])
	}
	api := &upstreamAPI{keys: set, now: b.Clock.Now, iss: b.URL, aud: b.URL}
	if _, _, err := api.verify(tokA); err != nil {
		t.Errorf("a token of the previous key, against the new instance's JWK Set: %v", err)
	}
	// The old instance learns of the new key within a minute.
	b.Clock.Advance(61 * time.Second)
	if _, kids := jwksOf(t, b.App().Server); len(kids) != 2 || kids[0] != kidsA[0] {
		t.Errorf("the first instance's jwks %v, want its key and the new one", kids)
	}
	// A day after the previous key was last in use, it is gone.
	b.Clock.Advance(keyDay + time.Hour)
	if _, kids := jwksOf(t, restarted); len(kids) != 1 || kids[0] == kidsA[0] {
		t.Errorf("a day later: jwks %v, want the new key alone", kids)
	}
}

const keyDay = 24 * time.Hour

// TestUpstreamKeysAcrossInstances: two instances over Redis, each with an
// ephemeral key of its own (no key file): each publishes both keys, so a
// service that fetched the key set from either verifies the tokens of
// both.
func TestUpstreamKeysAcrossInstances(t *testing.T) {
	t.Parallel()
	first, prefix := testredis.Client(t)
	opts, err := redis.ParseURL(testredis.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	b := authtest.New(t, authtest.Options{Instances: 2,
		Config: func(c *server.Config) { c.UpstreamJWT = server.UpstreamJWT{Enabled: true, TTL: upstreamTTL} },
		NewStore: func(t testing.TB, i int) server.Store {
			if i == 0 {
				return redisstore.New(first, prefix)
			}
			c := redis.NewClient(opts)
			t.Cleanup(func() { c.Close() })
			return redisstore.New(c, prefix)
		}})
	// Both instances record their keys at start, in the background.
	authtest.Eventually(t, "both keys recorded in Redis", func() bool {
		v, err := first.Get(t.Context(), prefix+"upstream-jwt-keys").Result()
		var keys []json.RawMessage
		return err == nil && json.Unmarshal([]byte(v), &keys) == nil && len(keys) == 2
	})
	b.Clock.Advance(61 * time.Second) // past the first documents' minute
	set0, kids0 := jwksOf(t, b.Apps[0].Server)
	_, kids1 := jwksOf(t, b.Apps[1].Server)
	if len(kids0) != 2 || len(kids1) != 2 || kids0[0] == kids1[0] {
		t.Fatalf("jwks of instance 0 %v, of instance 1 %v: want both keys in each, its own first", kids0, kids1)
	}
	br := b.NewBrowser()
	b.Route(1)
	br.MustLogin("dev", authtest.Ada())
	tok := br.Verify().Header.Get("X-Auth-Token")
	api := &upstreamAPI{keys: set0, now: b.Clock.Now, iss: b.URL, aud: b.URL}
	if _, _, err := api.verify(tok); err != nil {
		t.Errorf("instance 1's token against instance 0's key set: %v", err)
	}
	if n := len(rsKeys(t, first, prefix+"upstream-jwt-keys")); n != 1 {
		t.Errorf("%d published-keys records in Redis, want 1", n)
	}
}
