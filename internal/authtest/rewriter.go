package authtest

import (
	"net/http"
	"sync"
)

// Rewriter rewrites the IdP's answers to requests for one path while a
// rewrite is armed: a man in the middle that a test switches on for one
// login. Its Tamper method is a Bench's Options.Tamper. One rewrite at a
// time: tests that share a Bench and a Rewriter run one after the other.
type Rewriter struct {
	path    string
	mu      sync.Mutex
	fn      func(body []byte) []byte
	applied int
}

// NewRewriter returns a disarmed Rewriter of the answers to path (such as
// "/oauth/token" or "/userinfo").
func NewRewriter(path string) *Rewriter { return &Rewriter{path: path} }

// Arm makes fn rewrite the answers from now on, and resets Applied; nil
// disarms.
func (r *Rewriter) Arm(fn func(body []byte) []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fn, r.applied = fn, 0
}

// Applied returns how many answers the armed rewrite changed.
func (r *Rewriter) Applied() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied
}

// Tamper rewrites body when the rewrite is armed and req is for the path.
func (r *Rewriter) Tamper(req *http.Request, body []byte) []byte {
	if req.URL.Path != r.path {
		return body
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fn == nil {
		return body
	}
	r.applied++
	return r.fn(body)
}
