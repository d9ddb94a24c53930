// odoo-sync admin page: login, start a sync, follow it live (SSE, polling fallback), history,
// failed webhooks. Vanilla ES2020, no dependencies, no build step. Server data only ever reaches
// the DOM through textContent / attributes (never innerHTML), so an error message cannot inject markup.
'use strict';

(() => {
  const API = '/api/products/sync';
  const TOKEN_KEY = 'odooSync.adminToken';
  const LANG_KEY = 'odooSync.lang';
  const POLL_MS = 2000;          // status polling while a run is followed without SSE
  const SSE_QUIET_MS = 20000;    // no SSE event for this long: double-check with one status call
  const IDLE_MS = 30000;         // background refresh (relative times, runs started elsewhere)
  const START_GRACE_MS = 10000;  // a just-started run may not show in /status yet

  // ---------------------------------------------------------------- i18n
  const I18N = {
    fr: {
      pageTitle: 'Administration · odoo-sync', appSubtitle: 'Administration',
      langToggle: 'EN', langToggleLabel: 'Afficher en anglais (English)', logout: 'Se déconnecter',
      loginTitle: 'Connexion', loginIntro: 'Saisissez le jeton d’administration (ADMIN_TOKEN) du serveur.',
      tokenLabel: 'Jeton d’administration', loginButton: 'Se connecter', tokenRequired: 'Saisissez un jeton.',
      invalidToken: 'Jeton invalide', sessionExpired: 'Session expirée : reconnectez-vous.',
      dashboardTitle: 'Tableau de bord de synchronisation',
      syncTitle: 'Synchronisation du catalogue',
      syncHint: 'Synchronisation incrémentale : seuls les produits modifiés dans Odoo sont relus.',
      syncButton: 'Synchroniser', fullSyncButton: 'Resynchronisation complète',
      confirmFullTitle: 'Lancer une resynchronisation complète ?',
      confirmFullBody: 'Tous les produits seront relus depuis Odoo, ce qui peut prendre plusieurs minutes.',
      confirmOk: 'Lancer', cancel: 'Annuler', dismiss: 'Fermer',
      runStarted: 'Synchronisation n° {id} lancée.',
      alreadyRunning: 'Une synchronisation est déjà en cours (n° {id}) : affichage de sa progression.',
      runTitleCurrent: 'Synchronisation n° {id}', runTitleLast: 'Dernière synchronisation (n° {id})',
      noRunYet: 'Aucune synchronisation pour l’instant.', progressLabel: 'Progression de la synchronisation',
      progressKnown: '{processed} / {total} produits ({percent} %)', progressUnknown: '{processed} produits traités',
      liveSse: 'En direct', livePolling: 'Actualisation toutes les 2 s',
      phase: 'Étape', rate: 'Débit', eta: 'Temps restant', duration: 'Durée',
      rateValue: '{n} produits/s',
      created: 'Créés', updated: 'Mis à jour', unchanged: 'Inchangés', archived: 'Archivés', deleted: 'Supprimés',
      errorLabel: 'Erreur :',
      phase_categories: 'Catégories', phase_variants: 'Variantes', phase_templates: 'Modèles de produits',
      phase_deletions: 'Suppressions', phase_done: 'Terminé',
      status_running: 'En cours', status_succeeded: 'Réussie', status_failed: 'Échouée', status_skipped: 'Ignorée',
      status_none: 'Aucune',
      mode_full: 'Complète', mode_incremental: 'Incrémentale',
      trigger_api: 'API', trigger_cli: 'Ligne de commande', trigger_schedule: 'Planifiée', trigger_cron: 'Cron',
      trigger_webhook: 'Webhook', trigger_demo: 'Démo',
      statusCards: 'État du catalogue',
      cardLastSuccess: 'Dernière synchronisation réussie', cardNext: 'Prochaine synchronisation planifiée',
      cardProducts: 'Produits au catalogue', cardProductsSub: 'Produits actuellement servis', cardImages: 'Images stockées',
      never: 'Jamais', notScheduled: 'Non planifiée',
      justNow: 'à l’instant', inAMoment: 'dans un instant',
      agoMin: 'il y a {n} min', agoHour: 'il y a {n} h', agoDay: 'il y a {n} j',
      inMin: 'dans {n} min', inHour: 'dans {n} h', inDay: 'dans {n} j',
      durS: '{n} s', durMin: '{n} min', durH: '{n} h', durLt1: '< 1 s',
      historyTitle: 'Historique des synchronisations', refresh: 'Actualiser',
      colId: 'N°', colStarted: 'Début', colMode: 'Mode', colTrigger: 'Déclencheur', colStatus: 'Statut',
      colCounts: 'Produits', colDuration: 'Durée', colError: 'Erreur',
      noRuns: 'Aucune synchronisation enregistrée.', showError: 'Voir l’erreur', noChanges: 'Aucun changement',
      webhooksTitle: 'Webhooks en échec', colModel: 'Modèle', colRecord: 'Enregistrement',
      colAttempts: 'Tentatives', colLastError: 'Dernière erreur', colReceived: 'Reçu', colAction: 'Action',
      retry: 'Rejouer', noWebhooks: 'Aucun webhook en échec.', webhookRetried: 'Webhook n° {id} remis en file.',
      siteWebhooksTitle: 'Notifications au site en échec', colUrl: 'Adresse', colCreated: 'Créée',
      siteWebhookReplayed: 'Notification n° {id} renvoyée.',
      networkError: 'Serveur injoignable. Vérifiez votre connexion.',
      genericError: 'Erreur inattendue (HTTP {status}).',
    },
    en: {
      pageTitle: 'Admin · odoo-sync', appSubtitle: 'Admin',
      langToggle: 'FR', langToggleLabel: 'Show in French (français)', logout: 'Log out',
      loginTitle: 'Sign in', loginIntro: 'Enter the server’s admin token (ADMIN_TOKEN).',
      tokenLabel: 'Admin token', loginButton: 'Sign in', tokenRequired: 'Enter a token.',
      invalidToken: 'Invalid token', sessionExpired: 'Session expired: please sign in again.',
      dashboardTitle: 'Sync dashboard',
      syncTitle: 'Catalog sync',
      syncHint: 'Incremental sync: only products changed in Odoo are read again.',
      syncButton: 'Sync now', fullSyncButton: 'Full resync',
      confirmFullTitle: 'Start a full resync?',
      confirmFullBody: 'Every product will be read again from Odoo, which can take several minutes.',
      confirmOk: 'Start', cancel: 'Cancel', dismiss: 'Dismiss',
      runStarted: 'Sync #{id} started.',
      alreadyRunning: 'A sync is already running (#{id}); showing its progress.',
      runTitleCurrent: 'Sync #{id}', runTitleLast: 'Last sync (#{id})',
      noRunYet: 'No sync yet.', progressLabel: 'Sync progress',
      progressKnown: '{processed} / {total} products ({percent}%)', progressUnknown: '{processed} products processed',
      liveSse: 'Live', livePolling: 'Refreshing every 2 s',
      phase: 'Phase', rate: 'Rate', eta: 'Time left', duration: 'Duration',
      rateValue: '{n} products/s',
      created: 'Created', updated: 'Updated', unchanged: 'Unchanged', archived: 'Archived', deleted: 'Deleted',
      errorLabel: 'Error:',
      phase_categories: 'Categories', phase_variants: 'Variants', phase_templates: 'Product templates',
      phase_deletions: 'Deletions', phase_done: 'Done',
      status_running: 'Running', status_succeeded: 'Succeeded', status_failed: 'Failed', status_skipped: 'Skipped',
      status_none: 'None',
      mode_full: 'Full', mode_incremental: 'Incremental',
      trigger_api: 'API', trigger_cli: 'Command line', trigger_schedule: 'Scheduled', trigger_cron: 'Cron',
      trigger_webhook: 'Webhook', trigger_demo: 'Demo',
      statusCards: 'Catalog status',
      cardLastSuccess: 'Last successful sync', cardNext: 'Next scheduled sync',
      cardProducts: 'Products in catalog', cardProductsSub: 'Products currently served', cardImages: 'Images stored',
      never: 'Never', notScheduled: 'Not scheduled',
      justNow: 'just now', inAMoment: 'in a moment',
      agoMin: '{n} min ago', agoHour: '{n} h ago', agoDay: '{n} d ago',
      inMin: 'in {n} min', inHour: 'in {n} h', inDay: 'in {n} d',
      durS: '{n} s', durMin: '{n} min', durH: '{n} h', durLt1: '< 1 s',
      historyTitle: 'Sync history', refresh: 'Refresh',
      colId: '#', colStarted: 'Started', colMode: 'Mode', colTrigger: 'Trigger', colStatus: 'Status',
      colCounts: 'Products', colDuration: 'Duration', colError: 'Error',
      noRuns: 'No sync recorded yet.', showError: 'Show error', noChanges: 'No changes',
      webhooksTitle: 'Failed webhooks', colModel: 'Model', colRecord: 'Record',
      colAttempts: 'Attempts', colLastError: 'Last error', colReceived: 'Received', colAction: 'Action',
      retry: 'Retry', noWebhooks: 'No failed webhooks.', webhookRetried: 'Webhook #{id} queued again.',
      siteWebhooksTitle: 'Failed site notifications', colUrl: 'URL', colCreated: 'Created',
      siteWebhookReplayed: 'Notification #{id} sent again.',
      networkError: 'Cannot reach the server. Check your connection.',
      genericError: 'Unexpected error (HTTP {status}).',
    },
  };
  const COUNT_KEYS = ['created', 'updated', 'unchanged', 'archived', 'deleted'];

  const state = {
    lang: pickLang(),
    token: null,
    status: null,          // last /status body
    live: null,            // RunView shown in the progress panel (current run, else last run)
    runs: null,            // history rows
    webhooks: null,        // failed webhook events; null = not loaded, false = endpoint absent (404)
    siteWebhooks: null,    // failed deliveries to the site; null = not loaded, false = endpoint absent (404)
    tracking: false,       // following a running run
    trackRunId: null,
    trackSince: 0,
    es: null,              // EventSource while following over SSE
    lastEventAt: 0,
    pollTimer: null,
    quietTimer: null,
    idleTimer: null,
    starting: false,       // a POST /sync is in flight
    statusInFlight: false,
    loginError: null,      // {key} or {text}
  };

  function pickLang() {
    const saved = safeStorage(() => localStorage.getItem(LANG_KEY));
    if (saved === 'fr' || saved === 'en') return saved;
    return String(navigator.language || '').toLowerCase().startsWith('fr') ? 'fr' : 'en';
  }

  function t(key, vars = {}) {
    const raw = I18N[state.lang][key] ?? I18N.en[key] ?? key;
    return raw.replace(/\{(\w+)\}/g, (m, name) => (vars[name] ?? m).toString());
  }

  function applyStaticI18n() {
    document.documentElement.lang = state.lang;
    document.title = t('pageTitle');
    document.querySelectorAll('[data-i18n]').forEach((node) => { node.textContent = t(node.dataset.i18n); });
    document.querySelectorAll('[data-i18n-attr]').forEach((node) => {
      node.dataset.i18nAttr.split(';').forEach((pair) => {
        const [attr, key] = pair.split(':');
        node.setAttribute(attr.trim(), t(key.trim()));
      });
    });
  }

  function setLang(lang) {
    state.lang = lang;
    safeStorage(() => localStorage.setItem(LANG_KEY, lang));
    applyStaticI18n();
    renderLoginError();
    renderAll();
  }

  // ---------------------------------------------------------------- formatting
  const fmtNum = (n) => (typeof n === 'number' ? new Intl.NumberFormat(state.lang).format(n) : '—');
  const fmtRate = (n) => new Intl.NumberFormat(state.lang, { maximumFractionDigits: 1 }).format(n);

  function parseDate(iso) {
    const d = iso ? new Date(iso) : null;
    return d && !Number.isNaN(d.getTime()) ? d : null;
  }

  function fmtDate(iso, withSeconds = false) {
    const d = parseDate(iso);
    if (!d) return iso || '—';
    return new Intl.DateTimeFormat(state.lang, { dateStyle: 'medium', timeStyle: withSeconds ? 'medium' : 'short' }).format(d);
  }

  function fmtRelative(iso) {
    const d = parseDate(iso);
    if (!d) return iso || '—';
    const diff = (d.getTime() - Date.now()) / 1000;
    const abs = Math.abs(diff);
    const future = diff > 0;
    if (abs < 45) return t(future ? 'inAMoment' : 'justNow');
    const [unit, n] = abs < 3600 ? ['Min', Math.round(abs / 60)]
      : abs < 86400 ? ['Hour', Math.round(abs / 3600)] : ['Day', Math.round(abs / 86400)];
    return t((future ? 'in' : 'ago') + unit, { n });
  }

  /** "2 min 10 s", "1 h 5 min", "45 s". */
  function fmtDuration(seconds) {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '—';
    if (seconds < 1) return t('durLt1');
    const s = Math.round(seconds);
    if (s < 60) return t('durS', { n: s });
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const parts = h ? [t('durH', { n: h }), m && t('durMin', { n: m })] : [t('durMin', { n: m }), r && t('durS', { n: r })];
    return parts.filter(Boolean).join(' ');
  }

  const label = (prefix, value) => (value ? (I18N[state.lang][`${prefix}_${value}`] ? t(`${prefix}_${value}`) : value) : '—');

  // ---------------------------------------------------------------- DOM helpers
  const $ = (id) => document.getElementById(id);

  /** el('td', {className, dataset, title, ...}, ...children): children are nodes or plain text. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'className') node.className = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c != null && c !== false) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  function timeEl(iso, text) {
    return el('time', { datetime: iso, title: fmtDate(iso, true) }, text);
  }

  function badge(status) {
    return el('span', { className: `badge badge--${status}`, dataset: { status } }, label('status', status));
  }

  function safeStorage(fn) {
    try { return fn(); } catch { return null; }   // storage can throw (privacy mode, sandboxed iframe)
  }

  // ---------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, code, message, detail = {}) {
      super(message);
      Object.assign(this, { status, code, detail });
    }
  }

  /** fetch + JSON; throws ApiError carrying the server's {"error": {"code", "message"}} when not ok. */
  async function api(path, { method = 'GET', body, token = state.token } = {}) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, 'network_error', t('networkError'));
    }
    const text = await res.text().catch(() => '');
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || t('genericError', { status: res.status }), e);
    }
    return data;
  }

  /** Any failed call: 401 sends the admin back to the login screen, anything else goes to the banner. */
  function handleError(err) {
    if (!state.token) return;   // a late answer after logging out
    if (err.status === 401) { logout({ key: 'sessionExpired' }); return; }
    showBanner(err.message || t('genericError', { status: err.status }));
  }

  function showBanner(message) {
    $('error-text').textContent = message;
    $('error-banner').hidden = false;
  }

  function hideBanner() {
    $('error-banner').hidden = true;
    $('error-text').textContent = '';
  }

  function showNotice(text) {
    $('sync-notice').textContent = text;
    $('sync-notice').hidden = false;
  }

  // ---------------------------------------------------------------- session
  async function login(token) {
    state.loginError = null;
    renderLoginError();
    if (!token) { state.loginError = { key: 'tokenRequired' }; renderLoginError(); return; }
    setBusy($('login-button'), true);
    try {
      const status = await api(`${API}/status`, { token });
      state.token = token;
      safeStorage(() => sessionStorage.setItem(TOKEN_KEY, token));
      showDashboard();
      applyStatus(status);
      loadHistory();
      loadWebhooks();
      loadSiteWebhooks();
    } catch (err) {
      safeStorage(() => sessionStorage.removeItem(TOKEN_KEY));
      // 401: wrong token. 503 sync_api_disabled: ADMIN_TOKEN unset on the server; its message says so.
      state.loginError = err.status === 401 ? { key: 'invalidToken' } : { text: err.message };
      showLogin();
    } finally {
      setBusy($('login-button'), false);
    }
  }

  function logout(error = null) {
    stopTracking();
    clearInterval(state.idleTimer);
    safeStorage(() => sessionStorage.removeItem(TOKEN_KEY));
    Object.assign(state, { token: null, status: null, live: null, runs: null, webhooks: null, siteWebhooks: null, starting: false, loginError: error });
    hideBanner();
    $('sync-notice').hidden = true;
    $('token-input').value = '';
    showLogin();
  }

  function showLogin() {
    $('dashboard-view').hidden = true;
    $('logout-link').hidden = true;
    $('login-view').hidden = false;
    renderLoginError();
    $('token-input').focus();
  }

  function showDashboard() {
    $('login-view').hidden = true;
    $('dashboard-view').hidden = false;
    $('logout-link').hidden = false;
    $('token-input').value = '';
    clearInterval(state.idleTimer);
    state.idleTimer = setInterval(onIdleTick, IDLE_MS);
    renderAll();
    $('dashboard-title').focus();
  }

  function renderLoginError() {
    const e = state.loginError;
    const node = $('login-error');
    node.hidden = !e;
    node.textContent = e ? (e.key ? t(e.key) : e.text) : '';
    $('token-input').setAttribute('aria-invalid', e ? 'true' : 'false');
  }

  function setBusy(button, busy) {
    button.disabled = busy;
    button.classList.toggle('is-busy', busy);
    button.setAttribute('aria-busy', String(busy));
  }

  // ---------------------------------------------------------------- status & run tracking
  async function refreshStatus() {
    if (!state.token || state.statusInFlight) return;
    state.statusInFlight = true;
    try {
      applyStatus(await api(`${API}/status`));
    } catch (err) {
      handleError(err);
    } finally {
      state.statusInFlight = false;
    }
  }

  function applyStatus(status) {
    if (!status) return;
    state.status = status;
    const cur = status.current;
    if (cur && cur.status === 'running') {
      // While SSE is flowing its events are fresher than this answer; otherwise take the server's view.
      if (!state.es || !state.live || state.live.runId !== cur.runId) state.live = cur;
      if (!state.tracking) startTracking(cur.runId);
    } else if (state.tracking) {
      const last = status.last;
      const notYetVisible = state.trackRunId != null && (!last || last.runId < state.trackRunId)
        && Date.now() - state.trackSince < START_GRACE_MS;
      if (!notYetVisible) runEnded(cur || last);
    } else {
      state.live = cur || status.last;
    }
    // Not the tables: this runs every 2 s while polling and would collapse an open error <details>.
    renderControls();
    renderRun();
    renderCards();
  }

  function startTracking(runId) {
    stopTracking();
    Object.assign(state, { tracking: true, trackRunId: runId ?? null, trackSince: Date.now() });
    if (typeof EventSource === 'function') startSse(); else startPolling();
  }

  // EventSource cannot send the token in a header, and a URL lands in proxies' logs: the token
  // buys a single-use, one-minute ticket, and the ticket opens the stream.
  async function startSse() {
    let ticket;
    try {
      ({ ticket } = await api(`${API}/events/ticket`, { method: 'POST' }));
    } catch {
      if (state.tracking) startPolling();
      return;
    }
    if (!state.tracking || state.es || state.pollTimer) return;   // stopped, or already following
    const es = new EventSource(`${API}/events?ticket=${encodeURIComponent(ticket)}`);
    state.es = es;
    state.lastEventAt = Date.now();
    const onRun = (ev, done) => {
      if (state.es !== es) return;
      let run;
      try { run = JSON.parse(ev.data); } catch { return; }
      state.lastEventAt = Date.now();
      // Ignore a late event from an older run (it would end tracking of the new one); adopt a newer one.
      if (state.trackRunId != null && typeof run.runId === 'number') {
        if (run.runId < state.trackRunId) return;
        state.trackRunId = run.runId;
      }
      if (done || run.status !== 'running') runEnded(run);
      else { state.live = run; renderRun(); renderControls(); }
    };
    es.addEventListener('progress', (ev) => onRun(ev, false));
    es.addEventListener('done', (ev) => onRun(ev, true));
    es.onopen = () => { state.lastEventAt = Date.now(); renderLiveMode(); };
    // Any SSE failure (proxy buffering, 401, server without the route, dropped link): poll instead.
    es.onerror = () => {
      if (state.es !== es) return;
      closeSse();
      if (state.tracking) startPolling();
    };
    // Keep-alive comments are invisible to EventSource, so a long silence is checked with /status.
    state.quietTimer = setInterval(() => {
      if (Date.now() - state.lastEventAt > SSE_QUIET_MS) { state.lastEventAt = Date.now(); refreshStatus(); }
    }, 5000);
    renderLiveMode();
  }

  function closeSse() {
    if (state.es) state.es.close();
    state.es = null;
    clearInterval(state.quietTimer);
    state.quietTimer = null;
  }

  function startPolling() {
    clearInterval(state.pollTimer);
    state.pollTimer = setInterval(refreshStatus, POLL_MS);
    renderLiveMode();
    refreshStatus();
  }

  function stopTracking() {
    closeSse();
    clearInterval(state.pollTimer);
    Object.assign(state, { pollTimer: null, tracking: false, trackRunId: null });
  }

  function runEnded(run) {
    stopTracking();
    if (run) state.live = run;
    renderAll();
    refreshStatus();   // cards: last success, catalog size, next schedule
    loadHistory();
    loadWebhooks();
    loadSiteWebhooks();
  }

  /** Show the run right away (before any event arrives) and follow it. */
  function followRun(runId, mode) {
    if (!state.live || state.live.runId !== runId || state.live.status !== 'running') {
      state.live = { runId, mode, trigger: 'api', status: 'running', phase: null, processed: 0, total: null,
        created: 0, updated: 0, unchanged: 0, archived: 0, deleted: 0, startedAt: new Date().toISOString(),
        finishedAt: null, durationMs: null, ratePerSec: null, etaSeconds: null, error: null };
    }
    startTracking(runId);
    renderAll();
  }

  async function startSync(force) {
    if (isRunning() || state.starting) return;
    if (force && !(await confirmFullResync())) return;
    state.starting = true;
    $('sync-notice').hidden = true;
    renderControls();
    try {
      const res = await api(API, { method: 'POST', body: force ? { forceRefresh: true } : {} });
      showNotice(t('runStarted', { id: res && res.runId }));
      followRun(res && res.runId, force ? 'full' : 'incremental');
      loadHistory();
    } catch (err) {
      if (err.status === 409 && err.code === 'run_in_progress') {
        const id = err.detail.runId;
        showNotice(t('alreadyRunning', { id: id ?? '?' }));
        if (typeof id === 'number') followRun(id, null); else startTracking(null);
        refreshStatus();
      } else {
        handleError(err);
      }
    } finally {
      state.starting = false;
      renderControls();
    }
  }

  function confirmFullResync() {
    const dialog = $('confirm-dialog');
    if (typeof dialog.showModal !== 'function') {
      return Promise.resolve(window.confirm(`${t('confirmFullTitle')}\n\n${t('confirmFullBody')}`));
    }
    return new Promise((resolve) => {
      dialog.returnValue = '';
      dialog.addEventListener('close', () => { resolve(dialog.returnValue === 'confirm'); $('full-sync-button').focus(); }, { once: true });
      dialog.showModal();
    });
  }

  const isRunning = () => Boolean(state.tracking || (state.live && state.live.status === 'running'));

  function onIdleTick() {
    if (!state.token) return;
    if (!state.tracking) refreshStatus();   // picks up scheduled/cron runs and refreshes the cards
    else renderCards();
  }

  // ---------------------------------------------------------------- history & webhooks
  async function loadHistory() {
    if (!state.token) return;
    try {
      const data = await api(`${API}/runs?limit=20`);
      state.runs = (data && data.runs) || [];
      renderHistory();
    } catch (err) {
      handleError(err);
    }
  }

  async function loadWebhooks() {
    if (!state.token || state.webhooks === false) return;
    try {
      const data = await api(`${API}/webhooks?status=failed`);
      state.webhooks = (data && data.events) || [];
    } catch (err) {
      if (err.status === 404) state.webhooks = false;   // older server: no webhook inbox, hide the panel
      else handleError(err);
    }
    renderWebhooks();
  }

  async function loadSiteWebhooks() {
    if (!state.token || state.siteWebhooks === false) return;
    try {
      const data = await api('/api/site-webhooks?status=failed');
      state.siteWebhooks = (data && data.deliveries) || [];
    } catch (err) {
      if (err.status === 404) state.siteWebhooks = false;   // older server: no outbox, hide the panel
      else handleError(err);
    }
    renderSiteWebhooks();
  }

  async function replaySiteWebhook(id, button) {
    setBusy(button, true);
    try {
      await api(`/api/site-webhooks/${encodeURIComponent(id)}/replay`, { method: 'POST' });
      showNotice(t('siteWebhookReplayed', { id }));
      if (Array.isArray(state.siteWebhooks)) state.siteWebhooks = state.siteWebhooks.filter((d) => d.id !== id);
      renderSiteWebhooks();
      loadSiteWebhooks();
    } catch (err) {
      setBusy(button, false);
      handleError(err);
    }
  }

  async function retryWebhook(id, button) {
    setBusy(button, true);
    try {
      await api(`${API}/webhooks/${encodeURIComponent(id)}/retry`, { method: 'POST' });
      showNotice(t('webhookRetried', { id }));
      if (Array.isArray(state.webhooks)) state.webhooks = state.webhooks.filter((w) => w.id !== id);
      renderWebhooks();
      loadWebhooks();
    } catch (err) {
      setBusy(button, false);
      handleError(err);
    }
  }

  // ---------------------------------------------------------------- rendering
  function renderAll() {
    if (!state.token) return;
    renderControls();
    renderRun();
    renderCards();
    renderHistory();
    renderWebhooks();
  }

  function renderControls() {
    const busy = state.starting || isRunning();
    $('sync-button').disabled = busy;
    $('full-sync-button').disabled = busy;
    $('sync-button').classList.toggle('is-busy', busy);
    $('sync-button').setAttribute('aria-busy', String(busy));
  }

  function renderLiveMode() {
    const node = $('live-mode');
    node.hidden = !state.tracking;
    node.classList.toggle('live--polling', !state.es);
    $('live-mode-text').textContent = state.es ? t('liveSse') : t('livePolling');
  }

  function renderRun() {
    const run = state.live;
    const statusNode = $('run-status');
    const bar = $('progress-bar');
    const track = $('progress-track');
    renderLiveMode();
    $('run-panel').classList.toggle('run--empty', !run);
    if (!run) {
      $('run-title').textContent = t('noRunYet');
      $('run-mode').hidden = true;
      statusNode.dataset.status = 'none';
      statusNode.className = 'badge badge--none';
      statusNode.textContent = t('status_none');
      track.className = 'progress';
      setBar(bar, 0, t('noRunYet'));
      $('progress-text').textContent = '';
      for (const id of ['run-phase', 'run-rate', 'run-eta', 'run-duration']) $(id).textContent = '—';
      COUNT_KEYS.forEach((k) => { $(`count-${k}`).textContent = fmtNum(0); });
      $('run-error').hidden = true;
      return;
    }

    const running = run.status === 'running';
    $('run-title').textContent = t(running ? 'runTitleCurrent' : 'runTitleLast', { id: run.runId ?? '?' });
    $('run-mode').hidden = !run.mode;
    $('run-mode').textContent = label('mode', run.mode);
    statusNode.dataset.status = run.status;
    statusNode.className = `badge badge--${run.status}`;
    statusNode.textContent = label('status', run.status);

    const processed = typeof run.processed === 'number' ? run.processed : 0;
    const hasTotal = typeof run.total === 'number';
    let pct = null;
    if (hasTotal) pct = run.total > 0 ? Math.min(100, Math.floor((processed * 100) / run.total)) : (running ? 0 : 100);
    if (run.status === 'succeeded') pct = 100;
    const text = hasTotal
      ? t('progressKnown', { processed: fmtNum(processed), total: fmtNum(run.total), percent: pct })
      : t('progressUnknown', { processed: fmtNum(processed) });

    track.className = `progress progress--${run.status}`;
    if (pct === null && running) {
      track.classList.add('is-indeterminate');
      setBar(bar, null, text);
    } else {
      setBar(bar, pct ?? 0, text);
    }
    bar.dataset.processed = String(processed);
    bar.dataset.total = hasTotal ? String(run.total) : '';
    $('progress-text').textContent = text;

    $('run-phase').textContent = label('phase', run.phase);
    $('run-rate').textContent = typeof run.ratePerSec === 'number' ? t('rateValue', { n: fmtRate(run.ratePerSec) }) : '—';
    $('run-eta').textContent = running && typeof run.etaSeconds === 'number' ? fmtDuration(run.etaSeconds) : '—';
    $('run-duration').textContent = typeof run.durationMs === 'number' ? fmtDuration(run.durationMs / 1000) : '—';
    COUNT_KEYS.forEach((k) => { $(`count-${k}`).textContent = fmtNum(run[k] ?? 0); });
    $('run-error').hidden = !run.error;
    $('run-error-text').textContent = run.error || '';
  }

  /** The bar element carries both the width and the ARIA value (percent, 0-100); null = indeterminate. */
  function setBar(bar, pct, text) {
    if (pct === null) {
      bar.removeAttribute('aria-valuenow');
      bar.style.width = '';
    } else {
      bar.setAttribute('aria-valuenow', String(pct));
      bar.style.width = `${pct}%`;
    }
    bar.setAttribute('aria-valuetext', text);
  }

  function renderCards() {
    const s = state.status || {};
    renderTimeCard('last-success', s.lastSuccessAt, 'never');
    renderTimeCard('next-sync', s.nextScheduledAt, 'notScheduled');
    $('catalog-products').textContent = typeof s.catalogProducts === 'number' ? fmtNum(s.catalogProducts) : '—';
    $('catalog-images').textContent = typeof s.catalogImages === 'number' ? fmtNum(s.catalogImages) : '—';
    $('catalog-image-bytes').textContent = typeof s.catalogImageBytes === 'number'
      ? (s.catalogImageBytes / 1048576).toFixed(1) + ' MiB' : '';
  }

  function renderTimeCard(id, iso, emptyKey) {
    const node = $(id);
    if (iso) {
      node.textContent = fmtRelative(iso);
      node.setAttribute('datetime', iso);
      node.title = fmtDate(iso, true);
      $(`${id}-abs`).textContent = fmtDate(iso);
    } else {
      node.textContent = t(emptyKey);
      node.removeAttribute('datetime');
      node.removeAttribute('title');
      $(`${id}-abs`).textContent = '';
    }
  }

  function columnLabels(tableId) {
    return [...$(tableId).querySelectorAll('thead th')].map((th) => th.textContent);
  }

  /** td with a data-label (the column header) so the table can stack into cards on small screens. */
  const cell = (heads, i, ...children) => el('td', { 'data-label': heads[i] }, ...children);

  function renderHistory() {
    const body = $('history-body');
    if (!state.runs) { body.replaceChildren(); return; }
    const heads = columnLabels('history-table');
    if (state.runs.length === 0) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: heads.length, className: 'table__empty' }, t('noRuns'))));
      return;
    }
    body.replaceChildren(...state.runs.map((run) => {
      const counts = COUNT_KEYS.filter((k) => run[k]).map((k) =>
        el('li', { className: `chip chip--${k}` }, el('span', { className: 'chip__n' }, fmtNum(run[k])), ` ${t(k).toLowerCase()}`));
      const error = run.error
        ? el('details', { className: 'err' }, el('summary', {}, t('showError')), el('p', { className: 'err__text' }, run.error))
        : '—';
      return el('tr', { dataset: { runId: run.runId, status: run.status } },
        cell(heads, 0, el('span', { className: 'mono' }, run.runId)),
        cell(heads, 1, run.startedAt ? timeEl(run.startedAt, fmtDate(run.startedAt)) : '—'),
        cell(heads, 2, label('mode', run.mode)),
        cell(heads, 3, label('trigger', run.trigger)),
        cell(heads, 4, badge(run.status)),
        cell(heads, 5, counts.length ? el('ul', { className: 'chips' }, ...counts) : el('span', { className: 'muted' }, t('noChanges'))),
        cell(heads, 6, typeof run.durationMs === 'number' ? fmtDuration(run.durationMs / 1000) : '—'),
        cell(heads, 7, error));
    }));
  }

  function renderWebhooks() {
    const panel = $('webhooks-panel');
    panel.hidden = state.webhooks === false || state.webhooks === null;
    if (panel.hidden) return;
    const events = state.webhooks;
    const count = $('webhooks-count');
    count.hidden = events.length === 0;
    count.textContent = fmtNum(events.length);
    const heads = columnLabels('webhooks-table');
    const body = $('webhooks-body');
    if (events.length === 0) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: heads.length, className: 'table__empty' }, t('noWebhooks'))));
      return;
    }
    body.replaceChildren(...events.map((w) => {
      const button = el('button', { type: 'button', className: 'btn btn--secondary btn--sm', dataset: { testid: 'webhook-retry', id: w.id } }, t('retry'));
      button.addEventListener('click', () => retryWebhook(w.id, button));
      return el('tr', { dataset: { webhookId: w.id } },
        cell(heads, 0, el('span', { className: 'mono' }, w.id)),
        cell(heads, 1, el('span', { className: 'mono' }, w.model ?? '—')),
        cell(heads, 2, w.recordId ?? '—'),
        cell(heads, 3, fmtNum(w.attempts)),
        cell(heads, 4, el('span', { className: 'err__text' }, w.lastError || '—')),
        cell(heads, 5, w.receivedAt ? timeEl(w.receivedAt, fmtRelative(w.receivedAt)) : '—'),
        cell(heads, 6, button));
    }));
  }

  function renderSiteWebhooks() {
    // A warning, not a log: shown only while some notification to the site has failed for good.
    const panel = $('site-webhooks-panel');
    const deliveries = Array.isArray(state.siteWebhooks) ? state.siteWebhooks : [];
    panel.hidden = deliveries.length === 0;
    if (panel.hidden) return;
    const count = $('site-webhooks-count');
    count.hidden = deliveries.length === 0;
    count.textContent = fmtNum(deliveries.length);
    const heads = columnLabels('site-webhooks-table');
    $('site-webhooks-body').replaceChildren(...deliveries.map((d) => {
      const button = el('button', { type: 'button', className: 'btn btn--secondary btn--sm', dataset: { testid: 'site-webhook-replay', id: d.id } }, t('retry'));
      button.addEventListener('click', () => replaySiteWebhook(d.id, button));
      return el('tr', { dataset: { siteWebhookId: d.id } },
        cell(heads, 0, el('span', { className: 'mono' }, d.id)),
        cell(heads, 1, el('span', { className: 'mono' }, d.url)),
        cell(heads, 2, fmtNum(d.attempts)),
        cell(heads, 3, el('span', { className: 'err__text' }, d.lastError || '—')),
        cell(heads, 4, d.createdAt ? timeEl(d.createdAt, fmtRelative(d.createdAt)) : '—'),
        cell(heads, 5, button));
    }));
  }

  // ---------------------------------------------------------------- wiring
  function init() {
    applyStaticI18n();
    $('lang-toggle').addEventListener('click', () => setLang(state.lang === 'fr' ? 'en' : 'fr'));
    $('logout-link').addEventListener('click', () => logout());
    $('error-dismiss').addEventListener('click', hideBanner);
    $('login-form').addEventListener('submit', (ev) => { ev.preventDefault(); login($('token-input').value.trim()); });
    $('sync-button').addEventListener('click', () => startSync(false));
    $('full-sync-button').addEventListener('click', () => startSync(true));
    $('history-refresh').addEventListener('click', loadHistory);
    $('webhooks-refresh').addEventListener('click', loadWebhooks);
    $('site-webhooks-refresh').addEventListener('click', loadSiteWebhooks);
    document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && !$('error-banner').hidden && !$('confirm-dialog').open) hideBanner(); });

    const saved = safeStorage(() => sessionStorage.getItem(TOKEN_KEY));
    if (saved) login(saved); else showLogin();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
