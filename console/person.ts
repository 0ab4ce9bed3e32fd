// 查找用户: the search, and a user's whole story with what the operator's role lets them do.
import type { Lookup, LookupKind } from '../lib/people/operators.js';
import type { PersonView } from './api.js';
import { actorText, api, app, attempt, benefit, can, card, clearPerson, detailsText, field, instant, noticeBar, ok, render, state, table, time, w } from './app.js';
import { h } from './dom.js';
import * as normalise from './normalise.js';

type FieldName = keyof typeof state.search.fields;

/** The fields each kind of search asks for, and how each is cleaned before it is sent. */
const SEARCH_FIELDS: Record<LookupKind, FieldName[]> = { id: ['id'], account: ['appid', 'openid'], unionid: ['unionid'], phone: ['phone'] };
const CLEAN: Record<FieldName, (text: string) => string> = {
  id: normalise.personId,
  appid: normalise.personId,
  openid: normalise.wechatId,
  unionid: normalise.wechatId,
  phone: normalise.phone,
};

/** Shows the user a request answers, and puts them in the URL so a reload or a shared link opens them. */
export function show(
  load: () => Promise<PersonView>,
  { notice = null, revealed = false, busy }: { notice?: string | (() => string) | null; revealed?: boolean; busy?: string } = {},
): Promise<void> {
  return attempt(
    async () => {
      const person = await load();
      if (person.id !== state.person?.id) clearPerson();
      Object.assign(state, { person, revealed });
      state.drafts.purpose = '';
      history.replaceState(null, '', `#/person/${person.id}`);
      return notice === null ? null : ok(typeof notice === 'string' ? notice : notice());
    },
    { focus: () => 'result', ...(busy ? { busy } : {}) },
  );
}

export function personScreen(): HTMLElement {
  return h(
    'div',
    { class: 'screen' },
    searchForm(),
    noticeBar(),
    state.person ? personView(state.person) : !state.busy && h('p', { class: 'empty' }, w().searchHint),
  );
}

function searchForm(): HTMLElement {
  const kinds = (Object.keys(SEARCH_FIELDS) as LookupKind[]).map((kind) => {
    const radio = h('input', { type: 'radio', name: 'kind', value: kind, checked: kind === state.search.kind, id: `kind-${kind}` });
    radio.addEventListener('change', () => {
      state.search.kind = kind;
      state.focus = `kind-${kind}`;
      render();
    });
    return h('label', { class: 'kind-choice' }, radio, h('span', {}, w().searchKinds[kind]));
  });
  const inputs = SEARCH_FIELDS[state.search.kind].map((name) => {
    const input = h('input', { id: `search-${name}`, name, type: 'search', value: state.search.fields[name], placeholder: w().placeholders[name], spellcheck: 'false', autocomplete: 'off' });
    input.addEventListener('input', () => (state.search.fields[name] = input.value));
    return field(w().fieldNames[name], input);
  });
  const form = h(
    'form',
    { class: 'search card', role: 'search' },
    h('h1', {}, w().screens.person),
    h('fieldset', { class: 'kinds' }, h('legend', { class: 'visually-hidden' }, w().search), kinds),
    h('div', { class: 'terms' }, inputs, h('button', { type: 'submit', class: 'primary', disabled: !!state.busy }, w().search)),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const names = SEARCH_FIELDS[state.search.kind];
    const terms = Object.fromEntries(names.map((name) => [name, CLEAN[name](state.search.fields[name])]));
    if (names.some((name) => !terms[name])) {
      state.notice = { tone: 'error', text: w().searchRequired };
      state.focus = 'notice';
      return render();
    }
    // The previous user leaves the screen at once: a slow or failed search never shows them as the answer.
    clearPerson();
    history.replaceState(null, '', '#/person');
    void show(() => api().search(terms as Lookup), { busy: w().searching });
  });
  return form;
}

function personView(person: PersonView): HTMLElement {
  return h(
    'div',
    { class: 'person' },
    h('div', { class: 'column' }, overview(person), accounts(person), sessions(person), claims(person), merges(person)),
    h('div', { class: 'column' }, can('support') && actions(person), timeline(person)),
  );
}

function overview(person: PersonView): HTMLElement {
  const { suspension } = person;
  let phone: Node | string = w().noPhone;
  if (person.phone !== null) {
    phone = h('span', { class: 'phone-line' }, h('span', { class: 'phone' }, person.phone), !state.revealed && can('support') && revealForm(person));
  }
  const facts: [string, Node | string][] = [
    [w().created, time(person.createdAt)],
    ['unionid', person.unionid ? h('code', {}, person.unionid) : w().none],
    [w().phone, phone],
    [w().phoneVerified, person.phoneVerifiedAt ? time(person.phoneVerifiedAt) : w().none],
    [w().liveSessions, String(person.sessions.length)],
  ];
  if (suspension) {
    facts.push(
      [w().reason, h('span', { class: 'free-text' }, suspension.reason)],
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
      h('h2', { id: 'result', tabindex: '-1' }, w().user, ' ', h('code', { class: 'person-id' }, person.id)),
      h('span', { class: `badge ${suspension ? 'danger' : 'ok'}` }, suspension ? w().suspended : w().active),
    ),
    h('dl', { class: 'facts' }, facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])),
  );
}

/** Revealing a number needs a purpose, kept with the look in the audit trail. */
function revealForm(person: PersonView): HTMLElement {
  const purpose = h('input', { id: 'purpose', name: 'purpose', maxlength: '200', value: state.drafts.purpose, placeholder: w().purposePlaceholder, autocomplete: 'off' });
  purpose.addEventListener('input', () => (state.drafts.purpose = purpose.value));
  const form = h('form', { class: 'reveal' }, field(w().purpose, purpose, w().freeTextNote), h('button', { type: 'submit', disabled: !!state.busy }, w().reveal));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const stated = state.drafts.purpose.trim();
    if (!stated) {
      state.notice = { tone: 'error', text: w().purposeRequired };
      state.focus = 'purpose';
      return render();
    }
    void show(() => api().reveal(person.id, stated), { notice: w().revealed, revealed: true });
  });
  return form;
}

function accounts(person: PersonView): HTMLElement {
  return card(
    w().accounts,
    null,
    table(
      [w().app, 'openid', w().linkedAt, w().liveSessions],
      person.accounts.map((account) => [app(account.appid), h('code', {}, account.openid), time(account.linkedAt), String(person.sessions.filter((session) => session.appid === account.appid).length)]),
    ),
  );
}

/** Each live session on its own, endable on its own (support and admin). */
function sessions(person: PersonView): HTMLElement {
  if (person.sessions.length === 0) return card(w().sessions, null, h('p', { class: 'hint' }, w().noSessions));
  const headings = [w().app, w().loggedInAt, w().lastSeen, ...(can('support') ? [w().actions] : [])];
  return card(
    w().sessions,
    null,
    table(
      headings,
      person.sessions.map((session) => {
        const end = h('button', { type: 'button', class: 'small', disabled: !!state.busy }, w().endSession);
        end.addEventListener('click', () => void show(() => api().endSession(person.id, session.handle), { notice: w().didEndSession }));
        return [app(session.appid), time(session.createdAt), time(session.lastSeenAt), ...(can('support') ? [end] : [])];
      }),
    ),
  );
}

function claims(person: PersonView): HTMLElement {
  return card(
    w().claims,
    null,
    person.claims.length
      ? table([w().benefit, w().app, w().claimedAt], person.claims.map((claim) => [benefit(claim.benefit), app(claim.appid), time(claim.claimedAt)]))
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
        h('div', { class: 'dropped' }, h('p', {}, w().droppedClaims), table([w().benefit, w().app, w().claimedAt], dropped.map((claim) => [benefit(claim.benefit), app(claim.appid), time(claim.claimedAt)]))),
    );
  });
  return card(w().merges, null, items.length ? h('ul', { class: 'merges' }, items) : h('p', { class: 'hint' }, w().noMerges));
}

function actions(person: PersonView): HTMLElement {
  const busy = !!state.busy;
  const { drafts } = state;
  let suspension: HTMLElement;
  if (person.suspension) {
    const lift = h('button', { type: 'button', id: 'lift', disabled: busy }, w().lift);
    lift.addEventListener('click', () => void show(() => api().lift(person.id), { notice: w().didLift }));
    suspension = h('div', { class: 'action' }, lift);
  } else {
    const reason = h('textarea', { id: 'reason', name: 'reason', maxlength: '500', rows: '2', placeholder: w().reasonPlaceholder });
    reason.value = drafts.reason;
    reason.addEventListener('input', () => (drafts.reason = reason.value));
    const until = h('input', { id: 'until', name: 'until', type: 'datetime-local', value: drafts.until });
    until.addEventListener('input', () => (drafts.until = until.value));
    suspension = h(
      'form',
      { class: 'action' },
      field(w().reason, reason, w().freeTextNote),
      field(w().untilOptional, until),
      h('p', { class: 'hint' }, w().suspendHelp),
      h('button', { type: 'submit', class: 'danger', id: 'suspend', disabled: busy }, w().suspend),
    );
    suspension.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!drafts.reason.trim()) {
        state.notice = { tone: 'error', text: w().reasonRequired };
        state.focus = 'reason';
        return render();
      }
      void show(async () => {
        const shown = await api().suspend(person.id, drafts.reason.trim(), instant(drafts.until));
        Object.assign(drafts, { reason: '', until: '' });
        return shown;
      }, { notice: w().didSuspend });
    });
  }

  const endSessions = h('button', { type: 'button', disabled: busy }, w().endSessions);
  endSessions.addEventListener('click', () => {
    let ended = 0;
    void show(async () => {
      const answer = await api().endSessions(person.id);
      ended = answer.ended;
      return answer.person;
    }, { notice: () => w().didEndSessions(ended) });
  });

  return card(
    w().actions,
    null,
    suspension,
    h('div', { class: 'action' }, h('p', { class: 'hint' }, w().endSessionsHelp), endSessions),
    can('admin') && deletion(person),
  );
}

function deletion(person: PersonView): HTMLElement {
  const confirm = h('input', { id: 'confirm', name: 'confirm', value: state.drafts.confirm, placeholder: person.id, autocomplete: 'off', spellcheck: 'false' });
  const remove = h('button', { type: 'submit', class: 'danger', disabled: !!state.busy || state.drafts.confirm.trim() !== person.id }, w().remove);
  confirm.addEventListener('input', () => {
    state.drafts.confirm = confirm.value;
    remove.disabled = !!state.busy || confirm.value.trim() !== person.id;
  });
  const form = h('form', { class: 'action danger-zone' }, field(w().removeHelp, confirm), remove);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (state.drafts.confirm.trim() !== person.id) return;
    void attempt(async () => {
      await api().remove(person.id);
      clearPerson();
      history.replaceState(null, '', '#/person');
      return ok(w().didRemove(person.id));
    });
  });
  return form;
}

function timeline(person: PersonView): HTMLElement {
  return card(
    w().timeline,
    h('a', { href: `#/trail?person=${person.id}`, class: 'hint' }, w().openTrail),
    h(
      'ol',
      { class: 'events' },
      person.events.map((event) => {
        const details = detailsText(event.details);
        return h(
          'li',
          { class: `event kind-${event.kind}` },
          time(event.at),
          h('span', { class: 'kind' }, w().kinds[event.kind] ?? event.kind),
          h('span', { class: 'meta' }, actorText(event.actor), event.appid && [' · ', app(event.appid)]),
          details && h('span', { class: 'details free-text' }, details),
        );
      }),
    ),
  );
}
