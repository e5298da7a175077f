// Package store holds authflow's shared state in process memory: session
// records, the login spent-list and key, back-channel logout indexes and
// refresh locks. Memory is for one authflow process; for several behind
// one load balancer, package store/redisstore keeps the same state in
// Redis (single, Sentinel or Cluster).
//
// The interfaces these stores satisfy are defined by their consumer,
// package server (server.Store and its optional capabilities); this
// package only provides implementations and the ErrNotFound they share.
package store
