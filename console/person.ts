// 查找用户: the search, and a user's whole story with what the operator's role lets them do.
import type { Lookup, LookupKind } from '../lib/people/operators.js';
import type { PersonView } from './api.js';
import { actorText, api, app, attempt, benefit, can, card, clearPerson, detailsText, field, instant, localInput, noticeBar, ok, render, state, table, time, w } from './app.js';
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
    h('div', { class: 'column' }, overview(person), profile(person), accounts(person), sessions(person), claims(person), consents(person), merges(person)),
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

/** The nickname and avatar as the person's mini programs show them, and their take-down (support and admin). */
function profile(person: PersonView): HTMLElement {
  const { profile } = person;
  if (!profile) return card(w().profile, null, h('p', { class: 'hint' }, w().noProfile));
  const check = profile.avatarCheck;
  // The console's CSP allows images from its own origin only: the avatar's path, whatever host avatarUrl names.
  const avatar = profile.avatarUrl ? h('img', { class: 'avatar', src: new URL(profile.avatarUrl, location.origin).pathname, alt: w().avatar, width: '64', height: '64' }) : h('span', { class: 'avatar none' }, w().notSet);
  const facts: [string, Node | string][] = [
    [w().nickname, profile.nickname === null ? w().notSet : h('span', { class: 'nickname free-text' }, profile.nickname)],
    [w().avatarCheck, check ? h('span', { class: `badge ${check === 'pending' || check === 'review' ? 'warn' : check === 'pass' ? 'ok' : 'muted'}` }, w().avatarChecks[check]) : w().none],
    [w().profileUpdated, time(profile.updatedAt)],
  ];
  return card(
    w().profile,
    null,
    h('div', { class: 'profile' }, avatar, h('dl', { class: 'facts' }, facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]))),
    can('support') && (profile.nickname !== null || profile.avatarUrl !== null) && takedownForm(person, profile.nickname !== null, profile.avatarUrl !== null),
  );
}

/** One reason, required and kept in the audit trail, for whichever of the two is taken down. */
function takedownForm(person: PersonView, nickname: boolean, avatar: boolean): HTMLElement {
  const reason = h('textarea', { id: 'takedown-reason', name: 'takedown-reason', maxlength: '500', rows: '2', placeholder: w().takedownPlaceholder });
  reason.value = state.drafts.takedown;
  reason.addEventListener('input', () => (state.drafts.takedown = reason.value));
  const button = (what: 'nickname' | 'avatar') => {
    const take = h('button', { type: 'button', class: 'danger', id: `takedown-${what}`, disabled: !!state.busy }, w().takeDown[what]);
    take.addEventListener('click', () => {
      const stated = state.drafts.takedown.trim();
      if (!stated) {
        state.notice = { tone: 'error', text: w().takedownRequired };
        state.focus = 'takedown-reason';
        return render();
      }
      void show(async () => {
        const shown = await api().takeDown(person.id, what, stated);
        state.drafts.takedown = '';
        return shown;
      }, { notice: w().didTakeDown[what] });
    });
    return take;
  };
  return h(
    'div',
    { class: 'action' },
    field(w().takedownReason, reason, w().freeTextNote),
    avatar && h('p', { class: 'hint' }, w().takedownHelp),
    h('div', { class: 'buttons' }, nickname && button('nickname'), avatar && button('avatar')),
  );
}

function accounts(person: PersonView): HTMLElement {
  return card(
    w().accounts,
    null,
    table(
      [w().app, w().appKind, 'openid', w().linkedAt, w().liveSessions],
      person.accounts.map((account) => [
        app(account.appid),
        account.kind ? w().appKinds[account.kind] : w().unconfigured,
        h('code', {}, account.openid),
        time(account.linkedAt),
        String(person.sessions.filter((session) => session.appid === account.appid).length),
      ]),
    ),
  );
}

/** Each live session on its own, endable on its own (support and admin). */
function sessions(person: PersonView): HTMLElement {
  if (person.sessions.length === 0) return card(w().sessions, null, h('p', { class: 'hint' }, w().noSessions));
  const headings = [w().app, w().channel, w().loggedInAt, w().lastSeen, ...(can('support') ? [w().actions] : [])];
  return card(
    w().sessions,
    null,
    table(
      headings,
      person.sessions.map((session) => {
        const end = h('button', { type: 'button', class: 'small', disabled: !!state.busy }, w().endSession);
        end.addEventListener('click', () => void show(() => api().endSession(person.id, session.handle), { notice: w().didEndSession }));
        return [app(session.appid), w().channels[session.channel], time(session.createdAt), time(session.lastSeenAt), ...(can('support') ? [end] : [])];
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

/** Every agreement in every mini program, in force or withdrawn (同意记录). */
function consents(person: PersonView): HTMLElement {
  if (person.consents.length === 0) return card(w().consents, null, h('p', { class: 'hint' }, w().noConsents));
  return card(
    w().consents,
    null,
    table(
      [w().document, w().version, w().app, w().agreedAt, w().consentState],
      person.consents.map((consent) => [
        w().documents[consent.document] ?? consent.document,
        h('code', {}, consent.version),
        app(consent.appid),
        time(consent.agreedAt),
        consent.withdrawnAt
          ? h('span', { class: 'withdrawn' }, h('span', { class: 'badge muted' }, w().withdrawn), ' ', time(consent.withdrawnAt))
          : h('span', { class: 'badge ok' }, w().inForce),
      ]),
    ),
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
    exportForm(person),
    can('admin') && deletion(person),
  );
}

/**
 * The person's copy, for a request received another way: handed to the browser as a file at once,
 * never shown on screen nor kept in the console's state.
 */
function exportForm(person: PersonView): HTMLElement {
  const purpose = h('input', { id: 'export-purpose', name: 'export-purpose', maxlength: '200', value: state.drafts.exportPurpose, placeholder: w().purposePlaceholder, autocomplete: 'off' });
  purpose.addEventListener('input', () => (state.drafts.exportPurpose = purpose.value));
  const form = h('form', { class: 'action' }, h('p', { class: 'hint' }, w().exportHelp), field(w().exportPurpose, purpose, w().freeTextNote), h('button', { type: 'submit', id: 'export', disabled: !!state.busy }, w().exportData));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const stated = state.drafts.exportPurpose.trim();
    if (!stated || stated.length > 200) {
      state.notice = { tone: 'error', text: w().exportRequired };
      state.focus = 'export-purpose';
      return render();
    }
    void attempt(async () => {
      const copy = await api().exportCopy(person.id, stated);
      const file = `wxlogin-${person.id}-${localInput(new Date().toISOString()).slice(0, 10)}.json`;
      download(file, JSON.stringify(copy, null, 2));
      state.drafts.exportPurpose = '';
      return ok(w().didExport(file));
    });
  });
  return form;
}

/** Saves `text` as a file through a short-lived object URL. */
function download(file: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const link = h('a', { href: url, download: file });
  link.click();
  // The click has started the download; the URL is let go on the next turn.
  setTimeout(() => URL.revokeObjectURL(url));
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
