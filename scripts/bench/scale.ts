// The scale model: what 100, 1,000 and 10,000 logins a second ask of Upstash, Postgres and the
// functions, from the costs this run measured per request. Every assumption is a named constant.
import type { UpstashBytes } from './round-trips.js';

/** Authenticated requests (/api/me and the like: one session read each) per login. */
export const AUTHENTICATED_PER_LOGIN = 10;
/** Upstash's commands per second per database below Enterprise (its pricing page); each of our requests is one command. */
export const UPSTASH_COMMANDS_PER_SECOND = 10_000;
/** The default per-IP login limit (RATE_LIMIT_LOGIN_PER_IP=1200/1m), in logins per second from one address. */
export const LOGINS_PER_IP_PER_SECOND = 1200 / 60;
const RATES = [100, 1_000, 10_000];
const SECONDS_PER_MONTH = 30 * 24 * 3600;

export interface ScaleInputs {
  /** Per login and per authenticated request, scripts cached. */
  login: UpstashBytes;
  me: UpstashBytes;
  postgresTripsPerLogin: number;
  /** Server CPU per record_login (a first login, the dearer case); null where it cannot be measured. */
  postgresCpuMs: number | null;
  /** The modelled round trip from a function to Postgres. */
  postgresRttMs: number;
  /** Our functions' CPU per request. */
  functionCpuMs: { login: number; me: number };
}

export interface ScaleRow {
  loginsPerSecond: number;
  authenticatedPerSecond: number;
  upstashRequestsPerSecond: number;
  upstashMegabytesPerSecond: number;
  upstashGigabytesPerMonth: number;
  postgresCpuMsPerSecond: number | null;
  /** Busy at once (Little's law): Postgres backends running record_login, and pooled client connections waiting on it. */
  postgresBackends: number | null;
  postgresClientConnections: number;
  functionCpuSecondsPerSecond: number;
}

export function scaleModel(inputs: ScaleInputs): ScaleRow[] {
  const { login, me, postgresCpuMs } = inputs;
  const bytesPerLogin = login.sent + login.received + AUTHENTICATED_PER_LOGIN * (me.sent + me.received);
  const trips = inputs.postgresTripsPerLogin;
  return RATES.map((rate) => ({
    loginsPerSecond: rate,
    authenticatedPerSecond: rate * AUTHENTICATED_PER_LOGIN,
    upstashRequestsPerSecond: rate * (login.requests + AUTHENTICATED_PER_LOGIN * me.requests),
    upstashMegabytesPerSecond: (rate * bytesPerLogin) / 1e6,
    upstashGigabytesPerMonth: (rate * bytesPerLogin * SECONDS_PER_MONTH) / 1e9,
    postgresCpuMsPerSecond: postgresCpuMs === null ? null : rate * trips * postgresCpuMs,
    postgresBackends: postgresCpuMs === null ? null : (rate * trips * postgresCpuMs) / 1000,
    postgresClientConnections: (rate * trips * (inputs.postgresRttMs + (postgresCpuMs ?? 0))) / 1000,
    functionCpuSecondsPerSecond: (rate * (inputs.functionCpuMs.login + AUTHENTICATED_PER_LOGIN * inputs.functionCpuMs.me)) / 1000,
  }));
}

/** Login rate at which the Upstash plan's command limit is reached. */
export function upstashLimitLogins(inputs: ScaleInputs): number {
  return UPSTASH_COMMANDS_PER_SECOND / (inputs.login.requests + AUTHENTICATED_PER_LOGIN * inputs.me.requests);
}
