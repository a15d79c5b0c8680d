# Terraform and its providers for the terraform/ tests (terraform/terraform_test.go).
#
# The registry is not reachable here, so the two providers the configuration
# uses (kubernetes, cloudflare) are built from the Go module proxy into a filesystem mirror at
# $SETUP_CACHE/terraform-mirror, once: a cold build takes ~7 min on 2 cores
# (1.7 GB of module cache, 1.1 GB of build cache), a warm run only checks that
# both binaries are there. Only these versions exist on the proxy (later
# tags are not valid Go versions), so terraform/ is written against their 1.x
# schemas; each needs the replaces listed (dependencies the proxy refuses).
# See terraform/README.md, "Testing offline".
if ! command -v terraform >/dev/null 2>&1; then
	echo "setup: make test needs terraform (>= 1.9, for terraform test with mock providers) on PATH: install it from https://developer.hashicorp.com/terraform/install" >&2
	exit 1
fi
tf_mirror=$SETUP_CACHE/terraform-mirror
tf_fvbommel=vbom.ml/util=github.com/fvbommel/util@v0.0.0-20160121211510-db5cfe13f5cc
# name namespace go-module version replaces(old=new ...)
tf_providers=(
	"kubernetes hashicorp github.com/hashicorp/terraform-provider-kubernetes 1.13.4 $tf_fvbommel"
	"cloudflare cloudflare github.com/cloudflare/terraform-provider-cloudflare 1.18.1 google.golang.org/genproto@v0.0.0-20190819205937-24fa4b261c55=google.golang.org/genproto@v0.0.0-20190819201941-24fa4b261c55 golang.org/x/lint@v0.0.0-20190511005446-959b441ac422=golang.org/x/lint@v0.0.0-20190409202823-959b441ac422 golang.org/x/time@v0.0.0-20190513212739-9d24e82272b4=golang.org/x/time@v0.0.0-20190308202827-9d24e82272b4"
)
for tf_line in "${tf_providers[@]}"; do
	read -r tf_name tf_ns tf_mod tf_ver tf_replaces <<<"$tf_line"
	tf_dest=$tf_mirror/registry.terraform.io/$tf_ns/$tf_name/$tf_ver/linux_amd64/terraform-provider-${tf_name}_v$tf_ver
	[ -x "$tf_dest" ] && continue
	echo "setup: building terraform provider $tf_ns/$tf_name $tf_ver into $tf_mirror (once; a few minutes)" >&2
	tf_work=$(mktemp -d)
	tf_dir=$(cd "$tf_work" && go mod download -json "$tf_mod@v$tf_ver" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	if [ -z "$tf_dir" ]; then
		echo "setup: go mod download $tf_mod@v$tf_ver failed: the terraform provider mirror cannot be built" >&2
		rm -rf "$tf_work"
		exit 1
	fi
	cp -r "$tf_dir" "$tf_work/src"
	chmod -R u+w "$tf_work/src"
	for tf_r in $tf_replaces; do (cd "$tf_work/src" && go mod edit -replace "$tf_r"); done
	mkdir -p "$(dirname "$tf_dest")"
	if ! (cd "$tf_work/src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tf_dest.tmp" . >&2); then
		echo "setup: building terraform provider $tf_ns/$tf_name $tf_ver failed" >&2
		rm -rf "$tf_work" "$tf_dest.tmp"
		exit 1
	fi
	mv "$tf_dest.tmp" "$tf_dest"
	rm -rf "$tf_work"
done
unset tf_mirror tf_fvbommel tf_providers tf_line tf_name tf_ns tf_mod tf_ver tf_replaces tf_dest tf_work tf_dir tf_r
