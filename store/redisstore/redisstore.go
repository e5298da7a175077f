// Package redisstore keeps authflow's shared state (sessions, the login
// key and spent-list, refresh locks) in Redis: a single server, a primary
// found through Sentinel, or a Cluster.
//
// Every command touches a single key. Writes (SET NX, the compare-and-swap
// script, DEL, locks) are sent alone, one command each. GetHead, the read
// of every forward-auth check, batches: a read goes out at once when fewer
// than two round trips are in flight, after one yield of the goroutine
// that lets the checks already runnable queue theirs (alone, it is sent as
// a lone command on its caller's context, with no timer); the reads that
// queue while Redis is busy go out together as one pipeline of at most
// 128 when a round trip ends (a Cluster splits it per node). A pipeline
// runs with a timeout of its own (the client's read timeout); each caller
// waits for its own reply, or its own context's end, and a command that
// fails in a pipeline fails its own caller only. Under load this turns a
// write and a read of the socket per check into one per batch, which is
// most of a check's CPU over Redis. See headBatcher.
package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/authflow/authflow/store"
	"github.com/redis/go-redis/v9"
)

// Store keeps authflow's shared state in Redis, for every authflow process
// that uses the same Redis and prefix. Every command and script touches a
// single key, so the store works unchanged on Redis Cluster. Locks are SET
// NX PX with a random token, renewed while held and released only by their
// holder.
type Store struct {
	client redis.UniversalClient
	prefix string
	// LockRetry is the wait between two attempts to take a held lock.
	LockRetry time.Duration
	lockTTL   time.Duration // store.LockTTL; shorter in tests
	heads     *headBatcher  // GetHead's reads
}

// New returns a Store over client (a *redis.Client, a failover client for
// Sentinel, or a *redis.ClusterClient); every key it writes starts with
// prefix (default "authflow:").
func New(client redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = "authflow:"
	}
	return &Store{client: client, prefix: prefix, LockRetry: 20 * time.Millisecond, lockTTL: store.LockTTL,
		heads: newHeadBatcher(client)}
}

// Mode names how authflow reaches Redis.
type Mode string

// The modes of Options.Mode.
const (
	// Single is one Redis server: URL is redis://[user:pass@]host:port/db.
	Single Mode = "single"
	// Sentinel is a primary found through Sentinel: URL is
	// redis://[user:pass@]SENTINEL:PORT?master_name=NAME&addr=SENTINEL2:PORT…
	Sentinel Mode = "sentinel"
	// Cluster is a Redis Cluster: URL is
	// redis://[user:pass@]NODE:PORT?addr=NODE2:PORT&addr=NODE3:PORT…
	Cluster Mode = "cluster"
)

// Options configures Open.
type Options struct {
	// URL is the Redis URL, in the form of Mode (go-redis's ParseURL,
	// ParseFailoverURL or ParseClusterURL).
	URL string
	// Mode is Single (default), Sentinel or Cluster.
	Mode Mode
	// Prefix starts every key; default "authflow:".
	Prefix string
}

// Open connects to Redis as o says and checks the connection with PING.
// Errors name the addresses, never a password.
func Open(ctx context.Context, o Options) (*Store, error) {
	client, addrs, err := newClient(o)
	if err != nil {
		return nil, err
	}
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redisstore: redis at %s: %w", addrs, err)
	}
	return New(client, o.Prefix), nil
}

// resp2 is the protocol the clients speak: authflow needs nothing of RESP3,
// and with RESP2 go-redis skips looking for push notifications before
// every reply (7% of a forward-auth check's CPU).
const resp2 = 2

// plainConn is a TCP connection that hides its file descriptor from
// go-redis. go-redis peeks at the socket of every connection it takes from
// its pool (clearing its deadlines, then a recvfrom with MSG_PEEK: 11% of a
// forward-auth check's CPU under load) to find connections the server has
// closed, and RESP3 push notifications. authflow speaks RESP2, so there are
// no pushes; and it skips the peek for connections that are not
// syscall.Conn, as go-redis always has for TLS ones. A connection the
// server closed (a restart, Redis's timeout, a proxy's idle timeout) is
// then found when a command on it fails with EOF or a reset: see
// retryClosedConns.
type plainConn struct{ net.Conn }

// retryClosedConns is a go-redis hook that sends a command again, up to
// tries times, while it fails on a connection the server had closed.
// go-redis drops such a connection and retries on another by itself, but
// MaxRetries times only (3), so a pool of idle connections all closed at
// once would fail a few commands before it is clear. A command that fails
// so was never read by Redis (the connection was closed before it was
// sent) and is safe to send again; one whose connection broke after Redis
// ran it is sent again by go-redis's own retries as well.
type retryClosedConns struct{ tries int }

// closedConn reports whether err is a connection the server had closed.
func closedConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (h retryClosedConns) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h retryClosedConns) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		for i := 1; i < h.tries && closedConn(err) && ctx.Err() == nil; i++ {
			err = next(ctx, cmd)
		}
		return err
	}
}
func (h retryClosedConns) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	// authflow's only pipelines are GetHead's batched reads (headBatcher),
	// safe to send again whole.
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for i := 1; i < h.tries && anyClosedConn(cmds) && ctx.Err() == nil; i++ {
			err = next(ctx, cmds)
		}
		return err
	}
}

// anyClosedConn reports whether a command of cmds failed on a connection
// the server had closed.
func anyClosedConn(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if closedConn(c.Err()) {
			return true
		}
	}
	return false
}

// dialer is go-redis's own dialer (its timeout, keep-alive and TLS),
// making plainConns.
func dialer(timeout time.Duration, tlsConfig *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if timeout <= 0 {
		timeout = 5 * time.Second // go-redis's default
	}
	dial := redis.NewDialer(&redis.Options{DialTimeout: timeout, TLSConfig: tlsConfig})
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return plainConn{c}, nil
	}
}

// withRetries adds retryClosedConns to c, whose pools hold poolSize
// connections each (go-redis's default when 0: 10 per GOMAXPROCS).
func withRetries(c redis.UniversalClient, poolSize int) redis.UniversalClient {
	if poolSize <= 0 {
		poolSize = 10 * runtime.GOMAXPROCS(0)
	}
	c.AddHook(retryClosedConns{tries: poolSize + 1})
	return c
}

func newClient(o Options) (redis.UniversalClient, string, error) {
	switch o.Mode {
	case "", Single:
		opts, err := redis.ParseURL(o.URL)
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: redis url: %w", err)
		}
		opts.Protocol = resp2
		opts.Dialer = dialer(opts.DialTimeout, opts.TLSConfig)
		return withRetries(redis.NewClient(opts), opts.PoolSize), opts.Addr, nil
	case Sentinel:
		opts, err := redis.ParseFailoverURL(o.URL)
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: redis sentinel url: %w", err)
		}
		if opts.MasterName == "" {
			return nil, "", errors.New("redisstore: redis sentinel url: no master_name parameter")
		}
		opts.Protocol = resp2
		opts.Dialer = dialer(opts.DialTimeout, opts.TLSConfig)
		return withRetries(redis.NewFailoverClient(opts), opts.PoolSize), "sentinels " + strings.Join(opts.SentinelAddrs, ","), nil
	case Cluster:
		opts, err := redis.ParseClusterURL(o.URL)
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: redis cluster url: %w", err)
		}
		opts.Protocol = resp2
		opts.Dialer = dialer(opts.DialTimeout, opts.TLSConfig)
		return withRetries(redis.NewClusterClient(opts), opts.PoolSize), "cluster " + strings.Join(opts.Addrs, ","), nil
	}
	return nil, "", fmt.Errorf("redisstore: redis mode %q: want single, sentinel or cluster", o.Mode)
}

// Client returns the underlying client.
func (r *Store) Client() redis.UniversalClient { return r.client }

// Get implements server.Store.
func (r *Store) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := r.client.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: redis get: %w", err)
	}
	return v, nil
}

// GetString implements server.StringGetter, the session read of every
// forward-auth check: a GET whose value is returned as go-redis read it,
// with no copy.
//
// (go-redis's AutoPipeline, which sends the GETs of concurrent checks as
// one pipeline, cut authflow's CPU per check under load by a further
// 10–20% in bench/forwardauth, but it is marked experimental, runs queued
// commands on its own context rather than the request's, and added about
// 25 µs to a lone check's latency; it is not used.)
func (r *Store) GetString(ctx context.Context, key string) (string, error) {
	v, err := r.client.Get(ctx, r.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("redisstore: redis get: %w", err)
	}
	return v, nil
}

// GetHead implements server.HeadGetter: the first n bytes of the value
// (GETRANGE key 0 n-1), one command, for a check that needs only a
// record's head; store.ErrNotFound when there is no value (GETRANGE
// answers "" for a missing key, and no stored value is empty). Reads that
// arrive while Redis is busy are sent together as one pipeline: see
// headBatcher.
func (r *Store) GetHead(ctx context.Context, key string, n int) (string, error) {
	if n <= 0 {
		return "", fmt.Errorf("redisstore: get head: %d bytes", n)
	}
	var v string
	var err error
	if r.heads != nil {
		v, err = r.heads.get(ctx, r.prefix+key, int64(n-1))
	} else {
		v, err = r.client.GetRange(ctx, r.prefix+key, 0, int64(n-1)).Result()
	}
	if err != nil {
		return "", fmt.Errorf("redisstore: redis getrange: %w", err)
	}
	if v == "" {
		return "", store.ErrNotFound
	}
	return v, nil
}

// Delete implements server.Store.
func (r *Store) Delete(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.prefix+key).Err(); err != nil {
		return fmt.Errorf("redisstore: redis del: %w", err)
	}
	return nil
}

// SetNew implements server.Store with SET NX.
func (r *Store) SetNew(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	ok, err := r.client.SetNX(ctx, r.prefix+key, value, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: redis setnx: %w", err)
	}
	return ok, nil
}

// casScript swaps the value only if it is the expected one.
var casScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3]) return 1 end
return 0`)

// CompareAndSwap implements server.Store with a GET-compare-SET script.
func (r *Store) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	n, err := casScript.Run(ctx, r.client, []string{r.prefix + key}, old, value, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: redis compare-and-swap: %w", err)
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

// AddMember implements server.Store with ZREMRANGEBYSCORE, ZADD and PEXPIRE, in one
// script.
func (r *Store) AddMember(ctx context.Context, key, member string, now, until time.Time) error {
	err := addMemberScript.Run(ctx, r.client, []string{r.prefix + key}, member, now.UnixMilli(), until.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("redisstore: redis zadd: %w", err)
	}
	return nil
}

// Members implements server.Store with ZRANGE BYSCORE.
func (r *Store) Members(ctx context.Context, key string, now time.Time) ([]string, error) {
	v, err := r.client.ZRangeArgs(ctx, redis.ZRangeArgs{Key: r.prefix + key, ByScore: true,
		Start: "(" + strconv.FormatInt(now.UnixMilli(), 10), Stop: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: redis zrange: %w", err)
	}
	return v, nil
}

// RemoveMember implements server.Store with ZREM.
func (r *Store) RemoveMember(ctx context.Context, key, member string) error {
	if err := r.client.ZRem(ctx, r.prefix+key, member).Err(); err != nil {
		return fmt.Errorf("redisstore: redis zrem: %w", err)
	}
	return nil
}

// unlockScript deletes the lock only if it still holds our token, so that a
// holder whose lock expired cannot release its successor's.
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// renewScript extends the lock only while it still holds our token.
var renewScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)

// Lock implements server.Store with SET NX PX of a random token. The lock lives
// LockTTL and is renewed every third of that while its holder runs, so a
// holder that dies (kill -9, a lost connection) leaves it for LockTTL at
// most.
func (r *Store) Lock(ctx context.Context, key string) (func(), error) {
	var b [16]byte
	rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	k := r.prefix + "lock:" + key
	for {
		ok, err := r.client.SetNX(ctx, k, token, r.lockTTL).Result()
		if err != nil {
			return nil, fmt.Errorf("redisstore: redis lock: %w", err)
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
func (r *Store) renew(k, token string, stop <-chan struct{}, done chan<- struct{}) {
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

// Close closes the client, fails the reads still queued for a batch, and
// returns when no batch is running.
func (r *Store) Close() error {
	if r.heads == nil {
		return r.client.Close()
	}
	return r.heads.close(r.client.Close)
}
