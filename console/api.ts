// The admin API, as the console calls it: the key as a bearer token, problem+json errors as Problem.
import type { AdminBenefit, BenefitPolicy } from '../lib/benefits/claims.js';
import type { EventPage } from '../lib/people/events.js';
import type { Lookup, OperatorView, PersonView } from '../lib/people/operators.js';
import type { PersonalDataCopy } from '../lib/privacy/copy.js';

export type { AdminBenefit, Lookup, OperatorView, PersonalDataCopy, PersonView };

/** What PUT /api/admin/benefits/{key} takes: the stock rules may be left out (no limit). */
export type BenefitInput = Omit<AdminBenefit, 'key' | 'stock' | 'policy'> & {
  policy: Omit<BenefitPolicy, 'stock' | 'dailyStock'> & Partial<Pick<BenefitPolicy, 'stock' | 'dailyStock'>>;
};

export interface EventFilter {
  kind?: string;
  operator?: string;
  person?: string;
  from?: string;
  to?: string;
}

/** An error answer (RFC 9457), or status 0 when the server could not be reached. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly requestId: string | null,
  ) {
    super(code);
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
      throw new Problem(0, 'network_error', null);
    }
    if (response.status === 204) return undefined as T;
    const payload = (await response.json().catch(() => null)) as Record<string, unknown> | null;
    if (!response.ok) {
      const code = typeof payload?.code === 'string' ? payload.code : `http_${response.status}`;
      throw new Problem(response.status, code, response.headers.get('x-request-id'));
    }
    return payload as T;
  }

  /** Who the key belongs to and the mini programs this deployment serves; 401 for a key that opens nothing. */
  me(): Promise<OperatorView> {
    return this.call('GET', '/api/admin/me');
  }

  /** Phone numbers, unionids and openids travel in the body, never in a URL. */
  async search(lookup: Lookup): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('POST', '/api/admin/people/search', lookup)).person;
  }

  async person(id: string): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('GET', `/api/admin/people/${id}`)).person;
  }

  async reveal(id: string, purpose: string): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('POST', `/api/admin/people/${id}/reveal`, { purpose })).person;
  }

  async suspend(id: string, reason: string, until: string | undefined): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('POST', `/api/admin/people/${id}/suspend`, { reason, ...(until ? { until } : {}) })).person;
  }

  async lift(id: string): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('DELETE', `/api/admin/people/${id}/suspension`)).person;
  }

  endSessions(id: string): Promise<{ ended: number; person: PersonView }> {
    return this.call('POST', `/api/admin/people/${id}/logout`);
  }

  async endSession(id: string, handle: string): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('DELETE', `/api/admin/people/${id}/sessions/${encodeURIComponent(handle)}`)).person;
  }

  async takeDown(id: string, what: 'nickname' | 'avatar', reason: string): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('POST', `/api/admin/people/${id}/takedown`, { what, reason })).person;
  }

  /** The person's copy of their data, for a request received another way; audited with its purpose. */
  async exportCopy(id: string, purpose: string): Promise<PersonalDataCopy> {
    return (await this.call<{ export: PersonalDataCopy }>('POST', `/api/admin/people/${id}/export`, { purpose })).export;
  }

  async remove(id: string): Promise<void> {
    await this.call('DELETE', `/api/admin/people/${id}`);
  }

  /** A page of the audit trail, newest first; `before` is the previous page's `next`. */
  events(filter: EventFilter, before?: string): Promise<EventPage> {
    const query = new URLSearchParams({ order: 'desc', limit: '50' });
    for (const [name, value] of Object.entries({ ...filter, after: before })) if (value) query.set(name, value);
    return this.call('GET', `/api/admin/events?${query}`);
  }

  async benefits(): Promise<AdminBenefit[]> {
    return (await this.call<{ benefits: AdminBenefit[] }>('GET', '/api/admin/benefits')).benefits;
  }

  async saveBenefit(key: string, input: BenefitInput): Promise<AdminBenefit> {
    return (await this.call<{ benefit: AdminBenefit }>('PUT', `/api/admin/benefits/${encodeURIComponent(key)}`, input)).benefit;
  }
}
