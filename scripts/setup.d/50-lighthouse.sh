# Lighthouse (from the npm registry, run with the machine's Node.js and
# Debian's chromium) for the demo page's accessibility, best-practices and
# SEO audits in dev's TestLighthouse. Installed once into the cache.
lh_dir="$SETUP_CACHE/lighthouse-12.8.2"
if [ ! -x "$lh_dir/node_modules/.bin/lighthouse" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		need_apt npm=npm
	fi
	echo "setup: npm install lighthouse@12.8.2" >&2
	mkdir -p "$lh_dir"
	npm install --prefix "$lh_dir" --no-audit --no-fund --silent lighthouse@12.8.2 >&2
fi
