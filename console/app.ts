// The console's state and the helpers every screen uses. The screen is rebuilt from `state` after
// every answer, so it always shows what the API last said; what an operator typed lives in `state`
// too, so a failed call never loses it.
import { allows, type Role } from '../lib/platform/roles.js';
import { AdminApi, Problem, type AdminBenefit, type EventFilter, type OperatorView, type PersonView } from './api.js';
import { h } from './dom.js';
import { formatTime, words, type Lang, type Screen } from './i18n.js';
import type { LookupKind } from '../lib/people/operators.js';
import type { AuditEvent } from '../lib/people/events.js';

export interface Notice {
  tone: 'ok' | 'error';
  text: string;
  problem?: Problem;
}

/** Only the language outlives the tab: it is no secret. */
export const LANGUAGE_STORE = 'wxlogin.consoleLanguage';

const emptyDrafts = () => ({ purpose: '', reason: '', until: '', confirm: '', takedown: '', exportPurpose: '' });

export const state = {
  lang: (localStorage.getItem(LANGUAGE_STORE) === 'en' ? 'en' : 'zh') as Lang,
  key: null as string | null,
  operator: null as OperatorView | null,
  screen: 'person' as Screen,
  notice: null as Notice | null,
  /** What the running request is doing, shown while it runs; null when idle. */
  busy: null as string | null,
  /** The id of the element to focus once the screen is rebuilt. */
  focus: null as string | null,
  search: { kind: 'id' as LookupKind, fields: { id: '', appid: '', openid: '', unionid: '', phone: '' } },
  person: null as PersonView | null,
  revealed: false,
  drafts: emptyDrafts(),
  benefits: null as AdminBenefit[] | null,
  /** The benefit being edited: its key, '' for a new one, null when no form is open. */
  editing: null as string | null,
  /** The benefit editor's fields as typed, by control id. */
  draft: {} as Record<string, string | boolean>,
  trail: { filter: {} as EventFilter, events: [] as AuditEvent[], next: null as string | null, loaded: false },
};

export const w = () => words[state.lang];
export const api = () => new AdminApi(state.key!);
/** Whether the signed-in operator's role allows what `needed` may do. */
export const can = (needed: Role) => state.operator !== null && allows(state.operator.role, needed);
export const ok = (text: string): Notice => ({ tone: 'ok', text });

/** Forgets everything about the person shown and what was typed for them. */
export function clearPerson(): void {
  Object.assign(state, { person: null, revealed: false, drafts: emptyDrafts() });
}

let renderer = () => {};
export function onRender(fn: () => void): void {
  renderer = fn;
}

/** Rebuilds the screen, then puts the focus where the last action's outcome is. */
export function render(): void {
  renderer();
  const target = state.focus && document.getElementById(state.focus);
  state.focus = null;
  if (target) target.focus();
}

/** Called when the key in use (signed in, or kept in the tab) stops working (401): the console signs out. */
let onRefused = () => {};
export function onKeyRefused(fn: () => void): void {
  onRefused = fn;
}

/**
 * Runs one request: progress shows meanwhile, a problem becomes the notice, and the focus lands on
 * the notice (or on `focus`, the result, when there is none).
 */
export async function attempt(work: () => Promise<Notice | null>, { busy = w().working, focus = (): string => 'notice' } = {}): Promise<void> {
  state.busy = busy;
  state.notice = null;
  render();
  try {
    state.notice = await work();
    state.focus = state.notice ? 'notice' : focus();
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    // A key that stopped working (taken out of ADMIN_KEYS) signs the tab out.
    const refused = error.status === 401 && state.key !== null;
    if (refused) onRefused();
    state.notice = { tone: 'error', text: refused ? w().keyRefused : (w().errors[error.code] ?? w().failed), problem: error };
    state.focus = 'notice';
  } finally {
    state.busy = null;
    render();
  }
}

export function noticeBar(): HTMLElement | null {
  if (state.busy) return h('div', { class: 'notice busy', role: 'status', id: 'notice', tabindex: '-1' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), state.busy);
  const { notice } = state;
  if (!notice) return null;
  const { problem } = notice;
  return h(
    'div',
    { class: `notice ${notice.tone}`, role: notice.tone === 'error' ? 'alert' : 'status', id: 'notice', tabindex: '-1' },
    h('strong', {}, notice.text),
    problem &&
      h(
        'span',
        { class: 'problem' },
        `${w().errorCode} `,
        h('code', {}, problem.code),
        problem.requestId && [' · ', `${w().requestId} `, h('code', { class: 'request-id' }, problem.requestId)],
      ),
  );
}

export const time = (iso: string) => h('time', { datetime: iso }, formatTime(iso, state.lang));

/** A mini program by its display name (WECHAT_APP_NAMES) with its appid, or the appid alone. */
export function app(appid: string | null): Node | string {
  if (appid === null) return '';
  const name = state.operator?.apps.find((known) => known.appid === appid)?.name;
  return name ? h('span', { class: 'app' }, name, ' ', h('code', { class: 'appid' }, appid)) : h('code', { class: 'appid' }, appid);
}

/** A benefit by its title in the operator's language, with its key. */
export function benefit(key: string): Node {
  const found = state.benefits?.find((candidate) => candidate.key === key);
  const title = found?.title[state.lang];
  return title && title !== key ? h('span', {}, title, ' ', h('code', { class: 'hint' }, key)) : h('code', {}, key);
}

/** self, system, service:<name>, or an operator as <role>:<name>. */
export function actorText(actor: string): string {
  const [kind = actor, name] = actor.split(':', 2);
  const roles = w().roles as Record<string, string>;
  return [roles[kind] ?? w().actor[kind] ?? kind, name].filter(Boolean).join(' ');
}

/** An event's details in the order the words list them (the database keeps JSON keys in its own order), unknown ones last. */
export function detailsText(details: Record<string, unknown>): string {
  const order = Object.keys(w().details);
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined && !unchanged(value))
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([name, value]) => `${w().details[name] ?? name}: ${detailValue(name, value)}`)
    .join(' · ');
}

/** A {from, to} change that changed nothing (a stock change leaves the daily stock as it was, say). */
function unchanged(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'from' in value && 'to' in value && value.from === value.to;
}

/** One detail's value in the operator's words: names for codes, local times, changes as before → after. */
function detailValue(name: string, value: unknown): string {
  const words = w();
  if (Array.isArray(value)) return value.map((item) => detailValue(name, item)).join(', ');
  // A changed limit ({from, to}, as benefit_stock_changed records): null means no limit.
  if (typeof value === 'object' && value !== null) {
    if (!('from' in value && 'to' in value)) return JSON.stringify(value);
    const limit = (side: unknown) => (side === null || side === undefined ? words.noLimit : String(side));
    return words.change(limit(value.from), limit(value.to));
  }
  const shown = String(value);
  const named: Record<string, Record<string, string> | undefined> = {
    by: words.searchKinds,
    document: words.documents,
    what: { nickname: words.nickname, avatar: words.avatar },
    channel: words.channels,
  };
  if (name === 'until' && typeof value === 'string') return formatTime(value, state.lang);
  if (name === 'benefit') return state.benefits?.find((known) => known.key === value)?.title[state.lang] ?? shown;
  if (name === 'appid') return [state.operator?.apps.find((known) => known.appid === value)?.name, shown].filter(Boolean).join(' ');
  return named[name]?.[shown] ?? shown;
}

export function card(title: string, extra: Node | string | null | false, ...content: (Node | null | false)[]): HTMLElement {
  return h('section', { class: 'card' }, h('header', {}, h('h2', {}, title), extra), ...content);
}

/** A table that becomes labelled rows on a narrow screen (each cell carries its heading). */
export function table(headings: string[], rows: (Node | string | false)[][]): HTMLElement {
  return h(
    'table',
    { class: 'stack' },
    h('thead', {}, h('tr', {}, headings.map((heading) => h('th', { scope: 'col' }, heading)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell, i) => h('td', { 'data-label': headings[i] }, cell || null))))),
  );
}

/** A labelled field: every control has its label (by id), and a hint it is described by. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  if (hint) control.setAttribute('aria-describedby', `${control.id}-hint`);
  return h('div', { class: 'field' }, h('label', { for: control.id, class: 'label' }, label), control, hint && h('small', { class: 'hint', id: `${control.id}-hint` }, hint));
}

/** A datetime-local value (the browser's local time) as an instant with its offset, or undefined. */
export function instant(local: string): string | undefined {
  return local ? new Date(local).toISOString() : undefined;
}

/** An instant as a datetime-local value in the browser's zone. */
export function localInput(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
