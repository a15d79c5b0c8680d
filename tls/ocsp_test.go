package tls_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"golang.org/x/crypto/ocsp"

	"github.com/statusedge/statusedge/dev"
	setls "github.com/statusedge/statusedge/tls"
)

// A certificate whose issuer runs an OCSP responder is served with its
// OCSP response stapled, on every edge. Pebble has no responder, so the
// certificate here comes from a CA of the test's (with its responder on
// loopback, named in the certificate's AIA), put in the shared storage as
// if an order had stored it: the edges load it there on the first
// handshake, fetch the response and staple it.
func TestOCSPStapled(t *testing.T) {
	r := newRig(t, 0, dev.HTTPS{DisableARI: true})
	name := uniqueName("ocsp")
	r.addDomain("acme", name, true, nil)

	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "statusedge test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	var asked atomic.Int64
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(req.Body, 4096))
		oreq, err := ocsp.ParseRequest(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		asked.Add(1)
		resp, err := ocsp.CreateResponse(ca, ca, ocsp.Response{Status: ocsp.Good, SerialNumber: oreq.SerialNumber,
			ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(24 * time.Hour)}, caKey)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
	}))
	defer responder.Close()

	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		OCSPServer: []string{responder.URL}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(leafKey)
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	meta, _ := json.Marshal(map[string]any{"sans": []string{name}})

	st, err := setls.NewStorage(setls.StorageConfig{OriginURL: r.sys.Regions[0].APIURL, Secret: r.sys.ClusterSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	issuer := (&certmagic.ACMEIssuer{CA: r.pebble.DirectoryURL}).IssuerKey()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for k, v := range map[string][]byte{
		certmagic.StorageKeys.SiteCert(issuer, name):       bundle,
		certmagic.StorageKeys.SitePrivateKey(issuer, name): pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		certmagic.StorageKeys.SiteMeta(issuer, name):       meta,
	} {
		if err := st.Store(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for i := range r.sys.Regions {
		resp, _, leaf, err := r.httpsGet(i, roots, name, name)
		if err != nil {
			t.Fatalf("region %d: %v", i, err)
		}
		if leaf.SerialNumber.Int64() != 4242 {
			t.Fatalf("region %d serves serial %s, not the stored certificate", i, leaf.SerialNumber)
		}
		if len(resp.TLS.OCSPResponse) == 0 {
			t.Fatalf("region %d: no OCSP response stapled (responder asked %d times)", i, asked.Load())
		}
		o, err := ocsp.ParseResponse(resp.TLS.OCSPResponse, ca)
		if err != nil || o.Status != ocsp.Good || o.SerialNumber.Int64() != 4242 {
			t.Fatalf("region %d: stapled response %+v, %v", i, o, err)
		}
	}
	if n := r.pebble.Orders(); n != 0 {
		t.Fatalf("Pebble saw %d orders, want 0 (the certificate was in storage)", n)
	}
}
