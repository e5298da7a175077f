package server

import (
	"encoding/json"
	"time"
)

// jsonCodec encodes scs session data as JSON. authflow's scs session holds
// one string (the record id), and scs's default gob codec compiles a type
// decoder on every Decode — about half of a /auth/verify's time
// (BenchmarkVerifyCodec). JSON decodes strings as strings, which is all
// the session ever holds.
type jsonCodec struct{}

type jsonSession struct {
	Deadline time.Time      `json:"deadline"`
	Values   map[string]any `json:"values"`
}

// Encode implements scs.Codec.
func (jsonCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	return json.Marshal(jsonSession{deadline, values})
}

// Decode implements scs.Codec.
func (jsonCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var s jsonSession
	if err := json.Unmarshal(b, &s); err != nil {
		return time.Time{}, nil, err
	}
	if s.Values == nil {
		s.Values = map[string]any{}
	}
	return s.Deadline, s.Values, nil
}
