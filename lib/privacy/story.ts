// The audit trail as the person reads it: each event a sentence in Chinese and in English, saying
// who did what ("you", "an operator", "the system"), never an operator's name.
import type { AuditEvent, EventKind } from '../people/events.js';

export interface Sentence {
  zh: string;
  en: string;
}

type Details = Record<string, unknown>;

const ACTORS: Record<string, Sentence> = {
  self: { zh: '你', en: 'You' },
  admin: { zh: '运营人员', en: 'An operator' },
  service: { zh: '公司的其他系统', en: "One of the company's systems" },
  system: { zh: '系统', en: 'The system' },
};

const DOCUMENTS: Record<string, Sentence> = {
  privacy: { zh: '《隐私保护指引》', en: 'the privacy guide' },
  terms: { zh: '《用户协议》', en: 'the terms of service' },
};

const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');
const documentOf = (details: Details): Sentence => DOCUMENTS[text(details.document)] ?? { zh: `《${text(details.document)}》`, en: `"${text(details.document)}"` };
const inApp = (appid: string | null): Sentence => (appid ? { zh: `在 ${appid} `, en: ` in ${appid}` } : { zh: '', en: '' });

/** What each kind of event did, after its actor. */
const ACTIONS: Record<EventKind, (details: Details, appid: string | null) => Sentence> = {
  first_login: (_, appid) => ({ zh: `${inApp(appid).zh}第一次登录`, en: `logged in for the first time${inApp(appid).en}` }),
  login: (_, appid) => ({ zh: `${inApp(appid).zh}登录`, en: `logged in${inApp(appid).en}` }),
  merge: () => ({ zh: '把你在不同小程序的账号识别为同一个人并合并', en: 'recognised your accounts in different mini programs as one person and merged them' }),
  benefit_claimed: (details, appid) => ({ zh: `${inApp(appid).zh}领取了权益 ${text(details.benefit)}`, en: `claimed the benefit ${text(details.benefit)}${inApp(appid).en}` }),
  phone_bound: () => ({ zh: '绑定了手机号', en: 'bound a phone number' }),
  suspended: (details) => ({ zh: `停用了你的账号（原因：${text(details.reason)}）`, en: `suspended your account (reason: ${text(details.reason)})` }),
  suspension_lifted: () => ({ zh: '恢复了你的账号', en: 'lifted the suspension of your account' }),
  sessions_revoked: (details) => ({ zh: `强制下线了你的 ${text(details.ended)} 个登录`, en: `ended ${text(details.ended)} of your sessions` }),
  deleted: () => ({ zh: '注销了账号', en: 'deleted the account' }),
  phone_revealed: () => ({ zh: '查看了你的完整手机号', en: 'viewed your full phone number' }),
  consent_given: (details, appid) => ({
    zh: `${inApp(appid).zh}同意了${documentOf(details).zh}（版本 ${text(details.version)}）`,
    en: `agreed to ${documentOf(details).en} (version ${text(details.version)})${inApp(appid).en}`,
  }),
  consent_withdrawn: (details, appid) => ({ zh: `${inApp(appid).zh}撤回了对${documentOf(details).zh}的同意`, en: `withdrew consent to ${documentOf(details).en}${inApp(appid).en}` }),
  data_exported: (details) =>
    details.purpose === undefined
      ? { zh: '导出了个人信息副本', en: 'exported a copy of your personal data' }
      : { zh: `导出了你的个人信息副本（用途：${text(details.purpose)}）`, en: `exported a copy of your personal data (purpose: ${text(details.purpose)})` },
  person_viewed: () => ({ zh: '查看了你的信息', en: 'looked up your information' }),
  // About a benefit, not a person: never in a person's trail, named here for completeness.
  benefit_stock_changed: (details) => ({ zh: `调整了权益 ${text(details.benefit)} 的限量`, en: `changed the stock of the benefit ${text(details.benefit)}` }),
};

/** The event as one sentence, in each language. */
export function describe({ kind, actor, appid, details }: AuditEvent): Sentence {
  const who = ACTORS[actor.split(':')[0]!] ?? ACTORS.system!;
  const what = ACTIONS[kind](details, appid);
  return { zh: `${who.zh}${what.zh}`, en: `${who.en} ${what.en}` };
}
