package strategies

import (
	"regexp"
	"slices"
	"strings"
)

// reservedRoutes are the paths authflow's server answers itself (server/doc.go);
// {strategy} stands for any one path segment. No redirect_path may take
// one: the callback would shadow the route or the route the callback.
// /metrics is one wherever metrics are served: authflow serve mounts it
// beside the server unless metrics.addr moves it, a setting the strategy
// file does not know.
var reservedRoutes = []string{
	"/",
	"/healthz",
	"/metrics",
	"/auth/login",
	"/auth/session",
	"/auth/refresh",
	"/auth/signout",
	"/auth/verify",
	"/auth/token",
	"/auth/{strategy}/login",
	"/auth/{strategy}/backchannel-logout",
	"/.well-known/jwks.json",
}

// ReservedRoutes returns the paths of authflow's own routes, which no
// redirect_path may take; "{strategy}" stands for any one path segment.
func ReservedRoutes() []string { return slices.Clone(reservedRoutes) }

// reservedRoute returns the reserved route that path is, or "".
func reservedRoute(path string) string {
	segs := strings.Split(path, "/")
	for _, route := range reservedRoutes {
		rs := strings.Split(route, "/")
		if len(rs) != len(segs) {
			continue
		}
		match := true
		for i := range rs {
			if rs[i] != segs[i] && !(rs[i] == "{strategy}" && segs[i] != "") {
				match = false
				break
			}
		}
		if match {
			return route
		}
	}
	return ""
}

// pathSegment is one segment of a redirect_path: RFC 3986 pchar without
// percent-encoding, which would make the path the IdP redirects to and the
// route differ in spelling.
var pathSegment = regexp.MustCompile(`^[A-Za-z0-9._~!$&'()*+,;=:@-]+$`)

// checkRedirectPath reports a redirect_path that is not a plain absolute
// path, or that is one of authflow's own routes. That two strategies share
// one is checked across the file (see parse).
func checkRedirectPath(r *reporter, st *Strategy) {
	p := st.RedirectPath
	if !strings.HasPrefix(p, "/") {
		r.errorf(st.Name, "", "redirect_path", "must be a path starting with '/'")
		return
	}
	if p != "/" {
		for _, seg := range strings.Split(p[1:], "/") {
			if seg == "." || seg == ".." || !pathSegment.MatchString(seg) {
				r.errorf(st.Name, "", "redirect_path", "%q: must be a plain path, like /auth/%s/callback: segments of letters, digits and -._~!$&'()*+,;=:@, none empty, \".\" or \"..\", no trailing '/', no query", p, st.Name)
				return
			}
		}
	}
	if route := reservedRoute(p); route != "" {
		r.errorf(st.Name, "", "redirect_path", "%q is authflow's own route (%s): choose another path, such as the default /auth/%s/callback", p, route, st.Name)
	}
}
