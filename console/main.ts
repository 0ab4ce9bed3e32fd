// The operators' console at /admin (public/admin/index.html loads this bundle). The key lives in
// sessionStorage only, and is forgotten after 30 minutes without use; a key found there is checked
// before the workspace shows. The screen and the user shown are in the URL hash (#/person/<id>,
// #/benefits, #/trail?person=<id>), so a reload or a shared link opens the same place.
import { AdminApi } from './api.js';
import { api, attempt, can, clearPerson, LANGUAGE_STORE, noticeBar, onKeyRefused, onRender, ok, render, state, w } from './app.js';
import { benefitsScreen, loadBenefits } from './benefits.js';
import { h } from './dom.js';
import type { Screen } from './i18n.js';
import { personScreen, show } from './person.js';
import { loadTrail, trailScreen } from './trail.js';

const KEY_STORE = 'wxlogin.adminKey';
const ACTIVE_STORE = 'wxlogin.lastActive';
const IDLE_MS = 30 * 60_000;

const root = document.getElementById('app')!;

onRender(() => {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = state.operator ? `${w().screens[state.screen]} · ${w().title}` : w().title;
  root.replaceChildren(topBar(), state.operator ? workspace() : signInScreen());
});
onKeyRefused(() => forgetKey());

function forgetKey(): void {
  sessionStorage.removeItem(KEY_STORE);
  sessionStorage.removeItem(ACTIVE_STORE);
  clearPerson();
  Object.assign(state, { key: null, operator: null, benefits: null, editing: null, draft: {} });
  state.trail = { filter: {}, events: [], next: null, loaded: false };
}

/** Any key press or click counts as use; the clock is kept in the tab, beside the key. */
function touch(): void {
  if (state.key) sessionStorage.setItem(ACTIVE_STORE, String(Date.now()));
}

function idle(): boolean {
  return Date.now() - Number(sessionStorage.getItem(ACTIVE_STORE) ?? 0) > IDLE_MS;
}

function signOutIfIdle(): void {
  if (!state.key || !idle()) return;
  forgetKey();
  state.notice = { tone: 'error', text: w().idleSignedOut };
  render();
}

/** Signs in with `key`: who it belongs to first, then the benefit titles, then the screen the URL names. */
async function signIn(key: string): Promise<void> {
  await attempt(async () => {
    const operator = await new AdminApi(key).me();
    sessionStorage.setItem(KEY_STORE, key);
    Object.assign(state, { key, operator });
    touch();
    state.benefits = await api().benefits();
    return null;
  }, { busy: w().checkingKey });
  if (state.operator) await route();
}

/** Opens what the hash names. */
async function route(): Promise<void> {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [screen, id] = path.split('/');
  state.screen = screen === 'benefits' && can('admin') ? 'benefits' : screen === 'trail' ? 'trail' : 'person';
  state.notice = null;
  if (state.screen === 'person' && id && id !== state.person?.id) return show(() => api().person(id), { busy: w().searching });
  if (state.screen === 'trail') {
    const person = new URLSearchParams(query).get('person');
    if (person || !state.trail.loaded) return loadTrail(person ? { person } : {});
  }
  if (state.screen === 'benefits') return loadBenefits();
  state.focus = 'main-heading';
  render();
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
    state.focus = 'notice';
    history.replaceState(null, '', location.pathname);
    render();
  });
  const { operator } = state;
  const screens: Screen[] = ['person', ...(can('admin') ? (['benefits'] as const) : []), 'trail'];
  return h(
    'header',
    { class: 'topbar' },
    h('span', { class: 'brand' }, w().title),
    operator &&
      h(
        'nav',
        { 'aria-label': w().title },
        screens.map((screen) => h('a', { href: `#/${screen}`, class: 'nav-link', 'aria-current': screen === state.screen ? 'page' : undefined }, w().screens[screen])),
      ),
    h('span', { class: 'spacer' }),
    operator && h('span', { class: 'operator' }, w().signedInAs(operator.name, w().roles[operator.role])),
    h('span', { class: 'zone' }, w().timeZone(Intl.DateTimeFormat().resolvedOptions().timeZone)),
    language,
    operator && signOut,
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
    h('button', { type: 'submit', class: 'primary', disabled: !!state.busy }, w().signIn),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const presented = key.value.trim();
    if (!presented) {
      state.notice = { tone: 'error', text: w().keyRequired };
      state.focus = 'admin-key';
      return render();
    }
    void signIn(presented);
  });
  if (!state.focus) state.focus = 'admin-key';
  return h('main', { class: 'sign-in-page' }, form);
}

function workspace(): HTMLElement {
  const screens = { person: personScreen, benefits: benefitsScreen, trail: trailScreen };
  const main = h('main', { class: 'workspace', id: 'main' }, screens[state.screen]());
  // The screen's <h1> is where the focus goes when nothing more specific is due.
  main.querySelector('h1')?.setAttribute('id', 'main-heading');
  main.querySelector('h1')?.setAttribute('tabindex', '-1');
  return main;
}

addEventListener('hashchange', () => {
  if (state.operator) void route();
});
for (const type of ['keydown', 'pointerdown']) addEventListener(type, touch, { capture: true, passive: true });
setInterval(signOutIfIdle, 15_000);

const stored = sessionStorage.getItem(KEY_STORE);
if (stored && idle()) {
  forgetKey();
  state.notice = { tone: 'error', text: w().idleSignedOut };
  render();
} else if (stored) {
  // Checked before the workspace shows: a key that opens nothing any more signs the tab out.
  state.key = stored;
  void signIn(stored);
} else {
  render();
}
