// Package store keeps authflow's server-side state: the pending logins
// (single-use, short-lived), the session records that hold each session's
// tokens, and the locks that make a session refresh happen once across
// every instance. It also hands the scs session manager its store.
//
// Two implementations: Memory, for one process, and Redis, for several
// authflow processes behind one load balancer sharing sessions.
package store
