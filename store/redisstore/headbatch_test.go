package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authflow/authflow/internal/testredis"
	"github.com/authflow/authflow/store"
	"github.com/authflow/authflow/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// roundTrips is a go-redis hook that counts the commands sent alone and the
// pipelines (with the commands in them), and can hold back every GETRANGE
// of a key holding "block" until release is closed.
type roundTrips struct {
	lone, pipes, piped atomic.Int64
	entered            chan string // "cmd" or "pipe", when a blocked round trip starts
	release            chan struct{}
	sawCtx             func(context.Context) // called with a lone command's context
	after              bool                  // hold a blocked command after its reply, not before
}

func newRoundTrips() *roundTrips {
	return &roundTrips{entered: make(chan string, 16), release: make(chan struct{})}
}

func blocked(cmd redis.Cmder) bool {
	args := cmd.Args()
	return cmd.Name() == "getrange" && len(args) > 1 && strings.Contains(fmt.Sprint(args[1]), "block")
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "getrange" {
			h.lone.Add(1)
			if h.sawCtx != nil {
				h.sawCtx(ctx)
			}
		}
		if blocked(cmd) && h.after {
			err := next(ctx, cmd)
			h.entered <- "cmd"
			<-h.release
			return err
		}
		if blocked(cmd) {
			h.entered <- "cmd"
			<-h.release
		}
		return next(ctx, cmd)
	}
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipes.Add(1)
		h.piped.Add(int64(len(cmds)))
		for _, c := range cmds {
			if blocked(c) {
				h.entered <- "pipe"
				<-h.release
				break
			}
		}
		return next(ctx, cmds)
	}
}

// hooked returns a store on mode's Redis with h on its client.
func hooked(t *testing.T, mode redisstore.Mode, h *roundTrips) *redisstore.Store {
	t.Helper()
	s := open(t, mode)
	s.Client().AddHook(h)
	return s
}

// waitQueued waits until n reads of s are queued for a batch.
func waitQueued(t *testing.T, s *redisstore.Store, n int) {
	t.Helper()
	for redisstore.Queued(s) < n {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// TestGetHeadBatches: concurrent GetHeads of different keys each get their
// own key's value, over every topology, in fewer round trips than reads
// (batches sent as pipelines; a Cluster splits them per node).
func TestGetHeadBatches(t *testing.T) {
	for _, mode := range []redisstore.Mode{redisstore.Single, redisstore.Sentinel, redisstore.Cluster} {
		t.Run(string(mode), func(t *testing.T) {
			h := newRoundTrips()
			s := hooked(t, mode, h)
			ctx := context.Background()
			const n = 64
			for i := range n {
				if ok, err := s.SetNew(ctx, fmt.Sprintf("k%d", i), fmt.Appendf(nil, "head-%02d\nbody", i), time.Minute); !ok || err != nil {
					t.Fatal(ok, err)
				}
			}
			h.lone.Store(0)
			for round := 0; h.pipes.Load() == 0; round++ {
				if round == 50 {
					t.Fatalf("no pipeline in 50 rounds of %d concurrent reads", n)
				}
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						<-start
						want := fmt.Sprintf("head-%02d", i)
						if v, err := s.GetHead(ctx, fmt.Sprintf("k%d", i), len(want)); v != want || err != nil {
							t.Errorf("GetHead(k%d) = %q, %v; want %q", i, v, err, want)
						}
					})
				}
				close(start)
				wg.Wait()
				if trips, reads := h.lone.Load()+h.pipes.Load(), int64(n*(round+1)); trips >= reads {
					t.Errorf("round %d: %d round trips for %d reads", round, trips, reads)
				}
			}
		})
	}
}

type ctxKey struct{}

// TestGetHeadLoneSentAtOnce: a read while none is in flight is sent at
// once as a lone command on its caller's context (no queue, no timer, no
// pipeline).
func TestGetHeadLoneSentAtOnce(t *testing.T) {
	h := newRoundTrips()
	var seen atomic.Value
	h.sawCtx = func(ctx context.Context) { seen.Store(ctx.Value(ctxKey{})) }
	s := hooked(t, redisstore.Single, h)
	ctx := context.WithValue(context.Background(), ctxKey{}, "caller")
	if ok, err := s.SetNew(ctx, "k", []byte("head\nbody"), time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	for range 3 {
		if v, err := s.GetHead(ctx, "k", 5); v != "head\n" || err != nil {
			t.Fatalf("GetHead = %q, %v", v, err)
		}
	}
	if lone, pipes := h.lone.Load(), h.pipes.Load(); lone != 3 || pipes != 0 {
		t.Errorf("3 lone reads: %d commands, %d pipelines; want 3, 0", lone, pipes)
	}
	if got := seen.Load(); got != "caller" {
		t.Errorf("the command ran on context value %v, want the caller's", got)
	}
}

// fillSlots starts reads of blocked keys until every round trip slot of s
// is held by one blocked in h, and returns a wait for them.
func fillSlots(t *testing.T, s *redisstore.Store, h *roundTrips, slots int) *sync.WaitGroup {
	t.Helper()
	redisstore.SetHeadSlots(s, slots)
	var wg sync.WaitGroup
	for i := range slots {
		wg.Go(func() { s.GetHead(context.Background(), fmt.Sprintf("block%d", i), 4) })
		<-h.entered
	}
	return &wg
}

// TestGetHeadCancelledInBatch: a queued caller whose context is cancelled
// returns its context's error at once, while the round trips are still
// held; the others queued with it get their values.
func TestGetHeadCancelledInBatch(t *testing.T) {
	h := newRoundTrips()
	s := hooked(t, redisstore.Single, h)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if ok, err := s.SetNew(ctx, k, []byte(k+"-head\nbody"), time.Minute); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	held := fillSlots(t, s, h, 2)
	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { _, err := s.GetHead(cctx, "a", 6); gone <- err }()
	var wg sync.WaitGroup
	for _, k := range []string{"b", "c"} {
		wg.Go(func() {
			if v, err := s.GetHead(ctx, k, 6); v != k+"-head" || err != nil {
				t.Errorf("GetHead(%s) = %q, %v", k, v, err)
			}
		})
	}
	waitQueued(t, s, 3)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v, want context.Canceled", err)
	}
	close(h.release)
	held.Wait()
	wg.Wait()
}

// TestGetHeadErrorsPerCaller: in one batch, a read of a key holding a hash
// (GETRANGE answers WRONGTYPE) fails alone; the others get their values,
// and a missing key is store.ErrNotFound.
func TestGetHeadErrorsPerCaller(t *testing.T) {
	for _, mode := range []redisstore.Mode{redisstore.Single, redisstore.Cluster} {
		t.Run(string(mode), func(t *testing.T) {
			h := newRoundTrips()
			s := hooked(t, mode, h)
			ctx := context.Background()
			for _, k := range []string{"a", "c"} {
				if ok, err := s.SetNew(ctx, k, []byte(k+"-head\nbody"), time.Minute); !ok || err != nil {
					t.Fatal(ok, err)
				}
			}
			if err := s.Client().HSet(ctx, redisstore.Key(s, "b"), "f", "v").Err(); err != nil {
				t.Fatal(err)
			}
			held := fillSlots(t, s, h, 1)
			type result struct {
				v   string
				err error
			}
			results := map[string]chan result{}
			for _, k := range []string{"a", "b", "c", "missing"} {
				results[k] = make(chan result, 1)
				go func() { v, err := s.GetHead(ctx, k, 6); results[k] <- result{v, err} }()
			}
			waitQueued(t, s, 4)
			pipes := h.pipes.Load()
			close(h.release)
			held.Wait()
			for _, k := range []string{"a", "c"} {
				if r := <-results[k]; r.v != k+"-head" || r.err != nil {
					t.Errorf("GetHead(%s) = %q, %v", k, r.v, r.err)
				}
			}
			if r := <-results["b"]; r.err == nil || !strings.Contains(r.err.Error(), "WRONGTYPE") || r.v != "" {
				t.Errorf("GetHead(b) of a hash = %q, %v; want a WRONGTYPE error", r.v, r.err)
			}
			if r := <-results["missing"]; !errors.Is(r.err, store.ErrNotFound) {
				t.Errorf("GetHead(missing) = %q, %v; want store.ErrNotFound", r.v, r.err)
			}
			if h.pipes.Load() == pipes {
				t.Error("the 4 queued reads were not sent as a pipeline")
			}
		})
	}
}

// TestCloseEndsBatches: Close fails the reads still queued, waits for a
// running batch, and leaves no goroutine of the batcher.
func TestCloseEndsBatches(t *testing.T) {
	h := newRoundTrips()
	s := hooked(t, redisstore.Single, h)
	ctx := context.Background()
	held := fillSlots(t, s, h, 2)
	var batch sync.WaitGroup
	for i := range 3 {
		batch.Go(func() { s.GetHead(ctx, fmt.Sprintf("block-b%d", i), 4) })
	}
	waitQueued(t, s, 3)
	h.release <- struct{}{} // one lone read ends: the 3 queued go out as a batch
	if got := <-h.entered; got != "pipe" {
		t.Fatalf("after a lone read ended: %s, want a pipeline", got)
	}
	queued := make(chan error, 2)
	for range 2 {
		go func() { _, err := s.GetHead(ctx, "x", 4); queued <- err }()
	}
	waitQueued(t, s, 2)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for range 2 {
		if err := <-queued; err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("a read queued at Close: %v, want the store closed", err)
		}
	}
	close(h.release)
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	held.Wait()
	batch.Wait()
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "headBatcher") {
		t.Errorf("a batcher goroutine outlived Close:\n%s", stacks)
	}
	if _, err := s.GetHead(ctx, "x", 4); err == nil {
		t.Error("GetHead after Close succeeded")
	}
}

// TestGetHeadBatchAfterConnectionsClosed: a batch sent after Redis closed
// every connection of the pool (more than go-redis's own retries, 3) still
// gets every value: a pipeline that fails on a dead connection is sent
// again whole (retryClosedConns), as a lone command is.
func TestGetHeadBatchAfterConnectionsClosed(t *testing.T) {
	name := strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000")
	s, err := redisstore.Open(t.Context(), redisstore.Options{URL: testredis.URL(t) + "?client_name=" + name + "&min_idle_conns=16",
		Prefix: "authflow-test:" + name + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h := newRoundTrips()
	h.after = true
	s.Client().AddHook(h)
	redisstore.SetHeadSlots(s, 1)
	ctx := context.Background()
	const n = 32
	for i := range n {
		if ok, err := s.SetNew(ctx, fmt.Sprintf("k%d", i), fmt.Appendf(nil, "head-%02d\nbody", i), time.Minute); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	admin, _ := testredis.Client(t)
	// More idle connections than go-redis retries a command on.
	list := fillPool(t, s, admin, name, "k0", 8)
	// The one round trip slot is held by a read that has had its reply;
	// the others queue behind it.
	held := make(chan struct{})
	go func() { s.GetHead(ctx, "block", 4); close(held) }()
	<-h.entered
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			want := fmt.Sprintf("head-%02d", i)
			if v, err := s.GetHead(ctx, fmt.Sprintf("k%d", i), len(want)); v != want || err != nil {
				t.Errorf("GetHead(k%d) after the connections were closed = %q, %v", i, v, err)
			}
		})
	}
	waitQueued(t, s, n)
	if killed := killConns(t, admin, name, list); killed < 5 {
		t.Fatalf("killed %d connections, want more than go-redis retries on", killed)
	}
	pipes := h.pipes.Load()
	close(h.release)
	<-held
	wg.Wait()
	if h.pipes.Load() == pipes {
		t.Error("the queued reads did not go out as a pipeline")
	}
}
