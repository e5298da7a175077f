package redisstore

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The batcher's bounds: round trips in flight at once, and commands in one
// pipeline.
const (
	headSlots    = 2
	headMaxBatch = 128
)

// errClosed is a read queued when the store was closed.
var errClosed = errors.New("redisstore: store closed")

// headBatcher sends GetHead's GETRANGEs, batching the reads of checks
// that run at the same time, so that under load one write and one read of
// the connection (and one wake-up of the goroutine) serve many checks.
//
// A read joins a queue. While fewer than slots round trips are in flight,
// the read leads: it yields once (runtime.Gosched), so that the goroutines
// already runnable (checks whose requests arrived with it) queue their
// reads too, then takes the queue. Alone, it is sent at once as a lone
// command on its caller's goroutine and context, as without the batcher:
// the yield returns immediately when nothing else is runnable, and there
// is no timer. With others, the queue (up to maxBatch reads) goes out as
// one pipeline. While slots round trips are in flight, reads wait in the
// queue, and when a round trip ends, the reads queued meanwhile go out as
// the next pipeline. A pipeline runs on a goroutine of the batcher, with a
// context of its own bounded by timeout (the client's read timeout), so no
// caller's cancellation fails the others; each queued caller waits for its
// own reply or its own context, whichever comes first. Each command of a
// pipeline holds its own reply or error, so an error (a connection that
// broke mid-batch, a key of the wrong type) is the error of the reads it
// hit and never another read's value.
type headBatcher struct {
	client   redis.UniversalClient
	timeout  time.Duration
	slots    int
	maxBatch int

	mu       sync.Mutex
	inFlight int         // round trips in flight, direct and batched
	queue    []*headCall // reads waiting for a round trip to end
	closed   bool
	running  sync.WaitGroup // the batch goroutines
}

// headCall is one queued read; cmd is set before done is closed.
type headCall struct {
	ctx  context.Context
	key  string
	end  int64
	cmd  *redis.StringCmd
	done chan struct{}
}

func newHeadBatcher(client redis.UniversalClient) *headBatcher {
	return &headBatcher{client: client, timeout: readTimeout(client), slots: headSlots, maxBatch: headMaxBatch}
}

// readTimeout is c's read timeout (go-redis's default, 3s, when it has
// none).
func readTimeout(c redis.UniversalClient) time.Duration {
	var d time.Duration
	switch c := c.(type) {
	case *redis.Client:
		d = c.Options().ReadTimeout
	case *redis.ClusterClient:
		d = c.Options().ReadTimeout
	}
	if d <= 0 {
		d = 3 * time.Second
	}
	return d
}

// get returns GETRANGE key 0 end.
func (b *headBatcher) get(ctx context.Context, key string, end int64) (string, error) {
	c := &headCall{ctx: ctx, key: key, end: end, done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return "", errClosed
	}
	b.queue = append(b.queue, c)
	lead := b.inFlight < b.slots
	if lead {
		b.inFlight++
	}
	b.mu.Unlock()
	if lead {
		// Let the goroutines that are ready to run (other checks, whose
		// requests arrived with this one) queue their reads first: on a
		// busy core they go out with this one. Alone, this returns at
		// once.
		runtime.Gosched()
		b.mu.Lock()
		batch := b.take()
		switch {
		case batch == nil: // this read went out with another's batch
			b.inFlight--
			b.mu.Unlock()
		case len(batch) == 1 && batch[0] == c: // alone: sent as a command on the caller's context
			b.mu.Unlock()
			v, err := b.client.GetRange(ctx, key, 0, end).Result()
			b.release()
			return v, err
		default:
			b.running.Add(1)
			b.mu.Unlock()
			go b.run(batch)
		}
	}
	select {
	case <-c.done:
		return c.cmd.Result()
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// release ends a lone round trip: its slot goes to the reads queued
// meanwhile, if any, on a new batch goroutine.
func (b *headBatcher) release() {
	b.mu.Lock()
	batch := b.take()
	if batch == nil {
		b.inFlight--
		b.mu.Unlock()
		return
	}
	b.running.Add(1)
	b.mu.Unlock()
	go b.run(batch)
}

// take removes the next batch from the queue (nil: none, or closed); b.mu
// is held.
func (b *headBatcher) take() []*headCall {
	if len(b.queue) == 0 || b.closed {
		return nil
	}
	if len(b.queue) <= b.maxBatch {
		batch := b.queue
		b.queue = nil
		return batch
	}
	batch := slices.Clone(b.queue[:b.maxBatch])
	b.queue = slices.Clone(b.queue[b.maxBatch:])
	return batch
}

// run sends batch, then the batches queued meanwhile, until the queue is
// empty; it then gives its slot back.
func (b *headBatcher) run(batch []*headCall) {
	defer b.running.Done()
	for batch != nil {
		b.send(batch)
		b.mu.Lock()
		if batch = b.take(); batch == nil {
			b.inFlight--
		}
		b.mu.Unlock()
	}
}

// send runs batch as one pipeline (one command alone: as a command), then
// wakes its callers. Reads whose callers have gone are not sent.
func (b *headBatcher) send(batch []*headCall) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	live := batch[:0:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.cmd = redis.NewStringResult("", err)
			continue
		}
		live = append(live, c)
	}
	switch len(live) {
	case 0:
	case 1:
		live[0].cmd = b.client.GetRange(ctx, live[0].key, 0, live[0].end)
	default:
		pipe := b.client.Pipeline()
		for _, c := range live {
			c.cmd = pipe.GetRange(ctx, c.key, 0, c.end)
		}
		pipe.Exec(ctx) // each command holds its own reply or error
	}
	for _, c := range batch {
		close(c.done)
	}
}

// close fails the queued reads with errClosed and waits for the batch
// goroutines to end (the client is closed by then, so they end at once).
func (b *headBatcher) close(closeClient func() error) error {
	b.mu.Lock()
	b.closed = true
	queued := b.queue
	b.queue = nil
	b.mu.Unlock()
	for _, c := range queued {
		c.cmd = redis.NewStringResult("", errClosed)
		close(c.done)
	}
	err := closeClient()
	b.running.Wait()
	return err
}
