// The operators' console at /admin (public/admin/index.html loads this bundle). The admin key lives
// in sessionStorage only. The screen is rebuilt from `state` after every answer, so it always shows
// what the API last said.
import type { AuditEvent } from '../lib/people/events.js';
import { AdminApi, Problem, type PersonView } from './api.js';
import { h } from './dom.js';
import { formatTime, words, type Lang, type SearchKind } from './i18n.js';

const KEY_STORE = 'wxlogin.adminKey';
/** Only the language outlives the tab: it is no secret. */
const LANGUAGE_STORE = 'wxlogin.consoleLanguage';

/** The query parameters each kind of search sends. */
const SEARCH_FIELDS: Record<SearchKind, ('id' | 'appid' | 'openid' | 'unionid' | 'phone')[]> = {
  id: ['id'],
  account: ['appid', 'openid'],
  unionid: ['unionid'],
  phone: ['phone'],
};

interface Notice {
  tone: 'ok' | 'error';
  text: string;
  problem?: Problem;
}

const ok = (text: string): Notice => ({ tone: 'ok', text });

const state = {
  lang: (localStorage.getItem(LANGUAGE_STORE) === 'en' ? 'en' : 'zh') as Lang,
  key: sessionStorage.getItem(KEY_STORE),
  kind: 'id' as SearchKind,
  fields: { id: '', appid: '', openid: '', unionid: '', phone: '' },
  person: null as PersonView | null,
  revealed: false,
  /** The whole trail, once asked for; otherwise the view's latest events. */
  allEvents: null as AuditEvent[] | null,
  notice: null as Notice | null,
  busy: false,
};

const root = document.getElementById('app')!;
const w = () => words[state.lang];
const time = (iso: string) => h('time', { datetime: iso }, formatTime(iso, state.lang));

function render(): void {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = w().title;
  root.replaceChildren(topBar(), state.key ? workspace(state.key) : signInScreen());
}

/** Runs one request: the screen is busy meanwhile, and a problem becomes the notice. */
async function attempt(work: () => Promise<Notice | null>): Promise<void> {
  state.busy = true;
  state.notice = null;
  render();
  try {
    state.notice = await work();
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    // A key that stopped working (rotated out of ADMIN_KEYS) signs the tab out.
    const refused = error.status === 401 && state.key !== null;
    if (refused) forgetKey();
    state.notice = { tone: 'error', text: problemText(error, refused), problem: error };
  } finally {
    state.busy = false;
    render();
  }
}

function problemText(problem: Problem, refused: boolean): string {
  if (refused) return w().keyRefused;
  if (problem.status === 401) return w().wrongKey;
  if (problem.status === 429) return w().tooManyTries;
  if (problem.code === 'person_not_found') return w().notFound;
  if (problem.status === 0) return w().networkError;
  return w().failed;
}

function forgetKey(): void {
  sessionStorage.removeItem(KEY_STORE);
  Object.assign(state, { key: null, person: null, revealed: false, allEvents: null });
}

function topBar(): HTMLElement {
  const language = h('button', { type: 'button', class: 'ghost', lang: state.lang === 'zh' ? 'en' : 'zh-CN' }, w().switchLanguage);
  language.addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem(LANGUAGE_STORE, state.lang);
    render();
  });
  const signOut = h('button', { type: 'button', class: 'ghost' }, w().signOut);
  signOut.addEventListener('click', () => {
    forgetKey();
    state.notice = ok(w().signedOut);
    render();
  });
  return h(
    'header',
    { class: 'topbar' },
    h('span', { class: 'brand' }, w().title),
    h('span', { class: 'zone' }, w().timeZone(Intl.DateTimeFormat().resolvedOptions().timeZone)),
    language,
    state.key !== null && signOut,
  );
}

function noticeBar(): HTMLElement | null {
  const { notice } = state;
  if (!notice) return null;
  return h(
    'div',
    { class: `notice ${notice.tone}`, role: notice.tone === 'error' ? 'alert' : 'status' },
    h('strong', {}, notice.text),
    notice.problem &&
      h('span', { class: 'problem' }, notice.problem.title, ' · ', h('code', {}, notice.problem.code), notice.problem.detail && ` — ${notice.problem.detail}`),
  );
}

function signInScreen(): HTMLElement {
  const key = h('input', { id: 'admin-key', name: 'key', type: 'password', autocomplete: 'off', spellcheck: 'false' });
  const form = h(
    'form',
    { class: 'card sign-in' },
    h('h1', {}, w().title),
    h('label', { for: 'admin-key' }, w().adminKey),
    key,
    h('p', { class: 'hint' }, w().adminKeyHint),
    noticeBar(),
    h('button', { type: 'submit', class: 'primary', disabled: state.busy }, w().signIn),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const presented = key.value.trim();
    if (!presented) {
      state.notice = { tone: 'error', text: w().keyRequired };
      return render();
    }
    void attempt(async () => {
      await new AdminApi(presented).check();
      sessionStorage.setItem(KEY_STORE, presented);
      state.key = presented;
      return null;
    });
  });
  queueMicrotask(() => key.focus());
  return h('main', { class: 'sign-in-page' }, form);
}

function workspace(key: string): HTMLElement {
  const api = new AdminApi(key);
  return h(
    'main',
    { class: 'workspace' },
    searchForm(api),
    noticeBar(),
    state.person ? personScreen(api, state.person) : h('p', { class: 'empty' }, w().searchHint),
  );
}

function searchForm(api: AdminApi): HTMLElement {
  const kinds = (Object.keys(SEARCH_FIELDS) as SearchKind[]).map((kind) => {
    const radio = h('input', { type: 'radio', name: 'kind', value: kind, checked: kind === state.kind });
    radio.addEventListener('change', () => {
      state.kind = kind;
      render();
    });
    return h('label', { class: 'kind-choice' }, radio, h('span', {}, w().searchKinds[kind]));
  });
  const inputs = SEARCH_FIELDS[state.kind].map((name) => {
    const input = h('input', { name, type: 'search', value: state.fields[name], placeholder: w().placeholders[name], 'aria-label': name, spellcheck: 'false' });
    input.addEventListener('input', () => (state.fields[name] = input.value));
    return input;
  });
  const form = h(
    'form',
    { class: 'search card', role: 'search' },
    h('div', { class: 'kinds', role: 'radiogroup' }, kinds),
    h('div', { class: 'terms' }, inputs, h('button', { type: 'submit', class: 'primary', disabled: state.busy }, w().search)),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const terms = SEARCH_FIELDS[state.kind].map((name) => [name, state.fields[name].trim()]);
    if (terms.some(([, value]) => !value)) {
      state.notice = { tone: 'error', text: w().searchRequired };
      return render();
    }
    void show(async () => {
      state.person = null;
      return { person: await api.find(Object.fromEntries(terms)) };
    });
  });
  return form;
}

interface Shown {
  person: PersonView;
  notice?: Notice;
  revealed?: boolean;
}

/** Shows the person a request answers; a failed one leaves the screen as it was, with the problem. */
function show(load: () => Promise<Shown>): Promise<void> {
  return attempt(async () => {
    const shown = await load();
    Object.assign(state, { person: shown.person, revealed: shown.revealed ?? false, allEvents: null });
    return shown.notice ?? null;
  });
}

function personScreen(api: AdminApi, person: PersonView): HTMLElement {
  return h(
    'div',
    { class: 'person' },
    h('div', { class: 'column' }, overview(api, person), accounts(person), claims(person), merges(person)),
    h('div', { class: 'column' }, actions(api, person), timeline(api, person)),
  );
}

function card(title: string, extra: Node | string | null, ...content: (Node | null)[]): HTMLElement {
  return h('section', { class: 'card' }, h('header', {}, h('h2', {}, title), extra), ...content);
}

function table(headings: string[], rows: (Node | string)[][]): HTMLElement {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, headings.map((heading) => h('th', {}, heading)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell) => h('td', {}, cell))))),
  );
}

function overview(api: AdminApi, person: PersonView): HTMLElement {
  const { suspension } = person;
  const liveSessions = Object.values(person.sessions).reduce((sum, count) => sum + count, 0);
  let phone: Node | string = w().noPhone;
  if (person.phone !== null) {
    const reveal = h('button', { type: 'button', class: 'link', disabled: state.busy }, w().reveal);
    reveal.addEventListener('click', () => void show(async () => ({ person: await api.find({ id: person.id }, true), revealed: true, notice: ok(w().revealed) })));
    phone = h('span', {}, h('span', { class: 'phone' }, person.phone), !state.revealed && reveal, !state.revealed && h('small', { class: 'hint' }, w().revealNote));
  }
  const facts: [string, Node | string][] = [
    [w().created, time(person.createdAt)],
    ['unionid', person.unionid ? h('code', {}, person.unionid) : w().none],
    [w().phone, phone],
    [w().phoneVerified, person.phoneVerifiedAt ? time(person.phoneVerifiedAt) : w().none],
    [w().liveSessions, String(liveSessions)],
  ];
  if (suspension) {
    facts.push(
      [w().reason, suspension.reason],
      [w().until, suspension.until ? time(suspension.until) : w().untilLifted],
      [w().suspendedAt, time(suspension.at)],
      [w().suspendedBy, actorText(suspension.by)],
    );
  }
  return h(
    'section',
    { class: `card overview${suspension ? ' is-suspended' : ''}` },
    h(
      'header',
      {},
      h('h2', {}, w().person, ' ', h('code', { class: 'person-id' }, person.id)),
      h('span', { class: `badge ${suspension ? 'danger' : 'ok'}` }, suspension ? w().suspended : w().active),
    ),
    h('dl', { class: 'facts' }, facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])),
  );
}

function accounts(person: PersonView): HTMLElement {
  return card(
    w().accounts,
    null,
    table(
      [w().app, 'openid', w().linkedAt, w().liveSessions],
      person.accounts.map((account) => [h('code', {}, account.appid), h('code', {}, account.openid), time(account.linkedAt), String(person.sessions[account.appid] ?? 0)]),
    ),
  );
}

function claims(person: PersonView): HTMLElement {
  return card(
    w().claims,
    null,
    person.claims.length
      ? table([w().benefit, w().app, w().claimedAt], person.claims.map((claim) => [claim.benefit, h('code', {}, claim.appid), time(claim.claimedAt)]))
      : h('p', { class: 'hint' }, w().noClaims),
  );
}

function merges(person: PersonView): HTMLElement {
  const id = (value: string) => h('code', { class: value === person.id ? 'person-id' : undefined }, value);
  const items = person.merges.map((merge) => {
    const dropped = merge.droppedClaims;
    return h(
      'li',
      {},
      h('p', {}, w().mergedInto(id(merge.foldedPersonId), id(merge.survivorPersonId)), ' · ', time(merge.mergedAt)),
      h('p', { class: 'hint' }, w().mergedBy(merge.appid, merge.openid), ' · ', w().movedAccounts(merge.movedAccounts.length)),
      dropped.length > 0 &&
        h('div', { class: 'dropped' }, h('p', {}, w().droppedClaims), table([w().benefit, w().app, w().claimedAt], dropped.map((claim) => [claim.benefit, h('code', {}, claim.appid), time(claim.claimedAt)]))),
    );
  });
  return card(w().merges, null, items.length ? h('ul', { class: 'merges' }, items) : h('p', { class: 'hint' }, w().noMerges));
}

function actions(api: AdminApi, person: PersonView): HTMLElement {
  const { busy } = state;
  let suspension: HTMLElement;
  if (person.suspension) {
    const lift = h('button', { type: 'button', disabled: busy }, w().lift);
    lift.addEventListener('click', () => void show(async () => ({ person: await api.lift(person.id), notice: ok(w().didLift) })));
    suspension = h('div', { class: 'action' }, lift);
  } else {
    const reason = h('input', { name: 'reason', maxlength: '500', placeholder: w().reasonPlaceholder, 'aria-label': w().reason });
    const until = h('input', { name: 'until', type: 'datetime-local', 'aria-label': w().until });
    suspension = h(
      'form',
      { class: 'action' },
      h('label', {}, w().reason, reason),
      h('label', {}, w().untilOptional, until),
      h('p', { class: 'hint' }, w().suspendHelp),
      h('button', { type: 'submit', class: 'danger', disabled: busy }, w().suspend),
    );
    suspension.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!reason.value.trim()) {
        state.notice = { tone: 'error', text: w().reasonRequired };
        return render();
      }
      // datetime-local is the browser's local time; the API takes an instant with its offset.
      const end = until.value ? new Date(until.value).toISOString() : undefined;
      void show(async () => ({ person: await api.suspend(person.id, reason.value.trim(), end), notice: ok(w().didSuspend) }));
    });
  }

  const endSessions = h('button', { type: 'button', disabled: busy }, w().endSessions);
  endSessions.addEventListener('click', () => {
    void show(async () => {
      const ended = await api.endSessions(person.id);
      return { person: await api.find({ id: person.id }), notice: ok(w().didEndSessions(ended)) };
    });
  });

  const confirm = h('input', { name: 'confirm', placeholder: person.id, 'aria-label': w().remove, autocomplete: 'off', spellcheck: 'false' });
  const remove = h('button', { type: 'submit', class: 'danger', disabled: true }, w().remove);
  confirm.addEventListener('input', () => (remove.disabled = busy || confirm.value.trim() !== person.id));
  const deletion = h('form', { class: 'action' }, h('p', { class: 'hint' }, w().removeHelp), confirm, remove);
  deletion.addEventListener('submit', (event) => {
    event.preventDefault();
    if (confirm.value.trim() !== person.id) return;
    void attempt(async () => {
      await api.remove(person.id);
      Object.assign(state, { person: null, revealed: false, allEvents: null });
      return ok(w().didRemove(person.id));
    });
  });

  return card(
    w().actions,
    null,
    suspension,
    h('div', { class: 'action' }, h('p', { class: 'hint' }, w().endSessionsHelp), endSessions),
    h('div', { class: 'action danger-zone' }, deletion),
  );
}

function timeline(api: AdminApi, person: PersonView): HTMLElement {
  const events = state.allEvents ? [...state.allEvents].reverse() : person.events;
  const showAll = h('button', { type: 'button', class: 'link', disabled: state.busy }, w().showAllEvents);
  showAll.addEventListener('click', () => {
    void attempt(async () => {
      state.allEvents = await api.events(person.id);
      return null;
    });
  });
  return card(
    w().timeline,
    h('span', { class: 'hint' }, state.allEvents ? w().allEvents : w().latestEvents, ' ', !state.allEvents && showAll),
    h(
      'ol',
      { class: 'events' },
      events.map((event) => {
        const details = detailsText(event.details);
        return h(
          'li',
          { class: `event kind-${event.kind}` },
          time(event.at),
          h('span', { class: 'kind' }, w().kinds[event.kind] ?? event.kind),
          h('span', { class: 'meta' }, [actorText(event.actor), event.appid].filter(Boolean).join(' · ')),
          // In the whole trail: the events of people folded into this one, marked with their id.
          event.personId !== person.id &&
            event.personId &&
            h('span', { class: 'folded' }, w().foldedPerson, ' ', h('code', { title: event.personId }, `${event.personId.slice(0, 8)}…`)),
          details && h('span', { class: 'details' }, details),
        );
      }),
    ),
  );
}

function actorText(actor: string): string {
  const [kind = actor, name] = actor.split(':', 2);
  return [w().actor[kind] ?? kind, name].filter(Boolean).join(' ');
}

function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([name, value]) => `${name}: ${name === 'until' && typeof value === 'string' ? formatTime(value, state.lang) : String(value)}`)
    .join(' · ');
}

render();
