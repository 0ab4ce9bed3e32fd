// 权益管理 (admins): every benefit with its window, rules and stock; create, edit, pause, resume.
// Checked here first, so an operator reads what is wrong in their language before anything is sent.
import { api, attempt, card, field, instant, localInput, noticeBar, ok, render, state, table, time, w } from './app.js';
import type { AdminBenefit, BenefitInput } from './api.js';
import { h } from './dom.js';

const KEY = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function loadBenefits(): Promise<void> {
  return attempt(async () => {
    state.benefits = await api().benefits();
    return null;
  });
}

export function benefitsScreen(): HTMLElement {
  const create = h('button', { type: 'button', class: 'primary', id: 'benefit-new', disabled: !!state.busy || state.editing !== null }, w().benefits.create);
  create.addEventListener('click', () => openEditor(null));
  const list = state.benefits ?? [];
  return h(
    'div',
    { class: 'screen' },
    h('section', { class: 'card intro' }, h('header', {}, h('h1', {}, w().screens.benefits), create), h('p', { class: 'hint' }, w().benefits.intro)),
    noticeBar(),
    state.editing === '' && editor(null),
    card(
      w().screens.benefits,
      null,
      list.length
        ? table(
            [w().benefit, w().benefits.window, w().benefits.policy, w().actions],
            list.map((benefit) => [titleCell(benefit), windowText(benefit), rulesCell(benefit), buttons(benefit)]),
          )
        : h('p', { class: 'hint' }, w().benefits.none),
    ),
    state.editing && editor(list.find((benefit) => benefit.key === state.editing) ?? null),
  );
}

function titleCell(benefit: AdminBenefit): Node {
  return h(
    'span',
    { class: 'benefit-title' },
    h('strong', {}, benefit.title[state.lang]),
    ' ',
    h('span', { class: `badge ${benefit.active ? 'ok' : 'muted'}` }, benefit.active ? w().benefits.running : w().benefits.paused),
    h('br'),
    h('code', { class: 'hint' }, benefit.key),
  );
}

function windowText(benefit: AdminBenefit): Node | string {
  if (!benefit.startsAt && !benefit.endsAt) return w().benefits.always;
  return h('span', {}, benefit.startsAt ? time(benefit.startsAt) : '…', ' – ', benefit.endsAt ? time(benefit.endsAt) : '…');
}

function rulesCell(benefit: AdminBenefit): Node {
  const { policy } = benefit;
  const rules = w().benefits.rules;
  const shown = [
    policy.newWithinDays !== null && rules.newWithinDays(policy.newWithinDays),
    policy.phoneRequired && rules.phoneRequired,
    policy.onePerPhone && rules.onePerPhone,
    policy.maxRiskRank !== null && rules.maxRiskRank(policy.maxRiskRank),
    typeof policy.stock === 'number' && rules.stock(policy.stock),
    typeof policy.dailyStock === 'number' && rules.dailyStock(policy.dailyStock),
  ].filter((rule): rule is string => typeof rule === 'string');
  const count = (value: number | null) => (value === null ? w().benefits.unlimited : String(value));
  return h(
    'span',
    {},
    shown.length ? shown.join(' · ') : rules.none,
    benefit.stock && [h('br'), h('span', { class: 'stock' }, w().benefits.remaining(count(benefit.stock.remaining), count(benefit.stock.remainingToday)))],
  );
}

function buttons(benefit: AdminBenefit): Node {
  const edit = h('button', { type: 'button', class: 'small', id: `edit-${benefit.key}`, disabled: !!state.busy }, w().benefits.edit);
  edit.addEventListener('click', () => openEditor(benefit));
  const toggle = h('button', { type: 'button', class: 'small', id: `toggle-${benefit.key}`, disabled: !!state.busy }, benefit.active ? w().benefits.pause : w().benefits.resume);
  toggle.addEventListener('click', () => {
    const title = benefit.title[state.lang];
    void save(benefit.key, { ...inputOf(benefit), active: !benefit.active }, benefit.active ? w().benefits.didPause(title) : w().benefits.didResume(title));
  });
  return h('span', { class: 'row-buttons' }, edit, toggle);
}

/** The benefit as PUT takes it back: everything it holds, the stock rules only when set. */
function inputOf({ title, active, startsAt, endsAt, policy }: AdminBenefit): BenefitInput {
  const { stock, dailyStock, ...rules } = policy;
  return { title, active, startsAt, endsAt, policy: { ...rules, ...(typeof stock === 'number' ? { stock } : {}), ...(typeof dailyStock === 'number' ? { dailyStock } : {}) } };
}

function save(key: string, input: BenefitInput, notice: string): Promise<void> {
  return attempt(async () => {
    const saved = await api().saveBenefit(key, input);
    state.benefits = await api().benefits();
    state.editing = null;
    state.draft = {};
    return ok(notice || w().benefits.saved(saved.title[state.lang]));
  });
}

/** The editor's fields as typed (by control id), so a refused save keeps every one of them. */
export function openEditor(benefit: AdminBenefit | null): void {
  const number = (value: number | null | undefined) => (value == null ? '' : String(value));
  state.editing = benefit?.key ?? '';
  state.draft = {
    'benefit-key': benefit?.key ?? '',
    'benefit-title-zh': benefit?.title.zh ?? '',
    'benefit-title-en': benefit?.title.en ?? '',
    'benefit-active': benefit?.active ?? true,
    'benefit-starts': localInput(benefit?.startsAt ?? null),
    'benefit-ends': localInput(benefit?.endsAt ?? null),
    'benefit-new-within': number(benefit?.policy.newWithinDays),
    'benefit-phone': benefit?.policy.phoneRequired ?? false,
    'benefit-one-per-phone': benefit?.policy.onePerPhone ?? false,
    'benefit-risk': number(benefit?.policy.maxRiskRank),
    'benefit-risk-failure': benefit?.policy.riskFailure ?? 'refuse',
    'benefit-stock': number(benefit?.policy.stock),
    'benefit-daily-stock': number(benefit?.policy.dailyStock),
  };
  state.focus = benefit ? 'benefit-title-zh' : 'benefit-key';
  render();
}

function editor(benefit: AdminBenefit | null): HTMLElement {
  const b = w().benefits;
  const draft = state.draft;
  const bind = <E extends HTMLInputElement | HTMLSelectElement>(control: E): E => {
    const value = draft[control.id];
    if (control instanceof HTMLInputElement && control.type === 'checkbox') control.checked = value === true;
    else control.value = String(value ?? '');
    control.addEventListener('input', () => (draft[control.id] = control instanceof HTMLInputElement && control.type === 'checkbox' ? control.checked : control.value));
    control.addEventListener('change', () => (draft[control.id] = control instanceof HTMLInputElement && control.type === 'checkbox' ? control.checked : control.value));
    return control;
  };
  const input = (id: string, attributes: Record<string, string> = {}) => bind(h('input', { id, name: id, autocomplete: 'off', ...attributes }));
  const key = input('benefit-key', { spellcheck: 'false', maxlength: '64', ...(benefit ? { readonly: 'readonly' } : {}) });
  const titleZh = input('benefit-title-zh', { maxlength: '100' });
  const titleEn = input('benefit-title-en', { maxlength: '100' });
  const active = input('benefit-active', { type: 'checkbox' });
  const startsAt = input('benefit-starts', { type: 'datetime-local' });
  const endsAt = input('benefit-ends', { type: 'datetime-local' });
  const number = (id: string, min: number, max: number) => input(id, { type: 'number', inputmode: 'numeric', min: String(min), max: String(max), step: '1' });
  const newWithinDays = number('benefit-new-within', 1, 3650);
  const phoneRequired = input('benefit-phone', { type: 'checkbox' });
  const onePerPhone = input('benefit-one-per-phone', { type: 'checkbox' });
  const maxRiskRank = bind(h('select', { id: 'benefit-risk' }, h('option', { value: '' }, b.anyRisk), [0, 1, 2, 3, 4].map((value) => h('option', { value: String(value) }, String(value)))));
  const riskFailure = bind(h('select', { id: 'benefit-risk-failure' }, (['refuse', 'allow'] as const).map((value) => h('option', { value }, b[value]))));
  const stock = number('benefit-stock', 0, 100_000_000);
  const dailyStock = number('benefit-daily-stock', 0, 100_000_000);
  const cancel = h('button', { type: 'button' }, b.cancel);
  cancel.addEventListener('click', () => {
    state.editing = null;
    state.focus = benefit ? `edit-${benefit.key}` : 'benefit-new';
    render();
  });
  const check = (box: HTMLElement, label: string) => h('label', { class: 'check' }, box, h('span', {}, label));
  const form = h(
    'form',
    // novalidate: the checks below say what is wrong in the operator's language, not the browser's.
    { class: 'card editor', 'aria-labelledby': 'editor-title', novalidate: true },
    h('header', {}, h('h2', { id: 'editor-title' }, benefit ? `${b.edit} · ${benefit.title[state.lang]}` : b.create)),
    h(
      'div',
      { class: 'editor-grid' },
      field(b.key, key),
      field(b.titleZh, titleZh),
      field(b.titleEn, titleEn),
      field(b.startsAt, startsAt),
      field(b.endsAt, endsAt),
      field(b.newWithinDays, newWithinDays),
      field(b.maxRiskRank, maxRiskRank),
      field(b.riskFailure, riskFailure),
      field(b.stock, stock),
      field(b.dailyStock, dailyStock),
    ),
    h('div', { class: 'checks' }, check(active, b.active), check(phoneRequired, b.phoneRequired), check(onePerPhone, b.onePerPhone)),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', disabled: !!state.busy }, b.save), cancel),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const problem = (text: string, focus: string) => {
      state.notice = { tone: 'error', text };
      state.focus = focus;
      render();
    };
    const whole = (control: HTMLInputElement, label: string, min: number, max: number): number | null | false => {
      if (control.value.trim() === '') return null;
      const value = Number(control.value);
      if (Number.isInteger(value) && value >= min && value <= max) return value;
      problem(b.invalid.number(label, min, max), control.id);
      return false;
    };
    if (!KEY.test(key.value.trim())) return problem(b.invalid.key, key.id);
    const titles = { zh: titleZh.value.trim(), en: titleEn.value.trim() };
    if (!titles.zh || !titles.en) return problem(b.invalid.title, titles.zh ? titleEn.id : titleZh.id);
    const days = whole(newWithinDays, b.newWithinDays, 1, 3650);
    const total = days !== false && whole(stock, b.stock, 0, 100_000_000);
    const daily = total !== false && whole(dailyStock, b.dailyStock, 0, 100_000_000);
    if (days === false || total === false || daily === false) return;
    const [start, end] = [instant(startsAt.value) ?? null, instant(endsAt.value) ?? null];
    if (start && end && end <= start) return problem(b.invalid.window, endsAt.id);
    void save(
      key.value.trim(),
      {
        title: titles,
        active: active.checked,
        startsAt: start,
        endsAt: end,
        policy: {
          newWithinDays: days,
          phoneRequired: phoneRequired.checked,
          onePerPhone: onePerPhone.checked,
          maxRiskRank: maxRiskRank.value === '' ? null : Number(maxRiskRank.value),
          riskFailure: riskFailure.value as 'refuse' | 'allow',
          // Sent only when set: a deployment without limited stock refuses fields it does not know.
          ...(total === null ? {} : { stock: total }),
          ...(daily === null ? {} : { dailyStock: daily }),
        },
      },
      '',
    );
  });
  return form;
}
