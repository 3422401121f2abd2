/**
 * The dashboard's three files (page, style, script), kept as strings so the server needs no
 * build step and no asset outside the package: no CDN, no font, no framework. The script only
 * talks to /v0/management/* on the same origin, with the key kept in sessionStorage, and builds
 * every element with the DOM API (no HTML from data), so the page works under a strict CSP.
 */

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cliproxy dashboard</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>cliproxy</h1>
  <span id="summary"></span>
  <button id="sign-out" hidden>Sign out</button>
</header>
<main>
  <section id="login-view" hidden>
    <h2>Management key</h2>
    <p>Enter the management key (<code>remote-management.secret-key</code> or <code>CLIPROXY_MANAGEMENT_KEY</code>). It is kept in this tab only.</p>
    <form id="login">
      <input id="key" type="password" autocomplete="current-password" placeholder="management key" required>
      <button id="sign-in" type="submit">Sign in</button>
    </form>
    <p id="login-error" class="error" role="alert"></p>
  </section>
  <section id="app-view" hidden>
    <div class="toolbar">
      <h2>Accounts</h2>
      <button id="add-device">Add account (device code)</button>
      <button id="add-browser">Add account (browser)</button>
    </div>
    <div id="login-panel" hidden>
      <p id="login-status"></p>
      <p id="login-code-line" hidden>Open <a id="login-link" target="_blank" rel="noopener noreferrer"></a> and enter <strong id="user-code"></strong></p>
      <button id="login-cancel">Cancel</button>
    </div>
    <p id="error" class="error" role="alert"></p>
    <table id="accounts">
      <thead><tr><th>Account</th><th>Plan</th><th>State</th><th>Token expires</th><th>Cooldown</th><th>Usage 5 h / week</th><th>Requests</th><th>Tokens in / out</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <h2>Requests per hour (last 24 h)</h2>
    <div id="chart"></div>
    <h2>Usage</h2>
    <table id="usage">
      <thead><tr><th>Account</th><th>Model</th><th>Requests (1 h)</th><th>Requests (24 h)</th><th>Tokens in / out (24 h)</th><th>Errors (24 h)</th></tr></thead>
      <tbody></tbody>
    </table>
    <h2>Recent requests</h2>
    <table id="logs">
      <thead><tr><th>Time</th><th>Method</th><th>Route</th><th>Model</th><th>Account</th><th>Status</th><th>Latency</th><th>TTFB</th><th>Tokens in / out</th><th>Retries</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
</body>
</html>
`;

export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --fg: #1d2430; --muted: #6b7380; --bg: #f6f7f9; --card: #fff; --line: #dde1e6; --accent: #2f6fdf; --bad: #c23b3b; --warn: #c98a12; --ok: #2f9d57; }
@media (prefers-color-scheme: dark) { :root { --fg: #e5e8ec; --muted: #9aa3ad; --bg: #14171c; --card: #1c2027; --line: #2e343d; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
#summary { color: var(--muted); flex: 1; }
main { padding: 16px 20px; max-width: 1400px; }
h2 { font-size: 15px; margin: 22px 0 8px; }
.toolbar { display: flex; align-items: center; gap: 10px; }
.toolbar h2 { margin-right: auto; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num { font-variant-numeric: tabular-nums; }
button { font: inherit; padding: 5px 10px; border: 1px solid var(--line); border-radius: 5px; background: var(--card); color: var(--fg); cursor: pointer; }
button:hover { border-color: var(--accent); }
button.danger { color: var(--bad); }
input { font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 5px; min-width: 320px; background: var(--card); color: var(--fg); }
.error { color: var(--bad); min-height: 1em; }
.state { padding: 1px 7px; border-radius: 10px; font-size: 12px; border: 1px solid currentColor; }
.state-ready { color: var(--ok); } .state-cooling, .state-refreshing, .state-expired { color: var(--warn); } .state-disabled, .state-needs-login { color: var(--bad); }
.bar { display: inline-block; width: 70px; height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; vertical-align: middle; margin-right: 4px; }
.fill { height: 100%; background: var(--accent); }
.fill.high { background: var(--bad); }
#login-panel { margin: 10px 0; padding: 10px 14px; background: var(--card); border: 1px solid var(--accent); border-radius: 6px; }
#user-code { font-size: 18px; letter-spacing: 1px; }
#chart svg { width: 100%; height: 140px; background: var(--card); border: 1px solid var(--line); }
#chart rect.requests { fill: var(--accent); } #chart rect.errors { fill: var(--bad); }
#chart text { fill: var(--muted); font-size: 10px; }
`;

export const DASHBOARD_JS = String.raw`
'use strict';
(function () {
  var KEY = 'cliproxy.managementKey';
  var REFRESH_MS = 3000;
  var timer = null;
  var accounts = [];
  var pendingLogin = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, props, children) {
    var e = document.createElement(tag);
    if (props) for (var k in props) {
      if (k === 'text') e.textContent = props[k];
      else if (k === 'className') e.className = props[k];
      else if (k.indexOf('on') === 0) e.addEventListener(k.slice(2), props[k]);
      else e.setAttribute(k, props[k]);
    }
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function fmtNum(n) { return n === null || n === undefined ? '-' : Number(n).toLocaleString('en-US'); }
  function fmtDuration(ms) {
    if (ms <= 0) return 'now';
    var s = Math.round(ms / 1000);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 172800) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd';
  }

  function key() { return sessionStorage.getItem(KEY); }

  function api(method, path, body) {
    var init = { method: method, headers: { authorization: 'Bearer ' + key() } };
    if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch('/v0/management' + path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (res.status === 401 || res.status === 429 || res.status === 403) {
          var msg = data && data.error ? data.error.message : 'HTTP ' + res.status;
          signOut(msg);
          throw new Error(msg);
        }
        if (!res.ok) throw new Error(data && data.error ? data.error.message : 'HTTP ' + res.status);
        return data;
      });
    });
  }

  function showError(msg) { $('error').textContent = msg || ''; }

  function signOut(msg) {
    sessionStorage.removeItem(KEY);
    if (timer) clearInterval(timer);
    timer = null;
    $('app-view').hidden = true;
    $('sign-out').hidden = true;
    $('login-view').hidden = false;
    $('login-error').textContent = msg || '';
    $('summary').textContent = '';
  }

  function signIn(k) {
    sessionStorage.setItem(KEY, k);
    api('GET', '/accounts').then(function (data) {
      $('login-view').hidden = true;
      $('app-view').hidden = false;
      $('sign-out').hidden = false;
      $('login-error').textContent = '';
      renderAccounts(data.accounts);
      refresh();
      if (timer) clearInterval(timer);
      timer = setInterval(refresh, REFRESH_MS);
    }).catch(function () { /* signOut showed why */ });
  }

  function refresh() {
    Promise.all([api('GET', '/accounts'), api('GET', '/usage'), api('GET', '/logs?tail=50')]).then(function (r) {
      renderAccounts(r[0].accounts);
      renderUsage(r[1]);
      renderLogs(r[2].lines);
      showError('');
    }).catch(function (e) { if (key()) showError(e.message); });
  }

  function usageBar(w) {
    var pct = w && typeof w.usedPercent === 'number' ? w.usedPercent : null;
    var fill = el('div', { className: 'fill' + (pct !== null && pct >= 90 ? ' high' : '') });
    fill.style.width = (pct === null ? 0 : Math.min(100, pct)) + '%';
    return el('span', { title: pct === null ? 'no data yet' : pct + '% used' }, [el('span', { className: 'bar' }, [fill]), pct === null ? '-' : Math.round(pct) + '%']);
  }

  function renderAccounts(list) {
    accounts = list;
    var body = $('accounts').querySelector('tbody');
    body.textContent = '';
    var now = Date.now();
    var usable = 0;
    list.forEach(function (a) {
      if (a.state !== 'disabled' && a.state !== 'needs-login') usable++;
      var toggle = el('button', { className: 'toggle', text: a.disabled ? 'Enable' : 'Disable', onclick: function () {
        api('POST', '/accounts/' + a.id + (a.disabled ? '/enable' : '/disable')).then(refresh).catch(function (e) { showError(e.message); });
      } });
      var remove = el('button', { className: 'remove danger', text: 'Remove', onclick: function () {
        if (!confirm('Remove ' + a.email + '? Its token file is deleted and its refresh token revoked.')) return;
        api('DELETE', '/accounts/' + a.id).then(refresh).catch(function (e) { showError(e.message); });
      } });
      var cooldown = el('td', { className: 'cooldown' });
      if (a.cooldownUntil) { cooldown.setAttribute('data-until', String(a.cooldownUntil)); cooldown.textContent = fmtDuration(a.cooldownUntil - now) + ' (' + (a.cooldownReason || '') + ')'; }
      else cooldown.textContent = '-';
      var usage = a.usage || {};
      body.appendChild(el('tr', { 'data-account-id': a.id }, [
        el('td', { className: 'email', title: a.id }, [a.email + ' ', el('small', { text: a.id })]),
        el('td', { text: a.planType }),
        el('td', {}, [el('span', { className: 'state state-' + a.state, text: a.state })]),
        el('td', { text: a.expiresAt ? (a.expiresAt > now ? 'in ' + fmtDuration(a.expiresAt - now) : 'expired') : '-' }),
        cooldown,
        el('td', {}, [usageBar(usage.primary), ' ', usageBar(usage.secondary)]),
        el('td', { className: 'num requests', text: fmtNum(a.requests) + ' (' + fmtNum(a.failures) + ' failed)' }),
        el('td', { className: 'num', text: fmtNum(a.inputTokens) + ' / ' + fmtNum(a.outputTokens) }),
        el('td', {}, [toggle, ' ', remove]),
      ]));
    });
    $('summary').textContent = list.length + ' account' + (list.length === 1 ? '' : 's') + ', ' + usable + ' usable';
  }

  function tickCooldowns() {
    var now = Date.now();
    Array.prototype.forEach.call(document.querySelectorAll('td.cooldown[data-until]'), function (td) {
      var until = Number(td.getAttribute('data-until'));
      td.textContent = until > now ? fmtDuration(until - now) + td.textContent.replace(/^[^(]*/, ' ') : 'over';
    });
  }

  function labelOf(id) {
    for (var i = 0; i < accounts.length; i++) if (accounts[i].id === id) return accounts[i].email + ' (' + id + ')';
    return id;
  }

  function renderUsage(u) {
    var svgNs = 'http://www.w3.org/2000/svg';
    var hours = u.hourly;
    var max = 1;
    hours.forEach(function (h) { if (h.requests > max) max = h.requests; });
    var svg = document.createElementNS(svgNs, 'svg');
    svg.setAttribute('viewBox', '0 0 480 140');
    hours.forEach(function (h, i) {
      var x = i * 20 + 2;
      var height = Math.round((h.requests / max) * 110);
      var bar = document.createElementNS(svgNs, 'rect');
      bar.setAttribute('class', 'requests');
      bar.setAttribute('x', String(x)); bar.setAttribute('width', '16');
      bar.setAttribute('y', String(120 - height)); bar.setAttribute('height', String(height));
      var title = document.createElementNS(svgNs, 'title');
      title.textContent = h.start + ': ' + h.requests + ' requests, ' + h.errors + ' errors';
      bar.appendChild(title);
      svg.appendChild(bar);
      var eh = Math.round((h.errors / max) * 110);
      if (eh > 0) {
        var err = document.createElementNS(svgNs, 'rect');
        err.setAttribute('class', 'errors');
        err.setAttribute('x', String(x)); err.setAttribute('width', '16');
        err.setAttribute('y', String(120 - eh)); err.setAttribute('height', String(eh));
        svg.appendChild(err);
      }
      if (i % 3 === 0) {
        var t = document.createElementNS(svgNs, 'text');
        t.setAttribute('x', String(x)); t.setAttribute('y', '134');
        t.textContent = new Date(h.start).getHours() + 'h';
        svg.appendChild(t);
      }
    });
    var chart = $('chart');
    chart.textContent = '';
    chart.appendChild(svg);

    var hourBy = {};
    u.hour.byAccountAndModel.forEach(function (r) { hourBy[r.id + ' ' + r.model] = r.requests; });
    var body = $('usage').querySelector('tbody');
    body.textContent = '';
    u.day.byAccountAndModel.forEach(function (r) {
      body.appendChild(el('tr', {}, [
        el('td', { text: r.email ? r.email + ' (' + r.id + ')' : r.id }),
        el('td', { text: r.model }),
        el('td', { className: 'num', text: fmtNum(hourBy[r.id + ' ' + r.model] || 0) }),
        el('td', { className: 'num', text: fmtNum(r.requests) }),
        el('td', { className: 'num', text: fmtNum(r.inputTokens) + ' / ' + fmtNum(r.outputTokens) }),
        el('td', { className: 'num', text: fmtNum(r.errors) }),
      ]));
    });
  }

  function renderLogs(lines) {
    var body = $('logs').querySelector('tbody');
    body.textContent = '';
    lines.slice().reverse().forEach(function (l) {
      body.appendChild(el('tr', { 'data-account': l.account || '' }, [
        el('td', { text: new Date(l.time).toLocaleTimeString() }),
        el('td', { text: l.method }),
        el('td', { text: l.route }),
        el('td', { text: l.model || '-' }),
        el('td', { className: 'account', text: l.account ? labelOf(l.account) : '-' }),
        el('td', { className: 'status', text: String(l.status) }),
        el('td', { className: 'num', text: l.latencyMs + ' ms' }),
        el('td', { className: 'num', text: l.ttfbMs === null ? '-' : l.ttfbMs + ' ms' }),
        el('td', { className: 'num', text: fmtNum(l.tokensIn) + ' / ' + fmtNum(l.tokensOut) }),
        el('td', { className: 'num', text: String(l.retries) }),
      ]));
    });
  }

  function startLogin(method) {
    if (pendingLogin) return;
    showError('');
    // a window opened before the request keeps the popup blocker quiet for the browser method
    var popup = method === 'browser' ? window.open('about:blank', '_blank') : null;
    api('POST', '/logins', { method: method }).then(function (login) {
      pendingLogin = login;
      $('login-panel').hidden = false;
      $('login-cancel').textContent = 'Cancel';
      $('login-status').textContent = method === 'device' ? 'Waiting for the device code to be entered\u2026' : 'Waiting for the sign-in in the browser tab\u2026';
      $('login-link').textContent = login.url;
      $('login-link').setAttribute('href', login.url);
      if (method === 'device') {
        $('user-code').textContent = login.user_code;
        $('login-code-line').hidden = false;
      } else {
        $('login-code-line').hidden = true;
        if (popup) popup.location.href = login.url; else window.open(login.url, '_blank', 'noopener');
      }
      pollLogin(login.id);
    }).catch(function (e) {
      if (popup) popup.close();
      showError(e.message);
    });
  }

  function pollLogin(id) {
    api('GET', '/logins/' + id).then(function (login) {
      if (login.status === 'pending') { setTimeout(function () { pollLogin(id); }, 1000); return; }
      pendingLogin = null;
      $('login-code-line').hidden = true;
      $('login-cancel').textContent = 'Close';
      $('login-status').textContent = login.status === 'done' ? 'Signed in: ' + login.account.email + ' (' + login.account.planType + ')' : 'Sign-in failed: ' + login.error;
      refresh();
    }).catch(function (e) { pendingLogin = null; showError(e.message); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('login').addEventListener('submit', function (ev) {
      ev.preventDefault();
      signIn($('key').value.trim());
      $('key').value = '';
    });
    $('sign-out').addEventListener('click', function () { signOut(''); });
    $('add-device').addEventListener('click', function () { startLogin('device'); });
    $('add-browser').addEventListener('click', function () { startLogin('browser'); });
    $('login-cancel').addEventListener('click', function () {
      if (pendingLogin) api('DELETE', '/logins/' + pendingLogin.id).catch(function () { /* already over */ });
      $('login-panel').hidden = true;
    });
    setInterval(tickCooldowns, 1000);
    if (key()) signIn(key()); else signOut('');
  });
})();
`;
