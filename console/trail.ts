// 审计记录: the whole audit trail, newest first, filtered by kind, operator, user (deleted users
// too, by id) and time, a page at a time.
import type { EventKind } from '../lib/people/events.js';
import { actorText, api, app, attempt, card, detailsText, field, instant, localInput, noticeBar, state, table, time, w } from './app.js';
import type { EventFilter } from './api.js';
import { h } from './dom.js';
import * as normalise from './normalise.js';

/** Opens the trail with `filter` (from the form, or a user's page). */
export function loadTrail(filter: EventFilter): Promise<void> {
  state.trail = { filter, events: [], next: null, loaded: false };
  return attempt(
    async () => {
      const page = await api().events(filter);
      state.trail = { filter, events: page.events, next: page.next, loaded: true };
      return null;
    },
    { focus: () => 'trail-results' },
  );
}

function loadMore(): Promise<void> {
  const { filter, next } = state.trail;
  return attempt(
    async () => {
      const page = await api().events(filter, next ?? undefined);
      state.trail.events.push(...page.events);
      state.trail.next = page.next;
      return null;
    },
    { focus: () => (state.trail.next ? 'trail-more' : 'trail-results') },
  );
}

export function trailScreen(): HTMLElement {
  const { filter, events, next, loaded } = state.trail;
  const kinds = Object.entries(w().kinds) as [EventKind, string][];
  const kind = h('select', { id: 'trail-kind', name: 'kind' }, h('option', { value: '' }, w().trail.anyKind), kinds.map(([value, label]) => h('option', { value, selected: filter.kind === value }, label)));
  const operator = h('input', { id: 'trail-operator', name: 'operator', value: filter.operator ?? '', autocomplete: 'off', spellcheck: 'false' });
  const person = h('input', { id: 'trail-person', name: 'person', value: filter.person ?? '', autocomplete: 'off', spellcheck: 'false' });
  const from = h('input', { id: 'trail-from', name: 'from', type: 'datetime-local', value: localInput(filter.from ?? null) });
  const to = h('input', { id: 'trail-to', name: 'to', type: 'datetime-local', value: localInput(filter.to ?? null) });
  const clear = h('button', { type: 'button', class: 'ghost-dark' }, w().trail.clear);
  clear.addEventListener('click', () => void loadTrail({}));
  const form = h(
    'form',
    { class: 'card filters' },
    h('h1', {}, w().screens.trail),
    h(
      'div',
      { class: 'filter-grid' },
      field(w().trail.kind, kind),
      field(w().trail.operator, operator),
      field(w().trail.person, person),
      field(w().trail.from, from),
      field(w().trail.to, to),
    ),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', disabled: !!state.busy }, w().trail.apply), clear),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen: EventFilter = {
      kind: kind.value || undefined,
      operator: normalise.plain(operator.value) || undefined,
      person: normalise.personId(person.value) || undefined,
      from: instant(from.value),
      to: instant(to.value),
    };
    void loadTrail(Object.fromEntries(Object.entries(chosen).filter(([, value]) => value !== undefined)));
  });

  const more = next && h('button', { type: 'button', id: 'trail-more', disabled: !!state.busy }, w().trail.more);
  if (more) more.addEventListener('click', () => void loadMore());
  const rows = events.map((event): (Node | string)[] => [
    time(event.at),
    h('span', { class: `kind kind-${event.kind}` }, w().kinds[event.kind] ?? event.kind),
    event.personId ? h('a', { href: `#/person/${event.personId}`, class: 'person-link' }, h('code', {}, event.personId)) : '',
    actorText(event.actor),
    app(event.appid),
    detailsText(event.details) && h('span', { class: 'free-text' }, detailsText(event.details)),
  ]);
  return h(
    'div',
    { class: 'screen' },
    form,
    noticeBar(),
    loaded &&
      card(
        w().screens.trail,
        h('span', { class: 'hint', id: 'trail-results', tabindex: '-1' }, w().trail.showing(events.length)),
        events.length ? table([w().trail.time, w().trail.kind, w().user, w().trail.actorColumn, w().app, w().trail.detailsColumn], rows) : h('p', { class: 'hint' }, w().trail.empty),
        more || (events.length > 0 && h('p', { class: 'hint' }, w().trail.end)),
      ),
  );
}

