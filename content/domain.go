package content

import "time"

// Domain is a custom domain a site claims (status.example.com, CNAMEd to
// the site's default hostname). It routes, and gets a certificate, only
// once Verified: the owner published Token under DomainTXTPrefix+Name in
// DNS, or the edge's answer at DomainHTTPPath+Token reached the origin's
// check through the domain.
type Domain struct {
	Name  string `json:"name"`
	Token string `json:"token"` // the ownership challenge, chosen when the domain is added
	// Verified is set by a successful check; Method says which ("dns", "http").
	Verified   bool      `json:"verified,omitempty"`
	Method     string    `json:"method,omitempty"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	AddedAt    time.Time `json:"added_at"`
	// HTTPSRedirect sends plain-HTTP visitors to HTTPS; HSTS adds
	// Strict-Transport-Security to HTTPS answers. Both are the owner's opt-in.
	HTTPSRedirect bool `json:"https_redirect,omitempty"`
	HSTS          bool `json:"hsts,omitempty"`
}

// Where a domain's ownership proof is published.
const (
	// DomainTXTPrefix + name is the DNS name of the TXT record; its value is
	// DomainTXTValue(token).
	DomainTXTPrefix = "_statusedge-challenge."
	// DomainHTTPPath + token is the path an edge answers with the token for
	// a domain that is added but not yet verified.
	DomainHTTPPath = "/.well-known/statusedge-challenge/"
)

// DomainTXTValue is the TXT record value that proves ownership with token.
func DomainTXTValue(token string) string { return "statusedge-verify=" + token }

// RegistryDomain is a custom domain as the edge sees it: verified ones
// route (their names are also in Hostnames) and get certificates; pending
// ones only answer their HTTP ownership token.
type RegistryDomain struct {
	Name          string `json:"name"`
	Verified      bool   `json:"verified,omitempty"`
	Token         string `json:"token,omitempty"` // pending domains only
	HTTPSRedirect bool   `json:"https_redirect,omitempty"`
	HSTS          bool   `json:"hsts,omitempty"`
}

// VerifiedDomains returns the names of s's verified domains.
func (s *Site) VerifiedDomains() []string {
	var out []string
	for _, d := range s.Domains {
		if d.Verified {
			out = append(out, d.Name)
		}
	}
	return out
}

func registryDomains(ds []Domain) []RegistryDomain {
	var out []RegistryDomain
	for _, d := range ds {
		rd := RegistryDomain{Name: d.Name, Verified: d.Verified, HTTPSRedirect: d.HTTPSRedirect, HSTS: d.HSTS}
		if !d.Verified {
			rd.Token = d.Token
		}
		out = append(out, rd)
	}
	return out
}
