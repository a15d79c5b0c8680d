package client

import (
	"context"
	"net/http"
	"time"
)

// DomainInput is the body of POST /v1/sites/{site}/domains.
type DomainInput struct {
	Name          string `json:"name"`
	HTTPSRedirect *bool  `json:"https_redirect,omitempty"`
	HSTS          *bool  `json:"hsts,omitempty"`
}

// Domain is a site's custom domain and what to publish to prove it.
type Domain struct {
	Name          string     `json:"name"`
	Verified      bool       `json:"verified"`
	Method        string     `json:"method,omitempty"`
	VerifiedAt    *time.Time `json:"verified_at,omitempty"`
	HTTPSRedirect bool       `json:"https_redirect"`
	HSTS          bool       `json:"hsts"`
	CNAME         string     `json:"cname,omitempty"`
	TXTName       string     `json:"txt_name"`
	TXTValue      string     `json:"txt_value"`
	HTTPURL       string     `json:"http_url"`
	HTTPBody      string     `json:"http_body"`
}

func domainPath(site, name string, rest ...string) string {
	return sitePath(site, append([]string{"domains", name}, rest...)...)
}

// AddDomain claims a custom domain for site (again: changes its options).
func (c *Client) AddDomain(ctx context.Context, site string, in DomainInput, opts ...CallOption) (*Domain, error) {
	return doPtr[Domain](ctx, c, http.MethodPost, sitePath(site, "domains"), in, opts)
}

// Domains lists site's custom domains.
func (c *Client) Domains(ctx context.Context, site string, opts ...CallOption) ([]Domain, error) {
	return do[[]Domain](ctx, c, http.MethodGet, sitePath(site, "domains"), nil, opts)
}

// VerifyDomain checks the domain's proof ("dns", "http" or "" for both);
// the error says what was found when it fails.
func (c *Client) VerifyDomain(ctx context.Context, site, name, method string, opts ...CallOption) (*Domain, error) {
	return doPtr[Domain](ctx, c, http.MethodPost, domainPath(site, name, "verify"), map[string]string{"method": method}, opts)
}

// RemoveDomain removes a custom domain: every edge stops serving it.
func (c *Client) RemoveDomain(ctx context.Context, site, name string, opts ...CallOption) error {
	return c.Do(ctx, http.MethodDelete, domainPath(site, name), nil, nil, opts...)
}
