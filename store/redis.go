package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"
)

// Redis is a Store in Redis, shared by every authflow process that uses the
// same server and prefix. Take uses GETDEL (Redis 6.2+); locks are SET NX PX
// with a random token, released only by their holder.
type Redis struct {
	client *redis.Client
	prefix string
	// LockRetry is the wait between two attempts to take a held lock.
	LockRetry time.Duration
	lockTTL   time.Duration // LockTTL; shorter in tests
}

// NewRedis returns a Store over client; every key it writes starts with
// prefix (default "authflow:").
func NewRedis(client *redis.Client, prefix string) *Redis {
	if prefix == "" {
		prefix = "authflow:"
	}
	return &Redis{client: client, prefix: prefix, LockRetry: 20 * time.Millisecond, lockTTL: LockTTL}
}

// OpenRedis connects to the Redis at url (redis://[user:pass@]host:port/db)
// and checks the connection with PING.
func OpenRedis(ctx context.Context, url, prefix string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("store: redis url: %w", err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("store: redis at %s: %w", opts.Addr, err)
	}
	return NewRedis(c, prefix), nil
}

// Client returns the underlying client.
func (r *Redis) Client() *redis.Client { return r.client }

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := r.client.Set(ctx, r.prefix+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("store: redis set: %w", err)
	}
	return nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := r.client.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: redis get: %w", err)
	}
	return v, nil
}

// Take implements Store with GETDEL.
func (r *Redis) Take(ctx context.Context, key string) ([]byte, error) {
	v, err := r.client.GetDel(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: redis getdel: %w", err)
	}
	return v, nil
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.prefix+key).Err(); err != nil {
		return fmt.Errorf("store: redis del: %w", err)
	}
	return nil
}

// SetNew implements Store with SET NX.
func (r *Redis) SetNew(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	ok, err := r.client.SetNX(ctx, r.prefix+key, value, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: redis setnx: %w", err)
	}
	return ok, nil
}

// casScript swaps the value only if it is the expected one.
var casScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3]) return 1 end
return 0`)

// CompareAndSwap implements Store with a GET-compare-SET script.
func (r *Redis) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	n, err := casScript.Run(ctx, r.client, []string{r.prefix + key}, old, value, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: redis compare-and-swap: %w", err)
	}
	return n == 1, nil
}

// addMemberScript keeps a set as a sorted set scored by each member's
// until (Unix ms): it drops the members past now, adds the member, and
// makes the key live as long as its longest-lived member, never shorter.
var addMemberScript = redis.NewScript(`redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[2])
redis.call("ZADD", KEYS[1], ARGV[3], ARGV[1])
local ttl = tonumber(ARGV[3]) - tonumber(ARGV[2])
if redis.call("PTTL", KEYS[1]) < ttl then redis.call("PEXPIRE", KEYS[1], ttl) end
return 1`)

// AddMember implements Store with ZREMRANGEBYSCORE, ZADD and PEXPIRE, in one
// script.
func (r *Redis) AddMember(ctx context.Context, key, member string, now, until time.Time) error {
	err := addMemberScript.Run(ctx, r.client, []string{r.prefix + key}, member, now.UnixMilli(), until.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("store: redis zadd: %w", err)
	}
	return nil
}

// Members implements Store with ZRANGE BYSCORE.
func (r *Redis) Members(ctx context.Context, key string, now time.Time) ([]string, error) {
	v, err := r.client.ZRangeArgs(ctx, redis.ZRangeArgs{Key: r.prefix + key, ByScore: true,
		Start: "(" + strconv.FormatInt(now.UnixMilli(), 10), Stop: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: redis zrange: %w", err)
	}
	return v, nil
}

// RemoveMember implements Store with ZREM.
func (r *Redis) RemoveMember(ctx context.Context, key, member string) error {
	if err := r.client.ZRem(ctx, r.prefix+key, member).Err(); err != nil {
		return fmt.Errorf("store: redis zrem: %w", err)
	}
	return nil
}

// unlockScript deletes the lock only if it still holds our token, so that a
// holder whose lock expired cannot release its successor's.
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// renewScript extends the lock only while it still holds our token.
var renewScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)

// Lock implements Store with SET NX PX of a random token. The lock lives
// LockTTL and is renewed every third of that while its holder runs, so a
// holder that dies (kill -9, a lost connection) leaves it for LockTTL at
// most.
func (r *Redis) Lock(ctx context.Context, key string) (func(), error) {
	var b [16]byte
	rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	k := r.prefix + "lock:" + key
	for {
		ok, err := r.client.SetNX(ctx, k, token, r.lockTTL).Result()
		if err != nil {
			return nil, fmt.Errorf("store: redis lock: %w", err)
		}
		if ok {
			stop := make(chan struct{})
			done := make(chan struct{})
			go r.renew(k, token, stop, done)
			var once sync.Once
			return func() {
				once.Do(func() {
					close(stop)
					<-done
					// A fresh context: release even when the request's has ended.
					c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					defer cancel()
					unlockScript.Run(c, r.client, []string{k}, token)
				})
			}, nil
		}
		select {
		case <-time.After(r.LockRetry):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// renew keeps the lock k alive until stop is closed or the lock is lost.
func (r *Redis) renew(k, token string, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(r.lockTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c, cancel := context.WithTimeout(context.Background(), r.lockTTL/3)
			n, err := renewScript.Run(c, r.client, []string{k}, token, r.lockTTL.Milliseconds()).Int()
			cancel()
			if err == nil && n == 0 {
				return // lost: expired and taken by another holder
			}
		}
	}
}

// Sessions implements Store with scs's goredisstore.
func (r *Redis) Sessions() scs.Store {
	return goredisstore.NewWithPrefix(r.client, r.prefix+"session:")
}

// Close closes the client.
func (r *Redis) Close() error { return r.client.Close() }
