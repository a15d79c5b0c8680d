(function () {
  "use strict";
  // Completes the skeleton shell. It fetches the summary, uptime and
  // incidents JSON (same origin, with the session cookie) and rebuilds <main>
  // with the markup of origin/render's index page. Strings from the server go
  // in as text only (textContent, createTextNode, setAttribute); Markdown is
  // parsed here into elements, never into HTML.
  var d = document, main = d.getElementById("main"), SVG = "http://www.w3.org/2000/svg";
  if (!main) return;
  var TEXT = {
    operational: "Operational", degraded_performance: "Degraded Performance", partial_outage: "Partial Outage",
    major_outage: "Major Outage", under_maintenance: "Under Maintenance"
  };
  function compText(s) { return TEXT[s] || String(s); }
  // statusText spells an incident or maintenance status: "in_progress" → "In progress".
  function statusText(s) { s = String(s || "").replace(/_/g, " "); return s.charAt(0).toUpperCase() + s.slice(1); }
  function cls(s) { return String(s).replace(/[^a-z_-]/g, ""); } // server data never adds odd classes

  function el(tag, attrs, kids) {
    var e = d.createElement(tag);
    for (var k in attrs || {}) if (attrs[k] != null) e.setAttribute(k, attrs[k]);
    add(e, kids);
    return e;
  }
  function add(e, kids) {
    (kids == null ? [] : [].concat(kids)).forEach(function (k) {
      if (Array.isArray(k)) add(e, k);
      else if (k != null) e.appendChild(typeof k === "object" ? k : d.createTextNode(String(k)));
    });
    return e;
  }
  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });
  }

  // --- times in the page's zone, as the renderer prints them ("Jan 2, 2006 15:04 MST") ---
  var zone = "UTC", fmt;
  function setZone(tz) {
    var o = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" };
    try { o.timeZone = tz; fmt = new Intl.DateTimeFormat("en-US", o); zone = tz; }
    catch (e) { o.timeZone = "UTC"; fmt = new Intl.DateTimeFormat("en-US", o); }
  }
  function parts(t) {
    var p = {};
    fmt.formatToParts(t).forEach(function (x) { p[x.type] = x.value; });
    return p;
  }
  function when(iso) {
    var t = new Date(iso);
    if (isNaN(t)) return el("time");
    var p = parts(t);
    return el("time", { datetime: iso }, p.month + " " + p.day + ", " + p.year + " " + p.hour + ":" + p.minute + " " + p.timeZoneName);
  }
  var MONTHS = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
  function dayNum(iso) { // the civil day in the page's zone, as days since 1970-01-01
    var t = new Date(iso);
    if (isNaN(t)) return NaN;
    var p = parts(t);
    return Date.UTC(+p.year, MONTHS[p.month], +p.day) / 864e5;
  }

  // --- Markdown (the renderer's subset) into elements ---
  function safeURL(u) {
    try {
      var p = new URL(u);
      return /^(https?|mailto):$/.test(p.protocol) ? p.href : null;
    } catch (e) { return null; }
  }
  var INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|~~([\s\S]+?)~~|\*([^*\s][\s\S]*?)\*|\b_([^_\s][\s\S]*?)_\b|\[([^\]]+)\]\(([^)\s]+)\)|<\/?[A-Za-z][^>]*>|(https?:\/\/[^\s<]*[^\s<.,:;"')\]])/;
  function inline(parent, text) {
    var m;
    while ((m = INLINE.exec(text))) {
      if (m.index) add(parent, text.slice(0, m.index));
      if (m[1]) add(parent, el("code", null, m[2].replace(/^ (.*) $/, "$1")));
      else if (m[3] || m[4]) inline(add(parent, el("strong")).lastChild, m[3] || m[4]);
      else if (m[5]) inline(add(parent, el("del")).lastChild, m[5]);
      else if (m[6] || m[7]) inline(add(parent, el("em")).lastChild, m[6] || m[7]);
      else if (m[8] || m[10]) {
        var href = safeURL(m[9] || m[10]);
        if (href) inline(add(parent, el("a", { href: href, rel: "nofollow noopener", target: "_blank" })).lastChild, m[8] || m[10]);
        else inline(parent, m[8]);
      } // else raw HTML: dropped, as the renderer drops it
      text = text.slice(m.index + m[0].length);
    }
    if (text) add(parent, text);
  }
  function markdown(body) {
    var out = el("div", { "class": "body" }), lines = String(body || "").replace(/\r\n?/g, "\n").split("\n");
    var para = [], list = null;
    function flush() {
      if (para.length) inline(add(out, el("p")).lastChild, para.join("\n").trim());
      para = [];
    }
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i], m;
      if (/^\s*```/.test(line)) {
        flush(); list = null;
        var code = [];
        for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) code.push(lines[i]);
        add(out, el("pre", null, el("code", null, code.join("\n") + "\n")));
      } else if ((m = /^\s*(?:([-*+])|\d+[.)])\s+(.*)$/.exec(line))) {
        flush();
        var tag = m[1] ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) list = add(out, el(tag)).lastChild;
        inline(add(list, el("li")).lastChild, m[2]);
      } else if ((m = /^\s*>\s?(.*)$/.exec(line))) {
        flush(); list = null;
        inline(add(add(out, el("blockquote")).lastChild, el("p")).lastChild, m[1]);
      } else if (/^\s*$/.test(line)) {
        flush(); list = null;
      } else if (list && /^\s+\S/.test(line)) {
        inline(add(list.lastChild, "\n"), line.trim());
      } else {
        list = null;
        para.push(line.replace(/^#{1,6}\s+/, ""));
      }
    }
    flush();
    return out;
  }

  // --- incidents and maintenances ---
  function names(cs) { return (cs || []).map(function (c) { return c.name; }); }
  function affects(cs) { var n = names(cs); return n.length ? " · Affects: " + n.join(", ") : ""; }
  function timeline(us) {
    return el("ol", { "class": "timeline" }, (us || []).map(function (u) {
      var aff = u.affected_components || [];
      return el("li", { "class": "update", id: "update-" + u.id, "data-status": u.status }, [
        el("h4", { "class": "h-update" }, [el("span", { "class": "update-status" }, statusText(u.status)), " · ",
          el("span", { "class": "meta" }, when(u.display_at))]),
        markdown(u.body),
        aff.length ? el("ul", { "class": "affected" }, aff.map(function (a) {
          return el("li", null, [a.name + ": ", el("span", { "class": "status s-" + cls(a.old_status) }, compText(a.old_status)), " → ",
            el("span", { "class": "status s-" + cls(a.new_status) }, compText(a.new_status))]);
        })) : null
      ]);
    }));
  }
  function card(x, kind) {
    var impact = kind === "incident" ? x.impact : "maintenance";
    var meta = kind === "incident"
      ? ["Impact: " + x.impact + " · Status: ", el("span", { "class": "incident-status" }, statusText(x.status)), affects(x.components)]
      : [el("span", { "class": "maintenance-status" }, statusText(x.status)), " · ", when(x.scheduled_for), " – ", when(x.scheduled_until), affects(x.components)];
    return el("article", { "class": "card " + kind + " impact-" + cls(impact), id: kind + "-" + x.id, "data-id": x.id, "data-status": x.status }, [
      el("h3", null, el("a", { href: "/" + kind + "s/" + encodeURIComponent(x.id) }, x.name)),
      el("p", { "class": "meta" }, meta),
      timeline(x.incident_updates)
    ]);
  }

  // --- components and their uptime bars ---
  // pct formats a fraction as the renderer does (Go's 'f' format rounds an
  // exact tie to even; toFixed rounds it up).
  function pct(f) {
    if (f >= 1) return "100";
    var n = f * 100, s = n.toFixed(2), t = n.toFixed(3);
    if (t.slice(-1) === "5" && +t === n && s.slice(-1) % 2) s = t.slice(0, -1);
    return s === "100.00" ? "99.99" : s;
  }
  function dur(secs) {
    var h = Math.floor(secs / 3600), m = Math.floor(secs % 3600 / 60);
    return h && m ? h + "h " + m + "m" : h ? h + "h" : m ? m + "m" : secs + "s";
  }
  function nDays(k) { return k + (k === 1 ? " day" : " days"); }
  function dayClass(x) {
    if (x.uptime == null && !x.maintenance_seconds) return 0;
    return { major_outage: 4, partial_outage: 3, degraded_performance: 2, under_maintenance: 5 }[x.worst] || 1;
  }
  // dayText is what a day of a bar says, as the renderer's tooltip and
  // daily list do; incidents are appended by the caller.
  function dayText(x, today, st) {
    var s = x.date + (today ? ": today so far: " + compText(st) : x.uptime != null ? ": " + pct(x.uptime) + "%" : ": no data");
    [["major outage", x.major_outage_seconds], ["partial outage", x.partial_outage_seconds], ["degraded", x.degraded_seconds],
      ["maintenance", x.maintenance_seconds]].forEach(function (p) { if (p[1] > 0) s += ", " + p[0] + " " + dur(p[1]); });
    return s;
  }
  // bar is the component's details.daily: the bar (with a tooltip per day)
  // and its legend as the summary, and the list of days it discloses.
  function bar(c, u) {
    var daily = (u && u.daily) || [], n = daily.length;
    var counted = daily.filter(function (x) { return x.uptime != null; }).length, has = u && u.uptime != null;
    var legend = el("span", { "class": "uptime-legend" }, [el("span", { "class": "sr" }, c.name + ": "),
      el("span", { "class": "uptime-pct" }, has ? pct(u.uptime) + "% uptime over " + nDays(counted) : "No data"),
      el("span", { "class": "sr" }, has ? ". " : " over " + nDays(n) + ". "), el("span", { "class": "more" }, "Daily detail")]);
    if (!n) return el("div", { "class": "daily" }, [el("div", { "class": "uptime-bar" }), legend]); // no uptime data: keep the space
    var svg = d.createElementNS(SVG, "svg"), list = el("ol", { "class": "days" });
    var attrs = { "class": "uptime-bar", viewBox: "0 0 " + (n * 4 - 1) + " 30", preserveAspectRatio: "none", "aria-hidden": "true" };
    for (var k in attrs) svg.setAttribute(k, attrs[k]);
    // blank: a day with no data, no incident, and not the day so far.
    function blank(x, i) { return x.uptime == null && !x.maintenance_seconds && !(x.incidents || []).length && !isToday(x, i); }
    function isToday(x, i) { return i === n - 1 && x.uptime == null && !x.maintenance_seconds && !!TEXT[c.status]; }
    var run = 0; // the days left of a folded run of blank days
    daily.forEach(function (x, i) {
      var r = d.createElementNS(SVG, "rect"), t = d.createElementNS(SVG, "title");
      // The last day with no data yet is the day so far: the current status.
      var today = isToday(x, i);
      var b = "b" + (today ? ({ degraded_performance: 2, partial_outage: 3, major_outage: 4, under_maintenance: 5 }[c.status] || 1) : dayClass(x));
      var s = dayText(x, today, c.status), item = el("li", { "class": b }, s);
      (x.incidents || []).forEach(function (m) {
        s += "; " + m.name;
        add(item, ["; ", el("a", { href: "/incidents/" + encodeURIComponent(m.id) }, m.name)]);
      });
      r.setAttribute("x", i * 4);
      r.setAttribute("width", 3);
      r.setAttribute("height", 30);
      r.setAttribute("class", b);
      t.textContent = s;
      r.appendChild(t);
      svg.appendChild(r);
      if (run > 0) { run--; return; }
      // A run of blank days (before the component started) is one line.
      var j = i;
      while (j < n && blank(daily[j], j)) j++;
      if (j > i + 1) {
        list.appendChild(el("li", { "class": "b0" }, x.date + " – " + daily[j - 1].date + ": no data (" + nDays(j - i) + ")"));
        run = j - i - 1;
        return;
      }
      list.appendChild(item);
    });
    return el("details", { "class": "daily" }, [el("summary", null, [svg, legend]), list]);
  }
  function row(c, st, tag) {
    return el(tag || "div", { "class": "row" }, [el("h3", { "class": "name" }, c.name), el("span", { "class": "status s-" + cls(st) }, compText(st))]);
  }
  function component(c, up) {
    var u = up[c.id];
    return el("li", { "class": "component", "data-id": c.id, "data-status": c.status }, [
      row(c, c.status),
      c.description != null && c.description !== "" ? el("p", { "class": "desc" }, c.description) : null,
      c.showcase ? bar(c, u) : null
    ]);
  }
  function components(list, up) {
    var byID = {}, kids = {}, out = [];
    list = (list || []).slice().sort(function (a, b) { return a.position - b.position; });
    list.forEach(function (c) { byID[c.id] = c; });
    list.forEach(function (c) { if (c.group_id && byID[c.group_id]) (kids[c.group_id] = kids[c.group_id] || []).push(c); });
    function shown(c) { return !(c.only_show_if_degraded && c.status === "operational"); }
    list.forEach(function (c) {
      if ((c.group_id && byID[c.group_id]) || !shown(c)) return;
      if (!c.group) return out.push(component(c, up));
      var k = (kids[c.id] || []).filter(shown);
      if (!k.length) return;
      out.push(el("li", { "class": "component group", "data-id": c.id, "data-status": c.status },
        el("details", { open: "" }, [el("summary", null, row(c, c.status, "span")), el("ul", null, k.map(function (x) { return component(x, up); }))])));
    });
    return out;
  }

  // --- the page ---
  function complete(res) {
    var s = res[0], ut = res[1] || {}, inc = res[2], page = s.page || {}, st = s.status || {}, up = {};
    (ut.components || []).forEach(function (c) { up[c.id] = c; });
    setZone(page.time_zone || "UTC");
    var asOf = ut.as_of || page.updated_at, days = ut.days || 90, RECENT = 7;
    var active = s.incidents || [];
    var maint = (s.scheduled_maintenances || []).slice().sort(function (a, b) {
      var ra = a.status === "scheduled", rb = b.status === "scheduled";
      return ra !== rb ? (ra ? 1 : -1) : Date.parse(a.scheduled_for) - Date.parse(b.scheduled_for);
    });
    var from = dayNum(asOf) - RECENT, recent = [];
    if (inc) (inc.incidents || []).forEach(function (x) {
      if (!/^(investigating|identified|monitoring)$/.test(x.status) && dayNum(x.resolved_at || x.updated_at) >= from) recent.push(x);
    });
    var f = d.createDocumentFragment();
    add(f, [
      el("h1", { "class": "sr" }, (page.name || "") + " status"),
      el("section", { id: "overall", "class": cls(st.indicator), "aria-live": "polite", "data-indicator": st.indicator }, [
        el("p", { "class": "status-description" }, st.description), el("small", null, ["As of ", when(asOf)])]),
      active.length
        ? el("section", { id: "incidents", "aria-labelledby": "h-incidents" }, [el("h2", { id: "h-incidents" }, "Active incidents")]
          .concat(active.map(function (x) { return card(x, "incident"); })))
        : el("section", { id: "incidents", "aria-labelledby": "h-incidents" }, [el("h2", { id: "h-incidents", "class": "sr" }, "Active incidents"),
          el("p", { "class": "meta" }, "No active incidents.")]),
      maint.length ? el("section", { id: "maintenances", "aria-labelledby": "h-maintenances" }, [el("h2", { id: "h-maintenances" }, "Maintenance")]
        .concat(maint.map(function (x) { return card(x, "maintenance"); }))) : null,
      el("section", { "aria-labelledby": "h-components" }, [
        el("h2", { id: "h-components" }, "Components"),
        el("p", { "class": "uptime-legend", "aria-hidden": "true" }, [el("span", null, days + " days ago"), el("span", null, "Today")]),
        el("ul", { id: "components", "class": "plain" }, components(s.components, up)),
        el("p", { "class": "meta" }, [(ut.note || "") + " ", el("a", { href: "/uptime#formula" }, "How uptime is counted"), " · ", el("a", { href: "/uptime" }, "Uptime calendars")])
      ]),
      el("section", { id: "recent", "aria-labelledby": "h-recent" }, [
        el("h2", { id: "h-recent" }, "Past " + RECENT + " days"),
        recent.length ? el("ul", { "class": "plain" }, recent.map(function (x) {
          return el("li", { "class": "card incident impact-" + cls(x.impact), "data-id": x.id }, [
            el("a", { href: "/incidents/" + encodeURIComponent(x.id) }, x.name), " ",
            el("span", { "class": "meta" }, ["· " + statusText(x.status) + " · ", when(x.started_at)])]);
        })) : el("p", { "class": "meta" }, "No incidents resolved in the past " + RECENT + " days."),
        el("p", null, el("a", { href: "/history" }, "Incident history"))
      ])
    ]);
    main.replaceChildren(f);
    var foot = d.querySelector("footer p");
    if (foot) foot.replaceWith(el("p", null, ["Last updated ", when(page.updated_at), ". Times are in " + zone + "."]));
    main.removeAttribute("aria-busy");
    main.setAttribute("data-skeleton", "complete");
    if (window.performance && performance.mark) performance.mark("skeleton-complete");
  }
  function failed() {
    var o = d.getElementById("overall");
    if (o) {
      o.className = "critical";
      o.replaceChildren(el("p", { "class": "status-description" }, "The live status could not be loaded. Reload the page to try again."),
        el("small", null, el("a", { href: "/api/v2/summary.json" }, "Status as JSON")));
    }
    main.removeAttribute("aria-busy");
    main.setAttribute("data-skeleton", "failed");
  }
  function optional(p) { return p.catch(function () { return null; }); }
  function load(retries) {
    Promise.all([get("/api/v2/summary.json"), optional(get("/api/statusedge/uptime.json")), optional(get("/api/v2/incidents.json"))])
      .then(complete).catch(function () {
        if (retries > 0) setTimeout(function () { load(retries - 1); }, 1500);
        else failed();
      });
  }
  load(2);
})();
