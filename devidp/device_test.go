package devidp_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/authflow/authflow/devidp"
	"github.com/authflow/authflow/internal/authtest"
)

// TestClientCredentials: a confidential client gets a token for itself,
// which introspection answers active with the client as sub; a public
// client and a wrong secret get none.
func TestClientCredentials(t *testing.T) {
	t.Parallel()
	i := start(t, nil)
	status, tok := i.postForm("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"groups"}}, webAuth)
	if status != 200 || str(tok, "access_token") == "" || str(tok, "refresh_token") != "" || str(tok, "id_token") != "" {
		t.Fatalf("client_credentials: %d %v", status, tok)
	}
	status, info := i.postForm("/oauth/introspect", url.Values{"token": {str(tok, "access_token")}}, webAuth)
	if status != 200 || info["active"] != true || str(info, "sub") != webClient || str(info, "client_id") != webClient {
		t.Fatalf("introspection: %d %v", status, info)
	}
	for name, c := range map[string]clientAuth{
		"public client": spaAuth,
		"wrong secret":  {id: webClient, secret: "nope", method: "basic"},
	} {
		if status, body := i.postForm("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c); status < 400 {
			t.Errorf("%s: %d %v, want a refusal", name, status, body)
		}
	}
}

// deviceStart asks for a device code.
func deviceStart(t *testing.T, i *idp, c clientAuth) map[string]any {
	t.Helper()
	status, da := i.postForm("/device_authorization", url.Values{"scope": {"openid email profile"}, "client_id": {c.id}}, c)
	if status != 200 || str(da, "device_code") == "" || str(da, "user_code") == "" || str(da, "verification_uri_complete") == "" {
		t.Fatalf("device authorization: %d %v", status, da)
	}
	return da
}

func devicePoll(i *idp, da map[string]any, c clientAuth) (int, map[string]any) {
	return i.postForm("/oauth/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {str(da, "device_code")}}, c)
}

// TestDeviceAuthorization: pending until the user approves on the
// verification page, then tokens once, with an ID token for the user.
func TestDeviceAuthorization(t *testing.T) {
	t.Parallel()
	i := start(t, nil)
	da := deviceStart(t, i, webAuth)
	if status, body := devicePoll(i, da, webAuth); status != 400 || str(body, "error") != "authorization_pending" {
		t.Fatalf("before approval: %d %v", status, body)
	}
	if err := i.ApproveDevice(context.Background(), i.client, str(da, "verification_uri_complete"), "", ada.Username, "wrong"); !errors.Is(err, devidp.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := i.ApproveDevice(context.Background(), i.client, str(da, "verification_uri_complete"), "", ada.Username, ada.Password); err != nil {
		t.Fatal(err)
	}
	status, tok := devicePoll(i, da, webAuth)
	if status != 200 || str(tok, "access_token") == "" {
		t.Fatalf("after approval: %d %v", status, tok)
	}
	claims, _ := i.verifyIDToken(str(tok, "id_token"), "RS256", webClient)
	if claims["sub"] != ada.ID || claims["email"] != ada.Email {
		t.Errorf("ID token: %v", claims)
	}
	if status, body := devicePoll(i, da, webAuth); status == 200 {
		t.Errorf("device code used twice: %v", body)
	}
	if err := i.ApproveDevice(context.Background(), i.client, str(da, "verification_uri"), str(da, "user_code"), ada.Username, ada.Password); !errors.Is(err, devidp.ErrDeviceCode) {
		t.Errorf("approving a used code: %v", err)
	}
}

// TestDeviceDeniedAndExpired: Deny answers access_denied; a code past its
// lifetime, expired_token.
func TestDeviceDeniedAndExpired(t *testing.T) {
	t.Parallel()
	clock := authtest.NewClock(time.Now())
	i := start(t, func(o *devidp.Options) { o.Now = clock.Now })
	denied := deviceStart(t, i, webAuth)
	if err := i.DenyDevice(context.Background(), i.client, str(denied, "verification_uri_complete"), "", bob.Username, bob.Password); err != nil {
		t.Fatal(err)
	}
	if status, body := devicePoll(i, denied, webAuth); status != 400 || str(body, "error") != "access_denied" {
		t.Errorf("denied: %d %v", status, body)
	}
	expired := deviceStart(t, i, webAuth)
	clock.Advance(11 * time.Minute)
	if status, body := devicePoll(i, expired, webAuth); status != 400 || str(body, "error") != "expired_token" {
		t.Errorf("expired: %d %v", status, body)
	}
	if err := i.ApproveDevice(context.Background(), i.client, str(expired, "verification_uri_complete"), "", ada.Username, ada.Password); !errors.Is(err, devidp.ErrDeviceCode) {
		t.Errorf("approving an expired code: %v", err)
	}
}
