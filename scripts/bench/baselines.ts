// What the service could cost at the very least, and what the seed design costs: the calls no
// login can avoid (code2Session, one Postgres write, one session write; /me: one read), made with
// the same client libraries and nothing else of ours (no validation, rate limits, sealing, access
// log or Response). Client options are the libraries' defaults.
import { createHash, randomBytes } from 'node:crypto';
import { Pool } from '@neondatabase/serverless';
import { Redis } from '@upstash/redis';
import { Agent, request } from 'undici';

export interface BaselineSetup {
  wechatUrl: string;
  appid: string;
  secret: string;
  /** The Neon driver must already point at the bridge (useWebSocketProxy). */
  databaseUrl: string;
  redis: { url: string; token: string };
  ttlSeconds: number;
}

/** The seed design's table: one row per openid, looked up and then inserted if missing. */
export const SEED_SCHEMA = `create table seed_users (
  id serial primary key, openid text unique not null, unionid text, session_key text not null,
  created_at timestamptz not null default now())`;

type Wechat = { openid: string; session_key: string; unionid?: string };

export function startBaselines(setup: BaselineSetup) {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000 });
  const pool = new Pool({ connectionString: setup.databaseUrl });
  pool.on('error', () => {}); // a dropped idle connection (the database going away at the end) is no crash
  // One HTTP request per command, no telemetry headers.
  const redis = new Redis({ ...setup.redis, automaticDeserialization: false, enableAutoPipelining: false, enableTelemetry: false });

  const code2Session = async (person: string): Promise<Wechat> => {
    const query = new URLSearchParams({
      appid: setup.appid,
      secret: setup.secret,
      js_code: `mock:${person}`,
      grant_type: 'authorization_code',
    });
    const { body } = await request(`${setup.wechatUrl}/sns/jscode2session?${query}`, { dispatcher });
    return JSON.parse(await body.text()) as Wechat;
  };

  return {
    /** code2Session, the same record_login call as lib/users.ts, one SET of the session. */
    async bareLogin(person: string): Promise<void> {
      const wechat = await code2Session(person);
      const { rows } = await pool.query<{ user_id: string }>('select * from record_login($1, $2, $3)', [
        setup.appid,
        wechat.openid,
        wechat.unionid ?? null,
      ]);
      const session = JSON.stringify({ uid: rows[0]!.user_id, oid: wechat.openid, sk: wechat.session_key });
      await redis.set(`bench:bare:${randomBytes(32).toString('hex')}`, session, { ex: setup.ttlSeconds });
    },

    /** One GET of the key /me reads. */
    async bareMe(key: string): Promise<void> {
      await redis.get(key);
    },

    /** The tutorial's flow: look the user up, insert if missing, an MD5 token, one cache write. */
    async seedLogin(person: string): Promise<void> {
      const wechat = await code2Session(person);
      const found = await pool.query<{ id: number }>('select id from seed_users where openid = $1', [wechat.openid]);
      const user =
        found.rows[0] ??
        (
          await pool.query<{ id: number }>(
            'insert into seed_users (openid, unionid, session_key) values ($1, $2, $3) returning id',
            [wechat.openid, wechat.unionid ?? null, wechat.session_key],
          )
        ).rows[0]!;
      const token = createHash('md5').update(`${wechat.openid}${wechat.session_key}${Date.now()}`).digest('hex');
      await redis.set(`bench:seed:${token}`, JSON.stringify({ uid: user.id, openid: wechat.openid, session_key: wechat.session_key }), {
        ex: setup.ttlSeconds,
      });
    },

    async close(): Promise<void> {
      await pool.end();
      await dispatcher.close();
    },
  };
}

export type Baselines = ReturnType<typeof startBaselines>;
