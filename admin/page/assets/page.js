// The Outbound Connections page of callgate's admin listener. It keeps the
// tables that the server rendered current by polling the JSON API of the
// same origin, and calls the same API for the actions. No framework, no
// build step, nothing from anywhere else. The admin token, when one is
// needed, lives in this tab's sessionStorage only.
'use strict';

(function () {
  const body = document.body;
  const cfg = {
    tokenRequired: body.dataset.tokenRequired === 'true',
    protectReads: body.dataset.protectReads === 'true',
    matrix: parseJSON(body.dataset.matrix) || { actions: {}, simulated: {} },
  };
  const TOKEN_KEY = 'callgate-admin-token';
  const LABELS = {
    provision: 'Provision', sync: 'Sync', teardown: 'Teardown',
    accept: 'Accept', reject: 'Reject', 'delete-remotely': 'Delete remotely',
  };
  const TRANSITIONAL = new Set(['Allocating', 'PendingAcceptance', 'PendingActivation', 'TeardownInProgress']);
  const REQUEST_TIMEOUT_MS = 15000;

  const state = {
    connections: null, // the last answer of GET /v1/connections
    credentials: null, // the last answer of GET /v1/named-credentials
    heardAt: cfg.protectReads ? 0 : Date.now(), // the server rendered what it knew
    failure: '', // why the last poll failed; '' when it did not
    skew: 0, // callgate's clock minus this browser's, in ms
    confirm: null, // the connection whose teardown awaits confirmation
    busy: new Set(), // "kind name action" of the calls in flight
    polling: false,
    again: false, // poll once more when the one in flight ends
    lastPoll: 0,
  };

  const $ = (id) => document.getElementById(id);

  function parseJSON(s) {
    try { return JSON.parse(s); } catch (e) { return null; }
  }

  // ---- the token ----

  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }
  function keepToken(t) {
    try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* then it is asked again */ }
  }
  function forgetToken() {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing kept */ }
  }

  function authHeaders(read) {
    const t = token();
    if (t && (!read || cfg.protectReads)) return { Authorization: 'Bearer ' + t };
    return {};
  }

  function renderToken() {
    if (!cfg.tokenRequired) return;
    const held = token() !== '';
    $('token-form').hidden = held;
    $('token-held').hidden = !held;
  }

  function tokenError(msg, focus) {
    $('token-error').textContent = msg;
    renderToken();
    if (focus) $('token-input').focus();
  }

  // tokenRefused: callgate answered 401 to the token this tab holds, or
  // to a call without one. A reload may have set admin.token_file (or
  // admin.protect_reads) since the page was rendered: from now on the page
  // asks for the token, and sends it on reads too when a read was refused.
  function tokenRefused(msg, focus, read) {
    forgetToken();
    cfg.tokenRequired = true;
    if (read) cfg.protectReads = true;
    $('token-panel').hidden = false;
    if (cfg.protectReads) {
      state.connections = null;
      state.credentials = null;
    }
    tokenError(msg, focus);
    render();
  }

  async function submitToken(ev) {
    ev.preventDefault();
    const input = $('token-input');
    const t = input.value.trim();
    input.value = '';
    if (t === '') {
      tokenError('Enter the token: the content of the file admin.token_file names.', true);
      return;
    }
    let r;
    try {
      r = await call('GET', '/v1/token-check', { Authorization: 'Bearer ' + t });
    } catch (e) {
      tokenError('The token could not be checked: ' + failureText(e), true);
      return;
    }
    if (r.status === 200) {
      keepToken(t);
      $('token-error').textContent = '';
      renderToken();
      announce('Token accepted. This tab keeps it until you close the tab or forget it.', false);
      pollNow();
      return;
    }
    if (r.status === 401) {
      tokenError('callgate refused this token (401 unauthorized): it is not the content of admin.token_file. Nothing was kept.', true);
      return;
    }
    tokenError('The token could not be checked: ' + describe(r), true);
  }

  // ---- talking to callgate ----

  async function call(method, path, headers) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
    try {
      // Same origin, no body and no Content-Type: what the admin API's
      // cross-site defences let through.
      const resp = await fetch(path, {
        method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error', signal: ctl.signal,
      });
      const text = await resp.text();
      return { status: resp.status, data: parseJSON(text), date: resp.headers.get('Date') };
    } finally {
      clearTimeout(timer);
    }
  }

  function describe(r) {
    if (r.data && r.data.error) return r.status + ' ' + r.data.error + ': ' + (r.data.message || '');
    return 'HTTP ' + r.status;
  }

  function failureText(e) {
    if (e && e.name === 'AbortError') return 'no answer within ' + REQUEST_TIMEOUT_MS / 1000 + 's';
    return 'callgate is unreachable (' + (e && e.message ? e.message : String(e)) + ')';
  }

  function noteClock(date) {
    const server = Date.parse(date || '');
    if (isNaN(server)) return;
    // Date has whole seconds: the truth is within a second above it.
    const skew = server + 500 - Date.now();
    state.skew = Math.abs(skew) < 2000 ? 0 : skew;
  }

  async function poll() {
    if (state.polling) {
      state.again = true;
      return;
    }
    state.polling = true;
    state.lastPoll = Date.now();
    try {
      if (cfg.protectReads && token() === '') {
        state.connections = null;
        state.credentials = null;
        render();
        return;
      }
      const [c, k] = await Promise.all([
        call('GET', '/v1/connections', authHeaders(true)),
        call('GET', '/v1/named-credentials', authHeaders(true)),
      ]);
      if (c.status === 401 || k.status === 401) {
        tokenRefused(token() === ''
          ? 'callgate needs the admin token to show its connections (401 unauthorized).'
          : 'callgate refused the token this tab held (401 unauthorized): enter it again.', false, true);
        return;
      }
      for (const r of [c, k]) {
        if (r.status !== 200 || !Array.isArray(r.data)) throw new Error(describe(r));
      }
      noteClock(c.date);
      state.connections = c.data;
      state.credentials = k.data;
      state.heardAt = Date.now();
      state.failure = '';
      render();
    } catch (e) {
      state.failure = e instanceof Error && e.name !== 'AbortError' && e.name !== 'TypeError' ? e.message : failureText(e);
      renderHeard();
    } finally {
      state.polling = false;
      if (state.again) {
        state.again = false;
        setTimeout(pollNow, 0);
      }
    }
  }

  function pollNow() {
    state.lastPoll = 0;
    poll();
  }

  async function act(kind, name, action) {
    const label = LABELS[action] || action;
    if (cfg.tokenRequired && token() === '') {
      tokenError('Enter the admin token to ' + label.toLowerCase() + ' ' + name + '.', true);
      return;
    }
    const key = kind + ' ' + name + ' ' + action;
    if (state.busy.has(key)) return;
    state.confirm = null;
    state.busy.add(key);
    render();
    const path = (kind === 'simulated' ? '/v1/simulated/' : '/v1/connections/') +
      encodeURIComponent(name) + '/' + encodeURIComponent(action);
    let r = null;
    try {
      r = await call('POST', path, authHeaders(false));
    } catch (e) {
      announce(label + ' ' + name + ' failed: ' + failureText(e), true);
    }
    state.busy.delete(key);
    if (r) {
      if (r.status === 200) {
        const now = r.data && r.data.status && kind === 'connection' ? ', now ' + r.data.status : '';
        announce(label + ' ' + name + ': done' + now + '.', false);
      } else if (r.status === 401) {
        tokenRefused(token() === ''
          ? 'callgate needs the admin token (401 unauthorized), so ' + label + ' ' + name + ' was not done: enter the token.'
          : 'callgate refused the token (401 unauthorized), so ' + label + ' ' + name + ' was not done: enter the token again.', true, false);
      } else if (r.status === 409 && r.data && r.data.message) {
        announce(label + ' ' + name + ' refused: ' + r.data.message, true);
      } else {
        announce(label + ' ' + name + ' failed: ' + describe(r), true);
      }
    }
    render();
    pollNow();
  }

  function announce(msg, isError) {
    const el = $('announce');
    el.textContent = msg;
    el.classList.toggle('error', isError);
  }

  // ---- what the cells say ----

  function serverNow() { return Date.now() + state.skew; }

  function parseTime(s) {
    if (!s) return NaN;
    return Date.parse(String(s).replace(/(\.\d{3})\d+/, '$1'));
  }

  // countdown writes ms rounded up to whole seconds, as Go does: 3m12s.
  function countdown(ms) {
    let s = Math.max(0, Math.ceil(ms / 1000));
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    if (h > 0) return h + 'h' + m + 'm' + s + 's';
    if (m > 0) return m + 'm' + s + 's';
    return s + 's';
  }

  function age(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  }

  function warmupLeft(v) {
    if (v.status !== 'Ready') return 0;
    const at = parseTime(v.warm_at);
    return isNaN(at) ? 0 : at - serverNow();
  }

  // statusLook mirrors admin/page.go: colour class, word, detail.
  function statusLook(v) {
    switch (v.status) {
      case 'Unprovisioned': return ['st-idle', v.status, ''];
      case 'Ready': {
        const left = warmupLeft(v);
        return left > 0 ? ['st-warm', v.status, 'warming, ' + countdown(left) + ' left'] : ['st-ok', v.status, ''];
      }
      case 'RejectedRemotely':
      case 'DeletedRemotely': return ['st-bad', v.status, ''];
    }
    return [TRANSITIONAL.has(v.status) ? 'st-busy' : 'st-bad', v.status, ''];
  }

  function trafficLook(c) {
    let detail = c.not_admitted_reason || '';
    if (c.admitted) {
      detail = '';
    } else if (c.not_admitted) {
      const conn = (state.connections || []).find((v) => v.name === c.connection);
      if (c.not_admitted === 'warming_up' && conn && warmupLeft(conn) > 0) {
        detail = c.connection + ' is warming up, ' + countdown(warmupLeft(conn)) + ' left';
      }
      detail = c.not_admitted + ': ' + detail;
    }
    if (c.auth_type && c.auth_type !== 'none' && !c.secret_loaded) {
      detail = (detail ? detail + '; ' : '') + 'its ' + c.auth_type +
        ' secret is not loaded: callout requests are refused (credential_unavailable)';
    }
    return [c.admitted ? 'Yes' : 'No', detail];
  }

  function certLook(check) {
    switch (check) {
      case 'ok': return ['st-ok', 'OK'];
      case 'failed': return ['st-bad', 'Failed'];
      case 'not_applicable': return ['st-idle', 'Not applicable (http)'];
      case 'not_checked': case '': case undefined: return ['st-idle', 'Not checked yet'];
    }
    return ['st-idle', check];
  }

  function configHint(edit, del) {
    if (edit && del) return 'Edit or delete: in the config file';
    if (edit) return 'Edit: in the config file';
    if (del) return 'Delete: in the config file';
    return '';
  }

  // ---- building and updating rows ----

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  function setText(e, text) {
    if (e.textContent !== text) e.textContent = text;
  }

  function part(row, cls) {
    return row.querySelector('.' + cls);
  }

  // setBadge writes a badge and its detail into cell, keeping the nodes.
  function setBadge(cell, cls, word, detail) {
    let badge = cell.querySelector('.badge');
    let det = cell.querySelector('.detail');
    if (!badge || !det) {
      badge = el('span');
      det = el('span', { class: 'detail' });
      cell.replaceChildren(badge, det);
    }
    if (badge.className !== 'badge ' + cls) badge.className = 'badge ' + cls;
    setText(badge, word);
    setText(det, detail ? ' — ' + detail : '');
  }

  function placeholder(tbody, cols, text) {
    const rows = tbody.rows;
    if (rows.length === 1 && rows[0].classList.contains('placeholder') && rows[0].textContent === text) return;
    tbody.replaceChildren(el('tr', { class: 'placeholder' }, el('td', { colspan: String(cols), text })));
  }

  // syncRows makes tbody hold one row per item, in order, reusing the row
  // already there for the same name, so focus and the reader's place
  // survive an update.
  function syncRows(tbody, items, create, update) {
    const existing = new Map();
    for (const tr of Array.from(tbody.rows)) {
      if (tr.dataset.name !== undefined) existing.set(tr.dataset.name, tr);
      else tr.remove();
    }
    items.forEach((item, i) => {
      let tr = existing.get(item.name);
      if (tr) existing.delete(item.name);
      else tr = create(item);
      update(tr, item);
      if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null);
    });
    for (const tr of existing.values()) tr.remove();
  }

  const CONN_CELLS = [
    ['c-desc', 'Description'], ['c-type', 'Type'], ['c-service code', 'Service name'], ['c-region', 'Region'],
    ['c-endpoint code', 'Endpoint ID'], ['c-status', 'Status'], ['c-sync', 'Last sync'], ['c-actions', 'Actions'],
  ];

  function newConnRow(v) {
    const tr = el('tr');
    tr.dataset.name = v.name;
    tr.append(el('th', { scope: 'row', class: 'c-name', 'data-label': 'Name', tabindex: '-1' }));
    for (const [cls, label] of CONN_CELLS) tr.append(el('td', { class: cls, 'data-label': label }));
    return tr;
  }

  function updateConnRow(tr, v) {
    setText(part(tr, 'c-name'), v.name);
    setText(part(tr, 'c-desc'), v.description || '');
    setText(part(tr, 'c-type'), v.type || '');
    setText(part(tr, 'c-service'), v.service_name || '');
    setText(part(tr, 'c-region'), v.region || '');
    setText(part(tr, 'c-endpoint'), v.vpc_endpoint_id || '');
    const [cls, word, detail] = statusLook(v);
    setBadge(part(tr, 'c-status'), cls, word, detail);
    updateSync(part(tr, 'c-sync'), v);
    updateActions(part(tr, 'c-actions'), v);
  }

  function updateSync(cell, v) {
    const at = parseTime(v.last_sync);
    const sig = (v.last_sync || '') + '\n' + (v.last_error || '');
    if (cell.dataset.sig !== sig) {
      const parts = [];
      if (isNaN(at)) parts.push(el('span', { class: 'none', text: 'never' }));
      else parts.push(el('time', { datetime: v.last_sync, title: v.last_sync }));
      if (v.last_error) parts.push(el('span', { class: 'sync-error', text: v.last_error }));
      cell.replaceChildren(...parts);
      cell.dataset.sig = sig;
    }
    const t = cell.querySelector('time');
    if (t && !isNaN(at)) setText(t, age(serverNow() - at));
  }

  function offered(v) {
    const allowed = cfg.matrix.actions[v.status] || [];
    const buttons = allowed.filter((a) => a === 'provision' || a === 'sync' || a === 'teardown');
    const hint = configHint(allowed.includes('edit'), allowed.includes('delete'));
    const sim = v.vpc_endpoint_id ? (cfg.matrix.simulated[v.status] || []) : [];
    return { buttons, hint, sim };
  }

  function actionButton(kind, name, action) {
    const label = LABELS[action];
    const b = el('button', {
      type: 'button', class: kind === 'simulated' ? 'act sim' : 'act',
      'data-kind': kind, 'data-action': action, 'data-name': name, 'aria-label': label + ' ' + name, text: label,
    });
    if (state.busy.has(kind + ' ' + name + ' ' + action)) b.setAttribute('aria-disabled', 'true');
    return b;
  }

  function updateActions(cell, v) {
    const o = offered(v);
    const confirming = state.confirm === v.name && o.buttons.includes('teardown');
    const busy = Array.from(state.busy).filter((k) => k.split(' ')[1] === v.name).sort();
    const sig = JSON.stringify([o, confirming, busy]);
    if (cell.dataset.sig === sig) return;
    const active = cell.contains(document.activeElement) ? document.activeElement : null;
    const focusKey = active ? (active.dataset.role || active.dataset.action) : null;
    const parts = [];
    if (confirming) {
      parts.push(el('span', { class: 'confirm-q', text: 'Tear down ' + v.name + '? Traffic through it stops.' }));
      const yes = el('button', {
        type: 'button', class: 'act danger', 'data-kind': 'connection', 'data-action': 'teardown',
        'data-name': v.name, 'data-role': 'confirm', 'aria-label': 'Confirm teardown of ' + v.name, text: 'Confirm teardown',
      });
      parts.push(yes, el('button', {
        type: 'button', class: 'cancel', 'data-role': 'cancel', 'data-name': v.name,
        'aria-label': 'Cancel teardown of ' + v.name, text: 'Cancel',
      }));
    } else {
      for (const a of o.buttons) parts.push(actionButton('connection', v.name, a));
      for (const a of o.sim) parts.push(actionButton('simulated', v.name, a));
      if (o.hint) parts.push(el('span', { class: 'hint', text: o.hint }));
    }
    cell.replaceChildren(...parts);
    cell.dataset.sig = sig;
    if (active) {
      const again = Array.from(cell.querySelectorAll('button'))
        .find((b) => (b.dataset.role || b.dataset.action) === focusKey) || cell.querySelector('button');
      (again || cell.parentElement.querySelector('th')).focus();
    }
  }

  const CRED_CELLS = [
    ['k-url code', 'URL'], ['k-conn', 'Connection'], ['k-traffic', 'Traffic now'], ['k-cert', 'Certificate check'],
    ['k-req num', 'Requests'], ['k-ref num', 'Refusals'],
  ];

  function newCredRow(c) {
    const tr = el('tr');
    tr.dataset.name = c.name;
    tr.append(el('th', { scope: 'row', class: 'k-name', 'data-label': 'Name' }));
    for (const [cls, label] of CRED_CELLS) tr.append(el('td', { class: cls, 'data-label': label }));
    return tr;
  }

  function updateCredRow(tr, c) {
    setText(part(tr, 'k-name'), c.name);
    setText(part(tr, 'k-url'), c.url || '');
    setText(part(tr, 'k-conn'), c.connection || '');
    const [word, detail] = trafficLook(c);
    setBadge(part(tr, 'k-traffic'), c.admitted ? 'st-ok' : 'st-bad', word, detail);
    const [cls, cword] = certLook(c.certificate_check);
    setBadge(part(tr, 'k-cert'), cls, cword, c.certificate_error || '');
    setText(part(tr, 'k-req'), c.requests === undefined ? '—' : String(c.requests));
    setText(part(tr, 'k-ref'), c.refusals === undefined ? '—' : String(c.refusals));
  }

  // ---- the whole page ----

  function render() {
    const conns = $('connection-rows');
    const creds = $('credential-rows');
    if (state.connections === null) {
      if (cfg.protectReads && token() === '') {
        placeholder(conns, 9, 'Enter the admin token to see the outbound connections.');
        placeholder(creds, 7, 'Enter the admin token to see the named credentials.');
      }
    } else {
      if (state.connections.length === 0) placeholder(conns, 9, 'No outbound connections are configured.');
      else syncRows(conns, state.connections, newConnRow, updateConnRow);
      if (state.credentials.length === 0) placeholder(creds, 7, 'No named credentials are configured.');
      else syncRows(creds, state.credentials, newCredRow, updateCredRow);
    }
    renderHeard();
    renderToken();
  }

  function clock(ms) {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, '0');
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }

  function renderHeard() {
    const p = $('heard');
    let text;
    if (state.heardAt === 0) {
      if (state.failure) text = 'Cannot read callgate: ' + state.failure;
      else if (cfg.protectReads && token() === '') text = 'Waiting for the admin token';
      else text = 'Waiting for callgate';
    } else {
      text = 'Last heard from callgate at ' + clock(state.heardAt) + ' (' + age(Date.now() - state.heardAt) + ')';
      if (state.failure) text = 'Cannot read callgate: ' + state.failure + '. ' + text + ': what you see may be out of date';
    }
    p.classList.toggle('stale', state.failure !== '');
    setText(p, text + '.');
  }

  function interval() {
    if (document.hidden) return 30000;
    const busy = state.busy.size > 0 || (state.connections || []).some((v) => TRANSITIONAL.has(v.status));
    return busy ? 1000 : 5000;
  }

  let warming = new Set();
  function tick() {
    // A connection that has just warmed up admits traffic: ask at once
    // rather than show a stale "warming_up".
    const now = new Set((state.connections || []).filter((v) => warmupLeft(v) > 0).map((v) => v.name));
    const warmed = Array.from(warming).some((n) => !now.has(n));
    warming = now;
    if (warmed || Date.now() - state.lastPoll >= interval()) poll();
    else render();
  }

  document.addEventListener('click', (ev) => {
    const b = ev.target instanceof Element ? ev.target.closest('button') : null;
    if (!b) return;
    if (b.id === 'token-forget') {
      forgetToken();
      if (cfg.protectReads) {
        state.connections = null;
        state.credentials = null;
      }
      $('token-error').textContent = '';
      render();
      announce('Token forgotten.', false);
      $('token-input').focus();
      return;
    }
    if (b.dataset.role === 'cancel') {
      state.confirm = null;
      render();
      const t = document.querySelector('button.act[data-action="teardown"][data-name="' + CSS.escape(b.dataset.name) + '"]');
      if (t) t.focus();
      announce('Teardown of ' + b.dataset.name + ' cancelled.', false);
      return;
    }
    if (!b.classList.contains('act') || b.getAttribute('aria-disabled') === 'true') return;
    const { kind, action, name } = b.dataset;
    if (kind === 'connection' && action === 'teardown' && b.dataset.role !== 'confirm') {
      state.confirm = name;
      render();
      const yes = document.querySelector('button[data-role="confirm"][data-name="' + CSS.escape(name) + '"]');
      if (yes) yes.focus();
      return;
    }
    act(kind, name, action);
  });

  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && state.confirm !== null) {
      const cancel = document.querySelector('button[data-role="cancel"]');
      if (cancel) cancel.click();
    }
  });

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) pollNow();
  });

  $('token-form').addEventListener('submit', submitToken);
  render();
  pollNow();
  setInterval(tick, 1000);
})();
