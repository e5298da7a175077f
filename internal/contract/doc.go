// Package contract holds the offline contract test of the built-in
// providers (mock_strategies.json): each built-in's whole plan — the
// authorize redirect, the callback's steps, refresh, revoke and the logout
// redirect — runs against an httptest server that answers as the provider
// documents and checks what the provider requires: the paths, the client
// authentication method, PKCE or not, the required parameters.
//
// The expectations are not derived from the catalogue. Each provider has a
// file testdata/contracts/NAME.json at the repository root, written from the
// provider's documentation (its sources are listed in the file), which
// describes the requests the provider accepts and the answers it gives, and
// the strategy a user writes for it. The test rewrites every host to the
// httptest server, so the built-in's real URLs are exercised.
//
// The test also compares `authflow explain` of each contract's strategy with
// testdata/explain/NAME.golden (go test ./internal/contract -update rewrites
// them), so that any change to a built-in shows in review. Adding a built-in
// is adding its contract file (and running -update once for its golden); the
// test fails for a built-in without one. TestContractCatchesMistakes shows
// that a contract fails when a built-in sends the wrong client
// authentication, leaves out a required parameter, or calls the wrong path.
//
// A contract may also say that the provider POSTs the callback as a form
// (callback_mode form_post: the login then runs through the server too,
// formpost_test.go), that the client secret is a JWT the client signs with
// a key the test makes and gives in the environment (signed_secret,
// env_keys: signedsecret_test.go), and which other ID tokens the provider
// may issue, each of which must fail the login or give the claims named
// (id_token_variants: variants_test.go).
//
// The file format is described on the contract type in contract_test.go.
package contract
