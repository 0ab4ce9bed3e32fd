// What the service could cost at the very least, and what the seed design costs. The bare minimum
// makes only the calls no login can avoid — code2Session, the record_login round trip, one session
// write; for /me one read of our session key — with the same clients as ours (lib/platform/upstash.ts's
// Upstash client, lib/platform/postgres.ts's pool, an undici Agent set up as lib/wechat/client.ts's) and nothing else
// of ours: no validation, rate limits, sealing, access log or Response. The cold start bundles this
// file on its own, as the bare equivalent of the login function.
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { query } from '../../lib/platform/postgres.js';
import { identityHashes } from '../../lib/people/deletion.js';
import { upstashClient } from '../../lib/platform/upstash.js';
import { bareMe, type SessionReadSetup } from './bare-me.js';

export interface BaselineSetup extends SessionReadSetup {
  wechatUrl: string;
  appid: string;
  secret: string;
  ttlSeconds: number;
}

/** The seed design's table: one row per openid, looked up and then inserted if missing. */
export const SEED_SCHEMA = `create table seed_users (
  id serial primary key, openid text unique not null, unionid text, session_key text not null,
  created_at timestamptz not null default now())`;

type Wechat = { openid: string; session_key: string; unionid?: string };

export function startBaselines(setup: BaselineSetup) {
  const dispatcher = new Agent({ connect: { timeout: 1000 }, headersTimeout: 2000, bodyTimeout: 2000, keepAliveTimeout: 30_000 });
  const redis = upstashClient(setup.redis.url, setup.redis.token);

  const code2Session = async (person: string): Promise<Wechat> => {
    const params = new URLSearchParams({
      appid: setup.appid,
      secret: setup.secret,
      js_code: `mock:${person}`,
      grant_type: 'authorization_code',
    });
    const { body } = await request(`${setup.wechatUrl}/sns/jscode2session?${params}`, { dispatcher });
    return JSON.parse(await body.text()) as Wechat;
  };

  return {
    /** code2Session, the record_login round trip, one SET of the session with its expiry. */
    async bareLogin(person: string): Promise<void> {
      const wechat = await code2Session(person);
      const [row] = await query<{ person_id: string }>('select * from record_login($1, $2, $3, $4)', [
        setup.appid,
        wechat.openid,
        wechat.unionid ?? null,
        identityHashes({ unionid: wechat.unionid ?? null, accounts: [{ appid: setup.appid, openid: wechat.openid }] }),
      ]);
      const session = JSON.stringify({ person: row!.person_id, oid: wechat.openid, sk: wechat.session_key });
      await redis.set(`${setup.keyPrefix}bare:${randomBytes(32).toString('base64url')}`, session, { ex: setup.ttlSeconds });
    },

    bareMe: bareMe(setup),

    /** The tutorial's flow: look the user up, insert if missing, an MD5 token, one cache write. */
    async seedLogin(person: string): Promise<void> {
      const wechat = await code2Session(person);
      const [found] = await query<{ id: number }>('select id from seed_users where openid = $1', [wechat.openid]);
      const [user] = found
        ? [found]
        : await query<{ id: number }>('insert into seed_users (openid, unionid, session_key) values ($1, $2, $3) returning id', [
            wechat.openid,
            wechat.unionid ?? null,
            wechat.session_key,
          ]);
      const token = createHash('md5').update(`${wechat.openid}${wechat.session_key}${Date.now()}`).digest('hex');
      const session = JSON.stringify({ uid: user!.id, openid: wechat.openid, session_key: wechat.session_key });
      await redis.set(`${setup.keyPrefix}seed:${token}`, session, { ex: setup.ttlSeconds });
    },

    async close(): Promise<void> {
      await dispatcher.close();
    },
  };
}

export type Baselines = ReturnType<typeof startBaselines>;
