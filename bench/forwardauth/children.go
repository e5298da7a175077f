package main

// The hidden subcommands: the bench re-runs its own binary as these child
// processes, each pinned to a core by taskset, so that the CPU each one
// spends can be read from its own /proc/PID/stat.
//
//	forwardauth child floor          the floor: a bare net/http handler
//	forwardauth child idp -redirect  a development OpenID provider (devidp)
//
// A child prints one line on stdout when it is ready ("ADDR host:port" or
// "ISSUER url") and runs until it is signalled or its stdin closes.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/authflow/authflow/devidp"
)

// childMain runs the child named by args[0] and returns its exit code.
func childMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "forwardauth child: want floor or idp")
		return 2
	}
	var err error
	switch args[0] {
	case "floor":
		err = runFloor(args[1:])
	case "idp":
		err = runIdP(args[1:])
	default:
		err = fmt.Errorf("unknown child %q", args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "forwardauth child:", err)
		return 1
	}
	return 0
}

// floorUser is the identity the floor answers with.
const floorUser = "bench-user-1"

// floorHandler is the floor: what any forward-auth answer costs at least,
// a 200 with one identity header and no work behind it.
func floorHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Auth-User", floorUser)
	w.WriteHeader(http.StatusOK)
}

// runFloor serves floorHandler on a free loopback port.
func runFloor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	go exitOnEOF(os.Stdin)
	srv := &http.Server{Handler: http.HandlerFunc(floorHandler), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// exitOnEOF ends the process when r (the parent's pipe) closes, so that a
// child never outlives the bench.
func exitOnEOF(r io.Reader) {
	io.Copy(io.Discard, r)
	os.Exit(0)
}

// The bench's OpenID client and user at the development IdP.
const (
	benchClientID = "bench"
	benchUsername = "bench"
	benchPassword = "bench-password"
	// secretEnv passes the client secret to the IdP child and to authflow,
	// which reads it with ${env.BENCH_CLIENT_SECRET}.
	secretEnv = "BENCH_CLIENT_SECRET"
	// benchAPIClient is the API client of the bearer target: it gets JWT
	// access tokens, with aud benchAPIClient.
	benchAPIClient   = "bench-api"
	benchAPIRedirect = "http://127.0.0.1:9/bench-api/callback" // never requested
)

// benchUser signs in at the IdP: a user with email and groups, so that
// verify sets every X-Auth-* header.
var benchUser = devidp.User{ID: floorUser, Username: benchUsername, Password: benchPassword,
	Email: "bench@example.test", EmailVerified: true, Name: "Bench User", Groups: []string{"admins", "devs"}}

// runIdP serves a devidp Provider on a free loopback port, then answers
// commands on stdin, one per line:
//
//	LOGIN http://127.0.0.1:PORT   sign in at that authflow; answers "COOKIE name=value" or "ERROR ..."
//	TOKEN                         a JWT access token of the API client; answers "TOKEN jwt" or "ERROR ..."
//
// -redirect lists the authflow callback URLs to register, comma-separated.
func runIdP(args []string) error {
	fs := flag.NewFlagSet("idp", flag.ContinueOnError)
	redirects := fs.String("redirect", "", "comma-separated redirect URIs of the bench client")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	issuer := "http://" + ln.Addr().String()
	idp, err := devidp.New(devidp.Options{
		Issuer: issuer,
		// Long-lived access tokens: no refresh happens during a run.
		AccessTokenLifetime: 24 * time.Hour,
		Clients: []devidp.Client{{ID: benchClientID, Secret: os.Getenv(secretEnv),
			RedirectURIs: strings.Split(*redirects, ",")},
			{ID: benchAPIClient, Secret: os.Getenv(secretEnv), RedirectURIs: []string{benchAPIRedirect}, AccessTokenJWT: true}},
		Users: []devidp.User{benchUser},
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: idp, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Printf("ISSUER %s\n", issuer)

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		if cmd == "TOKEN" {
			tok, err := apiAccessToken(idp, issuer)
			if err != nil {
				fmt.Printf("ERROR %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
				continue
			}
			fmt.Printf("TOKEN %s\n", tok)
			continue
		}
		if cmd != "LOGIN" {
			fmt.Printf("ERROR unknown command %q\n", cmd)
			continue
		}
		cookie, err := login(idp, arg)
		if err != nil {
			fmt.Printf("ERROR %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Printf("COOKIE %s=%s\n", cookie.Name, cookie.Value)
	}
	return nil // stdin closed: the bench is done
}

// sessionCookie is authflow's default session cookie name.
const sessionCookie = "authflow_session"

// login runs one real login at the authflow on base, as a browser would:
// /auth/bench/login, the IdP's login form, the callback. It returns the
// session cookie the callback set.
func login(idp *devidp.Provider, base string) (*http.Cookie, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	// authflow's answers are read one hop at a time.
	noFollow := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	authorize, err := redirectOf(ctx, noFollow, base+"/auth/"+benchClientID+"/login")
	if err != nil {
		return nil, err
	}
	callback, err := idp.Login(ctx, browser, authorize, benchUsername, benchPassword)
	if err != nil {
		return nil, err
	}
	if _, err := redirectOf(ctx, noFollow, callback.String()); err != nil {
		return nil, fmt.Errorf("callback: %w", err)
	}
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c, nil
		}
	}
	return nil, errors.New("the callback set no session cookie")
}

// redirectOf GETs target and returns the Location of its 302.
func redirectOf(ctx context.Context, c *http.Client, target string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("GET %s: %s: %s", target, resp.Status, body)
	}
	return resp.Header.Get("Location"), nil
}

// randomSecret returns a fresh client secret for one run.
func randomSecret() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// apiAccessToken runs the API client's code flow at the IdP (the login
// form, then the token endpoint) and returns its JWT access token.
func apiAccessToken(idp *devidp.Provider, issuer string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	verifier := randomSecret() + randomSecret()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {benchAPIClient}, "redirect_uri": {benchAPIRedirect},
		"scope": {"openid email profile groups"}, "state": {randomSecret()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	callback, err := idp.Login(ctx, browser, issuer+"/authorize?"+q.Encode(), benchUsername, benchPassword)
	if err != nil {
		return "", err
	}
	code := callback.Query().Get("code")
	if code == "" {
		return "", fmt.Errorf("no code in the callback: %s", callback.Query().Get("error"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {benchAPIRedirect}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(benchAPIClient, url.QueryEscape(os.Getenv(secretEnv)))
	resp, err := browser.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var answer struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK || answer.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: %s (%v)", resp.Status, err)
	}
	return answer.AccessToken, nil
}
