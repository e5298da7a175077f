package server

import "context"

// CountIndexed returns how many sessions the back-channel index of sub in
// strategy names, as a logout by sub would find them.
func CountIndexed(ctx context.Context, s *Server, strategy, sub string) (int, error) {
	ids, err := s.index.Members(ctx, subIndexKey(strategy, sub), s.cfg.Now())
	return len(ids), err
}
