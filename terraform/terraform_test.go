package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// providers the configuration pins, as scripts/setup.d/40-terraform.sh
// builds them into the mirror.
var providers = []string{
	"registry.terraform.io/hashicorp/kubernetes/1.13.4/linux_amd64/terraform-provider-kubernetes_v1.13.4",
	"registry.terraform.io/cloudflare/cloudflare/1.18.1/linux_amd64/terraform-provider-cloudflare_v1.18.1",
}

// tf runs terraform offline: the CLI config points at the mirror only (the
// environment's own TF_CLI_CONFIG_FILE is replaced), no checkpoint calls.
type tf struct {
	bin, cliConfig string
	env            []string // more environment, e.g. TF_VAR_*
}

func setup(t *testing.T) tf {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatalf("terraform is not on PATH (%v): install Terraform >= 1.9 and run scripts/setup (make setup), which also builds the provider mirror", err)
	}
	mirror := mirrorDir(t)
	for _, p := range providers {
		if _, err := os.Stat(filepath.Join(mirror, p)); err != nil {
			t.Fatalf("the Terraform provider mirror lacks %s (%v): run scripts/setup (make setup) to build it", p, err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "offline.tfrc")
	body := fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path    = %q\n    include = [\"registry.terraform.io/*/*\"]\n  }\n}\n", mirror)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return tf{bin: bin, cliConfig: cfg}
}

// mirrorDir is where scripts/setup builds the mirror: $SETUP_CACHE/terraform-mirror.
func mirrorDir(t *testing.T) string {
	cache := os.Getenv("STATUSEDGE_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				t.Fatalf("no home directory for the setup cache: %v", err)
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "statusedge")
	}
	return filepath.Join(cache, "terraform-mirror")
}

// run runs terraform in dir and returns its combined output and error.
func (f tf) run(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.bin, args...)
	cmd.Dir = dir
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TF_") && !strings.HasPrefix(e, "CHECKPOINT_") {
			env = append(env, e)
		}
	}
	cmd.Env = append(append(env, "TF_CLI_CONFIG_FILE="+f.cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0"), f.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (f tf) must(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := f.run(t, dir, args...)
	if err != nil {
		t.Fatalf("terraform %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return out
}

// copyConfig copies the configuration (no .terraform, no lock file: init
// writes a fresh one against the mirror) into a temporary directory.
func copyConfig(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".terraform") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, p), 0o755)
		}
		if d.Name() == ".terraform.lock.hcl" || strings.HasSuffix(d.Name(), ".go") || strings.HasSuffix(d.Name(), ".tfstate") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestTerraform: formatted, initialised from the mirror alone, valid, and
// every terraform test (root and module, mock providers) passes.
func TestTerraform(t *testing.T) {
	f := setup(t)
	if out, err := f.run(t, ".", "fmt", "-check", "-recursive", "-diff", "-no-color"); err != nil {
		t.Fatalf("terraform fmt -check -recursive: files need `terraform fmt -recursive terraform`:\n%s", out)
	}
	if _, err := os.Stat(".terraform.lock.hcl"); err == nil {
		t.Error("terraform/.terraform.lock.hcl must not be committed: a lock with registry hashes fails the offline mirror's checksum check")
	}
	dir := copyConfig(t)
	for _, d := range []string{".", "modules/region"} {
		d := filepath.Join(dir, d)
		f.must(t, d, "init", "-backend=false", "-input=false", "-no-color")
		if out := f.must(t, d, "validate", "-no-color"); !strings.Contains(out, "The configuration is valid") {
			t.Fatalf("terraform validate in %s:\n%s", d, out)
		}
	}
	for _, d := range []string{"modules/region", "."} {
		out := f.must(t, filepath.Join(dir, d), "test", "-no-color")
		if !strings.Contains(out, " 0 failed") {
			t.Fatalf("terraform test in %s:\n%s", d, out)
		}
		t.Logf("terraform test in %s: %s", d, lastLine(out))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// secretish names a variable that holds a secret.
var secretish = regexp.MustCompile(`(?i)(secret|token|password|_key$|^key$)`)

// TestSecretVariablesAreSensitive: every variable whose name says it holds
// a secret, in the root and the module, is declared sensitive (so plans,
// logs and outputs redact it, and an output that carries it fails).
func TestSecretVariablesAreSensitive(t *testing.T) {
	block := regexp.MustCompile(`(?m)^variable "([^"]+)" \{`)
	found := 0
	for _, file := range []string{"variables.tf", "modules/region/variables.tf"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, m := range block.FindAllStringSubmatchIndex(src, -1) {
			name := src[m[2]:m[3]]
			body := braceBlock(src[m[1]-1:])
			if !secretish.MatchString(name) {
				continue
			}
			found++
			if !regexp.MustCompile(`(?m)^\s*sensitive\s*=\s*true\s*$`).MatchString(body) {
				t.Errorf("%s: variable %q holds a secret but is not `sensitive = true`", file, name)
			}
		}
	}
	if found < 7 { // operator_token, cluster_secret, edge_secret, gossip_key, cert_secret, cloudflare_api_token, secrets
		t.Errorf("found only %d secret variables: the scan is broken", found)
	}
}

// braceBlock returns s up to the brace that closes its first one.
func braceBlock(s string) string {
	depth := 0
	for i, r := range s {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[:i+1]
			}
		}
	}
	return s
}

// Test secrets for the variable checks; none may appear in a message.
var testSecrets = map[string]any{
	"operator_token": "test-operator-token-0123456789",
	"cluster_secret": "test-cluster-secret-0123456789",
	"edge_secret":    "test-edge-secret-0123456789ab",
	"gossip_key":     "00112233445566778899aabbccddeeff",
}

func region(name, context, role string, extra ...any) map[string]any {
	r := map[string]any{"name": name, "role": role}
	if context != "" {
		r["kube_context"] = context
	}
	for i := 0; i+1 < len(extra); i += 2 {
		r[extra[i].(string)] = extra[i+1]
	}
	return r
}

func threeHome() []any {
	return []any{
		region("eu-west", "gke-eu-west", "voter", "geo", []string{"WEU"}),
		region("us-east", "eks-us-east", "voter", "geo", []string{"ENAM"}),
		region("ap-south", "gke-ap-south", "voter"),
		region("us-west", "eks-us-west", "non-voter", "origin_replicas", 2),
	}
}

// TestRejectedVariables plans the root's variables.tf and checks.tf
// (verbatim, without the rest, so no provider starts and each case takes
// well under a second) with one bad value at a time, and checks that the plan is refused
// with a message that names the problem and echoes no secret.
func TestRejectedVariables(t *testing.T) {
	f := setup(t)
	dir := t.TempDir()
	for _, name := range []string{"variables.tf", "checks.tf"} {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.must(t, dir, "init", "-backend=false", "-input=false", "-no-color")

	// The example in examples/ is accepted as it stands (with the secrets
	// from the environment, as it says).
	example, err := filepath.Abs("examples/three-home-regions.tfvars")
	if err != nil {
		t.Fatal(err)
	}
	ex := f
	for k, v := range testSecrets {
		ex.env = append(ex.env, "TF_VAR_"+k+"="+v.(string))
	}
	ex.env = append(ex.env, "TF_VAR_cloudflare_api_token=test-cloudflare-token")
	if out, err := ex.run(t, dir, "plan", "-input=false", "-no-color", "-lock=false", "-refresh=false", "-var-file="+example); err != nil {
		t.Errorf("examples/three-home-regions.tfvars is refused:\n%s", out)
	}

	many := []any{}
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		many = append(many, region("r"+n, "ctx-"+n, "voter"))
	}
	for _, tc := range []struct {
		name string
		vars map[string]any // over the valid base
		want string         // "" = accepted
	}{
		{"valid: three home regions and a non-voter", nil, ""},
		{"valid: one region, one voter", map[string]any{"regions": []any{region("eu", "gke-eu", "voter")}}, ""},
		{"unknown role", map[string]any{"regions": []any{
			region("eu-west", "gke-eu-west", "voter"), region("us-east", "eks-us-east", "leader"), region("ap-south", "gke-ap-south", "voter")}},
			`unknown role "leader" (region us-east): want "voter"`},
		{"no role", map[string]any{"regions": []any{region("eu-west", "gke-eu-west", "")}}, `unknown role "" (region eu-west)`},
		{"role differing in case", map[string]any{"regions": []any{region("eu-west", "gke-eu-west", "Voter")}}, `unknown role "Voter"`},
		{"even voter count: two regions", map[string]any{"regions": []any{
			region("eu-west", "gke-eu-west", "voter"), region("us-east", "eks-us-east", "voter")}},
			"2 voters (origin_replicas summed over voter regions) is an even count"},
		{"even voter count: replicas", map[string]any{"regions": []any{
			region("eu-west", "gke-eu-west", "voter", "origin_replicas", 3), region("us-east", "eks-us-east", "voter"), region("us-west", "eks-us-west", "non-voter", "origin_replicas", 3)}},
			"4 voters"},
		{"region without a context", map[string]any{"regions": []any{
			region("eu-west", "gke-eu-west", "voter"), region("us-east", "", "non-voter")}},
			`region "us-east" has no kube_context`},
		{"blank context", map[string]any{"regions": []any{region("eu-west", "  ", "voter")}}, `region "eu-west" has no kube_context`},
		{"first region not a voter", map[string]any{"regions": []any{
			region("us-west", "eks-us-west", "non-voter"), region("eu-west", "gke-eu-west", "voter")}},
			"the first region (us-west) must be a voter region"},
		{"duplicate names", map[string]any{"regions": []any{
			region("eu-west", "gke-eu-west", "voter"), region("eu-west", "gke-eu-west-2", "non-voter")}},
			"names must be unique; repeated: eu-west"},
		{"name that is no DNS label", map[string]any{"regions": []any{region("eu.west", "gke", "voter")}}, `bad name "eu.west"`},
		{"name injecting flags", map[string]any{"regions": []any{region("eu --bootstrap", "gke", "voter")}}, `bad name "eu --bootstrap"`},
		{"name too long for pod names", map[string]any{"regions": []any{region(strings.Repeat("a", 21), "gke", "voter")}}, "bad name"},
		{"no regions", map[string]any{"regions": []any{}}, "regions: 0 given; between 1 and 5"},
		{"six regions", map[string]any{"regions": many}, "regions: 6 given; between 1 and 5"},
		{"zero origin replicas", map[string]any{"regions": []any{region("eu-west", "gke", "voter", "origin_replicas", 0)}}, "origin_replicas must be a whole number >= 1"},
		{"fractional replicas", map[string]any{"regions": []any{region("eu-west", "gke", "voter", "origin_replicas", 1.5)}}, "origin_replicas must be a whole number >= 1"},
		{"edge min above max", map[string]any{"regions": []any{region("eu-west", "gke", "voter", "edge_min_replicas", 5, "edge_max_replicas", 3)}}, "edge_min_replicas <= edge_max_replicas"},
		{"unknown geo", map[string]any{"regions": []any{region("eu-west", "gke", "voter", "geo", []string{"EU"})}}, `unknown geo region "EU" (region eu-west)`},
		{"geo steered twice", map[string]any{"regions": []any{
			region("eu-west", "gke-eu-west", "voter", "geo", []string{"WEU"}), region("eu-north", "gke-eu-north", "non-voter", "geo", []string{"WEU"})}},
			"a geo region is steered to two regions: WEU"},
		{"image latest", map[string]any{"image": "registry.example.com/statusedge:latest"}, "pin a tag (not :latest)"},
		{"image without a tag", map[string]any{"image": "registry.example.com/statusedge"}, "pin a tag"},
		{"short operator token", map[string]any{"operator_token": "Xq7-tiny-tok"}, "operator_token must be at least 16 characters"},
		{"short cluster secret", map[string]any{"cluster_secret": "Zr9-tiny-sec"}, "cluster_secret must be at least 16 characters"},
		{"edge secret = cluster secret", map[string]any{"edge_secret": testSecrets["cluster_secret"]}, "edge_secret must differ from cluster_secret"},
		{"gossip key not hex", map[string]any{"gossip_key": "zz112233445566778899aabbccddeeff"}, "gossip_key must be 32, 48 or 64 hex digits"},
		{"gossip key 20 bytes", map[string]any{"gossip_key": strings.Repeat("ab", 20)}, "gossip_key must be 32, 48 or 64 hex digits"},
		{"https without a cert secret", map[string]any{"https": map[string]any{"enabled": true}}, "https needs cert_secret"},
		{"cert secret = edge secret", map[string]any{"https": map[string]any{"enabled": true}, "cert_secret": testSecrets["edge_secret"]}, "https needs cert_secret: at least 16 characters, and neither"},
		{"valid: https with a cert secret", map[string]any{"https": map[string]any{"enabled": true, "acme_email": "ops@example.com"}, "cert_secret": "test-cert-secret-0123456789abc"}, ""},
		{"dns without a token", map[string]any{"dns": map[string]any{"zone_id": "z", "hostname": "status.example.com"}}, "cloudflare_api_token is required when dns is set"},
		{"unknown update strategy", map[string]any{"origin_update_strategy": "Recreate"}, `origin_update_strategy "Recreate" is unknown`},
		{"trusted proxy not a CIDR", map[string]any{"trusted_proxies": []string{"cloudflare"}}, "trusted_proxies: want CIDRs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Secrets come from the environment, as the runbook says they
			// must: Terraform quotes the offending line of a var file, so a
			// secret in one would show in every message about that file.
			vars := map[string]any{"image": "registry.example.com/statusedge:1.4.0", "regions": threeHome()}
			secrets := map[string]any{}
			for k, v := range testSecrets {
				secrets[k] = v
			}
			for k, v := range tc.vars {
				if secretish.MatchString(k) {
					secrets[k] = v
				} else {
					vars[k] = v
				}
			}
			f := f
			f.env = nil
			for k, v := range secrets {
				f.env = append(f.env, "TF_VAR_"+k+"="+v.(string))
			}
			b, err := json.Marshal(vars)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "case.tfvars.json")
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := f.run(t, dir, "plan", "-input=false", "-no-color", "-lock=false", "-refresh=false", "-var-file="+file)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid variables refused:\n%s", out)
				}
				return
			}
			if err == nil {
				t.Fatalf("plan accepted the variables; want a refusal saying %q", tc.want)
			}
			flat := strings.Join(strings.Fields(out), " ") // terraform wraps messages
			if !strings.Contains(flat, tc.want) {
				t.Errorf("refused, but the message does not say %q:\n%s", tc.want, out)
			}
			for k, s := range secrets {
				if strings.Contains(out, s.(string)) {
					t.Errorf("the message shows the %s:\n%s", k, out)
				}
			}
		})
	}
}
