# Debian packages the tests start for real: redis-server (edge L2, dev
# --regions), chromium (skeleton and page tests through chromedp), wrk and
# nginx (bench load's yardstick), git and make (the README's commands).
need_apt redis-server=redis-server chromium=chromium wrk=wrk /usr/sbin/nginx=nginx-light git=git make=make
# Debian's package starts its own redis-server on 6379; the tests start theirs
# on free loopback ports and do not want it.
if [ "$(id -u)" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
	systemctl is-active --quiet redis-server 2>/dev/null && systemctl stop redis-server >/dev/null 2>&1 || true
fi
