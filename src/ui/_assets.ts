/**
 * The page, its script and its style, as strings in the binary (no CDN, no
 * build step). The script builds every element with `textContent` and
 * attributes, never `innerHTML`, so a hostile file name is only ever text.
 */

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cairn ui</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
<a class="brand" href="#/">cairn</a>
<nav><a href="#/">Snapshots</a><a href="#/diff">Diff</a><a href="#/find">Search</a></nav>
</header>
<main id="main"><p class="muted">Loading…</p></main>
</body>
</html>
`;

const APP_CSS = `
:root { --fg: #1d2330; --muted: #6b7385; --line: #e3e6ec; --accent: #2f6fdf; --bg: #fff;
  --add: #1a7f37; --del: #c62828; --mod: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); }
header { display: flex; gap: 24px; align-items: center; padding: 10px 24px;
  border-bottom: 1px solid var(--line); background: #f7f8fa; }
header .brand { font-weight: 700; font-size: 17px; color: var(--fg); text-decoration: none; }
nav a { margin-right: 16px; color: var(--accent); text-decoration: none; }
main { padding: 16px 24px 48px; max-width: 1200px; }
a { color: var(--accent); }
h1 { font-size: 20px; margin: 8px 0 12px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.muted { color: var(--muted); }
.error { color: var(--del); font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.name { word-break: break-all; }
.crumbs a, .crumbs span { margin-right: 4px; }
.bar { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin: 10px 0 14px; }
.bar input[type=text] { min-width: 320px; padding: 5px 8px; }
button, .button { padding: 5px 12px; border: 1px solid var(--accent); background: var(--accent);
  color: #fff; border-radius: 4px; cursor: pointer; text-decoration: none; font: inherit; }
.button.plain { background: #fff; color: var(--accent); }
svg.timeline { width: 100%; height: 46px; display: block; }
svg.timeline circle { fill: var(--accent); cursor: pointer; }
svg.timeline circle.incomplete { fill: var(--mod); }
svg.timeline line { stroke: var(--line); stroke-width: 2; }
svg.timeline text { fill: var(--muted); font-size: 10px; }
.group { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px 12px; margin-bottom: 14px; }
.group h2 { margin: 4px 0; }
.snaps a { display: inline-block; margin: 2px 10px 2px 0; }
.change-added { color: var(--add); } .change-removed { color: var(--del); }
.change-modified { color: var(--mod); } .change-metadata { color: var(--muted); }
.progress { margin: 8px 0; padding: 8px 12px; border: 1px solid var(--line); border-radius: 6px;
  background: #f7f8fa; }
.progress.done { border-color: var(--add); } .progress.failed { border-color: var(--del); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
`;

const APP_JS = String.raw`"use strict";
(function () {
  var main = document.getElementById("main");

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    (children || []).forEach(function (c) {
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function show() {
    main.textContent = "";
    for (var i = 0; i < arguments.length; i++) main.appendChild(arguments[i]);
  }
  function api(path) {
    return fetch(path, { credentials: "same-origin" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || r.statusText);
        return body;
      });
    });
  }
  function fail(err) {
    show(el("p", { "class": "error" }, [String(err && err.message || err)]));
  }
  function bytes(n) {
    if (n === null || n === undefined) return "";
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + " " + u[i];
  }
  function when(iso) {
    var d = new Date(iso);
    return d.toLocaleString();
  }
  function q(params) {
    return Object.keys(params).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
  }
  function route() {
    var h = location.hash.replace(/^#/, "") || "/";
    var qi = h.indexOf("?");
    var path = qi < 0 ? h : h.slice(0, qi);
    var params = new URLSearchParams(qi < 0 ? "" : h.slice(qi + 1));
    return { parts: path.split("/").filter(Boolean), params: params };
  }
  function snapHref(id, path) {
    return "#/snap/" + encodeURIComponent(id) + "?" + q({ path: path || "/" });
  }
  function joinPath(dir, name) { return dir === "/" ? "/" + name : dir + "/" + name; }

  var snapshotsCache = null;
  function snapshots() {
    if (!snapshotsCache) snapshotsCache = api("/api/snapshots").then(function (r) { return r.snapshots; });
    return snapshotsCache;
  }

  // The timeline: one row per host and job, each snapshot a dot on a shared time axis.
  function timeline() {
    snapshotsCache = null;
    snapshots().then(function (list) {
      if (list.length === 0) return show(el("h1", {}, ["Snapshots"]), el("p", { "class": "muted" }, ["This repository has no snapshots yet."]));
      var times = list.map(function (s) { return Date.parse(s.time); });
      var t0 = Math.min.apply(null, times), t1 = Math.max.apply(null, times);
      var span = Math.max(1, t1 - t0);
      var groups = {};
      var order = [];
      list.forEach(function (s) {
        var key = s.host + "\u0000" + (s.job || "");
        if (!groups[key]) { groups[key] = []; order.push(key); }
        groups[key].push(s);
      });
      var out = [el("h1", {}, ["Snapshots"]),
        el("p", { "class": "muted" }, [list.length + (list.length === 1 ? " snapshot, " : " snapshots, ") + when(list.reduce(function (a, s) { return a < s.time ? a : s.time; }, list[0].time)) + " to " + when(new Date(t1).toISOString())])];
      order.forEach(function (key) {
        var g = groups[key];
        var box = el("section", { "class": "group" }, [
          el("h2", {}, [g[0].host, el("span", { "class": "muted" }, [" · job " + (g[0].job || "(none)")])]),
        ]);
        var line = svg("svg", { "class": "timeline", viewBox: "0 0 1000 46", preserveAspectRatio: "none" });
        line.appendChild(svg("line", { x1: 10, y1: 20, x2: 990, y2: 20 }));
        g.forEach(function (s) {
          var x = 10 + 980 * (Date.parse(s.time) - t0) / span;
          var c = svg("circle", { cx: x.toFixed(1), cy: 20, r: 6, "class": s.incomplete ? "incomplete" : "" });
          var t = svg("title", {});
          t.textContent = when(s.time) + " (" + s.id.slice(0, 8) + ")";
          c.appendChild(t);
          c.addEventListener("click", function () { location.hash = snapHref(s.id, "/"); });
          line.appendChild(c);
        });
        var first = svg("text", { x: 10, y: 42 }); first.textContent = when(new Date(t0).toISOString());
        var last = svg("text", { x: 990, y: 42, "text-anchor": "end" }); last.textContent = when(new Date(t1).toISOString());
        line.appendChild(first); line.appendChild(last);
        box.appendChild(line);
        var links = el("div", { "class": "snaps" });
        g.slice().reverse().forEach(function (s) {
          var label = when(s.time) + " · " + s.id.slice(0, 8) + (s.summary ? " · " + bytes(s.summary.bytes_added) + " added" : "");
          links.appendChild(el("a", { "class": "snapshot", href: snapHref(s.id, "/"), "data-id": s.id }, [label]));
        });
        box.appendChild(links);
        out.push(box);
      });
      show.apply(null, out);
    }).catch(fail);
  }

  // One directory of a snapshot.
  function browse(id, path) {
    Promise.all([snapshots(), api("/api/ls?" + q({ snapshot: id, path: path }))]).then(function (r) {
      var snap = r[0].filter(function (s) { return s.id === id; })[0];
      var listing = r[1];
      var crumbs = el("div", { "class": "crumbs" }, [el("a", { href: snapHref(id, "/") }, [snap ? snap.host + " " + when(snap.time) : id.slice(0, 8)])]);
      var acc = "";
      listing.path.split("/").filter(Boolean).forEach(function (p) {
        acc += "/" + p;
        crumbs.appendChild(el("span", {}, ["/"]));
        crumbs.appendChild(el("a", { href: snapHref(id, acc) }, [p]));
      });
      var archive = function (fmt) {
        return el("a", { "class": "button plain", href: "/api/archive?" + q({ snapshot: id, path: listing.path, format: fmt }), download: "" }, ["Download as " + fmt]);
      };
      var target = el("input", { type: "text", id: "restore-target", placeholder: "/absolute/directory/to/restore/into" });
      var overwrite = el("select", { id: "restore-overwrite" }, ["never", "if-changed", "if-newer", "always"].map(function (m) {
        return el("option", { value: m }, ["overwrite: " + m]);
      }));
      var progress = el("div", { id: "restore-progress" });
      var go = el("button", { id: "restore-start", type: "button" }, ["Restore " + (listing.path === "/" ? "everything" : "this folder")]);
      go.addEventListener("click", function () { startRestore(id, listing.path, target.value, overwrite.value, progress); });
      var rows = listing.entries.map(function (e) {
        var p = joinPath(listing.path, e.name);
        var link;
        if (e.type === "dir") link = el("a", { "class": "dir", href: snapHref(id, p), "data-name": e.name }, [e.name + "/"]);
        else if (e.type === "file") link = el("a", { "class": "file", href: "/api/file?" + q({ snapshot: id, path: p }), "data-name": e.name, download: e.name }, [e.name]);
        else link = el("span", {}, [e.name + (e.target !== null ? " → " + e.target : "")]);
        var restoreOne = el("a", { href: "#", "class": "muted" }, ["restore…"]);
        restoreOne.addEventListener("click", function (ev) {
          ev.preventDefault();
          if (!target.value) { target.focus(); progress.textContent = "Type the directory to restore " + p + " into, then click restore… again."; return; }
          startRestore(id, p, target.value, overwrite.value, progress);
        });
        return el("tr", {}, [el("td", { "class": "name" }, [link]), el("td", {}, [e.type]),
          el("td", { "class": "num" }, [e.type === "file" ? bytes(e.size) : ""]), el("td", {}, [when(e.mtime)]), el("td", {}, [restoreOne])]);
      });
      show(
        el("h1", {}, ["Snapshot " + id.slice(0, 8)]),
        crumbs,
        el("div", { "class": "bar" }, [archive("tar"), archive("zip"), snap ? el("a", { href: snap.dav, "class": "muted" }, ["WebDAV"]) : el("span")]),
        el("div", { "class": "bar" }, [target, overwrite, go]),
        progress,
        el("table", { id: "entries" }, [el("thead", {}, [el("tr", {}, ["Name", "Type", "Size", "Modified", ""].map(function (h) { return el("th", {}, [h]); }))]), el("tbody", {}, rows)]),
        listing.entries.length === 0 ? el("p", { "class": "muted" }, ["Empty folder."]) : el("span")
      );
    }).catch(fail);
  }

  function startRestore(id, path, target, overwrite, box) {
    box.className = "progress";
    box.textContent = "Starting…";
    fetch("/api/restore", {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ snapshot: id, path: path, target: target, overwrite: overwrite }),
    }).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.error || r.statusText); return b; });
    }).then(function (st) { poll(st.id, box); }).catch(function (err) {
      box.className = "progress failed";
      box.textContent = "Restore refused: " + err.message;
    });
  }
  function poll(rid, box) {
    api("/api/restore?" + q({ id: rid })).then(function (st) {
      box.className = "progress " + st.state;
      box.textContent = "";
      box.appendChild(el("strong", {}, [st.state === "running" ? "Restoring " : st.state === "done" ? "Restored " : "Restore failed: "]));
      box.appendChild(document.createTextNode(st.path + " into " + st.target + ": " + st.files + " files, " + st.dirs + " folders, " + bytes(st.bytes) + (st.skipped ? ", " + st.skipped + " kept" : "") + (st.message ? " (" + st.message + ")" : "")));
      if (st.state === "running") {
        box.appendChild(el("div", { "class": "muted" }, [st.current]));
        setTimeout(function () { poll(rid, box); }, 400);
      }
      st.errors.forEach(function (e) { box.appendChild(el("div", { "class": "error" }, [e.path + ": " + e.message])); });
    }).catch(function (err) { box.textContent = err.message; });
  }

  function diffView(params) {
    snapshots().then(function (list) {
      var pick = function (name, sel) {
        return el("select", { id: "diff-" + name }, list.map(function (s) {
          var o = el("option", { value: s.id }, [s.host + " · " + (s.job || "-") + " · " + when(s.time) + " · " + s.id.slice(0, 8)]);
          if (s.id === sel) o.setAttribute("selected", "");
          return o;
        }));
      };
      var a = pick("a", params.get("a") || (list[list.length - 2] || list[0] || {}).id);
      var b = pick("b", params.get("b") || (list[list.length - 1] || {}).id);
      var go = el("button", { type: "button" }, ["Compare"]);
      go.addEventListener("click", function () { location.hash = "#/diff?" + q({ a: a.value, b: b.value }); });
      var result = el("div", {});
      show(el("h1", {}, ["Diff two snapshots"]), el("div", { "class": "bar" }, [a, el("span", {}, ["→"]), b, go]), result);
      if (!params.get("a") || !params.get("b")) return;
      result.textContent = "Comparing…";
      api("/api/diff?" + q({ a: params.get("a"), b: params.get("b") })).then(function (d) {
        var s = d.summary;
        result.textContent = "";
        result.appendChild(el("p", {}, [s.added + " added, " + s.removed + " removed, " + s.modified + " modified, " + s.metadata + " metadata only" + (d.total > d.entries.length ? " (first " + d.entries.length + " shown)" : "")]));
        result.appendChild(el("table", { id: "diff" }, [el("tbody", {}, d.entries.map(function (e) {
          var target = e.change === "removed" ? d.a : d.b;
          var parent = e.path.slice(0, e.path.lastIndexOf("/")) || "/";
          return el("tr", {}, [el("td", { "class": "change-" + e.change }, [e.change]),
            el("td", { "class": "name" }, [el("a", { href: snapHref(target, e.type === "dir" ? e.path : parent) }, [e.path])]),
            el("td", { "class": "muted" }, [e.details.join(", ")]), el("td", { "class": "num" }, [e.type === "file" ? bytes(e.size) : ""])]);
        }))]));
      }).catch(function (err) { result.textContent = ""; result.appendChild(el("p", { "class": "error" }, [err.message])); });
    }).catch(fail);
  }

  function findView(params) {
    var input = el("input", { type: "text", id: "find-glob", placeholder: "a name or glob: *.pdf, /home/*/notes.txt", value: params.get("glob") || "" });
    var go = el("button", { type: "button" }, ["Search"]);
    var submit = function () { location.hash = "#/find?" + q({ glob: input.value }); };
    go.addEventListener("click", submit);
    input.addEventListener("keydown", function (ev) { if (ev.key === "Enter") submit(); });
    var result = el("div", {});
    show(el("h1", {}, ["Search by name across snapshots"]), el("div", { "class": "bar" }, [input, go]), result);
    var glob = params.get("glob");
    if (!glob) return;
    result.textContent = "Searching…";
    Promise.all([snapshots(), api("/api/find?" + q({ glob: glob }))]).then(function (r) {
      var byId = {};
      r[0].forEach(function (s) { byId[s.id] = s; });
      var f = r[1];
      result.textContent = "";
      result.appendChild(el("p", {}, [f.total + " matching paths" + (f.total > f.paths.length ? " (first " + f.paths.length + " shown)" : "")]));
      var rows = [];
      f.paths.forEach(function (p) {
        var parent = p.path.slice(0, p.path.lastIndexOf("/")) || "/";
        p.versions.forEach(function (v, i) {
          var last = v.snapshots[v.snapshots.length - 1];
          var links = el("span", {}, v.snapshots.slice(-5).map(function (id) {
            var s = byId[id];
            return el("a", { href: snapHref(id, v.type === "dir" ? p.path : parent), style: null }, [(s ? when(s.time) : id.slice(0, 8)) + " "]);
          }));
          rows.push(el("tr", {}, [el("td", { "class": "name" }, [i === 0 ? p.path : ""]), el("td", {}, [v.type]),
            el("td", { "class": "num" }, [v.type === "file" ? bytes(v.size) : ""]), el("td", {}, [when(v.mtime)]),
            el("td", {}, [v.snapshots.length + " snapshots: ", links]),
            el("td", {}, [v.type === "file" ? el("a", { href: "/api/file?" + q({ snapshot: last, path: p.path }), download: p.path.split("/").pop() }, ["download"]) : ""])]));
        });
      });
      result.appendChild(el("table", { id: "found" }, [el("tbody", {}, rows)]));
    }).catch(function (err) { result.textContent = ""; result.appendChild(el("p", { "class": "error" }, [err.message])); });
  }

  function render() {
    var r = route();
    if (r.parts[0] === "snap" && r.parts[1]) return browse(decodeURIComponent(r.parts[1]), r.params.get("path") || "/");
    if (r.parts[0] === "diff") return diffView(r.params);
    if (r.parts[0] === "find") return findView(r.params);
    timeline();
  }
  window.addEventListener("hashchange", render);
  render();
})();
`;

/** Each asset by its path. */
export const ASSETS: Readonly<Record<string, { type: string; body: string }>> = {
  "/index.html": { type: "text/html; charset=utf-8", body: INDEX_HTML },
  "/app.js": { type: "text/javascript; charset=utf-8", body: APP_JS },
  "/app.css": { type: "text/css; charset=utf-8", body: APP_CSS },
};
