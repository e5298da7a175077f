// Package e2e holds authflow's end-to-end tests against real third-party
// components, with the demo (package demo) as authflow and identity provider:
//
//   - browser_test.go drives headless Chromium through the demo: home page,
//     chooser, the IdP's login form, the protected page, sign-out, for both
//     demo strategies, and saves a screenshot of each step;
//   - nginx_test.go puts the demo behind a real nginx configured for
//     forward-auth (auth_request) as docs/forward-auth.md describes, in front
//     of a small application that echoes the X-Auth-* headers it receives.
//
// The tests need /usr/bin/chromium (or chromium on PATH) and nginx with the
// auth_request module (scripts/test-deps.sh installs both from Debian's
// packages). When one is missing its test is skipped on a developer's
// machine and fails when CI=true: CI must not skip silently.
//
// Screenshots go to $AUTHFLOW_SCREENSHOTS, else to authflow-screenshots in
// the system's temporary directory; the test prints where.
package e2e
