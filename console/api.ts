// The admin API, as the console calls it: the key as a bearer token, problem+json errors as Problem.
import type { PersonView } from '../lib/people/operators.js';
import type { EventPage } from '../lib/people/events.js';

export type { PersonView };

/** An error answer (RFC 9457), or status 0 when the server could not be reached. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
  ) {
    super(`${title} (${code})`);
  }
}

export class AdminApi {
  constructor(private readonly key: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: { Authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? null : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new Problem(0, 'network_error', 'The server could not be reached');
    }
    if (response.status === 204) return undefined as T;
    const payload = (await response.json().catch(() => null)) as Record<string, unknown> | null;
    if (!response.ok) {
      const text = (name: string) => (typeof payload?.[name] === 'string' ? (payload[name] as string) : undefined);
      throw new Problem(response.status, text('code') ?? `http_${response.status}`, text('title') ?? response.statusText, text('detail'));
    }
    return payload as T;
  }

  /** Whether the key opens the admin API: any admin GET answers 401 when it does not. */
  async check(): Promise<void> {
    await this.call('GET', '/api/admin/events?limit=1');
  }

  /** The person `query` names ({id}, {appid, openid}, {unionid} or {phone}). */
  async find(query: Record<string, string>, revealPhone = false): Promise<PersonView> {
    const search = new URLSearchParams({ ...query, ...(revealPhone ? { reveal: 'phone' } : {}) });
    return (await this.call<{ person: PersonView }>('GET', `/api/admin/people?${search}`)).person;
  }

  /** The whole audit trail of the person (and those merged into them), oldest first. */
  async events(personId: string): Promise<EventPage['events']> {
    const events: EventPage['events'] = [];
    let after: string | null = '';
    while (after !== null) {
      const page: EventPage = await this.call('GET', `/api/admin/events?${new URLSearchParams({ person: personId, limit: '500', ...(after ? { after } : {}) })}`);
      events.push(...page.events);
      after = page.next;
    }
    return events;
  }

  async suspend(personId: string, reason: string, until: string | undefined): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('POST', `/api/admin/people/${personId}/suspend`, { reason, ...(until ? { until } : {}) })).person;
  }

  async lift(personId: string): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('DELETE', `/api/admin/people/${personId}/suspension`)).person;
  }

  async endSessions(personId: string): Promise<number> {
    return (await this.call<{ ended: number }>('POST', `/api/admin/people/${personId}/logout`)).ended;
  }

  async remove(personId: string): Promise<void> {
    await this.call('DELETE', `/api/admin/people/${personId}`);
  }
}
