// The requests the benchmark sends to our functions, as Vercel's runtime hands them over: with the
// client address in x-real-ip, which the platform sets on every request (trusted with
// TRUST_PROXY_HEADERS=1).

const PLATFORM = { 'x-real-ip': '127.0.0.1' };

export function loginRequest(appid: string, person: string): Request {
  return new Request('http://localhost/api/login', {
    method: 'POST',
    headers: { ...PLATFORM, 'content-type': 'application/json' },
    body: JSON.stringify({ code: `mock:${person}`, appid }),
  });
}

export function meRequest(token: string): Request {
  return new Request('http://localhost/api/me', { headers: { ...PLATFORM, authorization: `Bearer ${token}` } });
}

export function logoutRequest(token: string): Request {
  return new Request('http://localhost/api/logout', { method: 'POST', headers: { ...PLATFORM, authorization: `Bearer ${token}` } });
}

export function claimRequest(token: string, benefit: string): Request {
  return new Request('http://localhost/api/claims', {
    method: 'POST',
    headers: { ...PLATFORM, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ benefit }),
  });
}

/** The body of a response with the expected status; anything else is a failed request. */
export async function expectStatus(response: Response, status: number, what: string): Promise<string> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`${what} answered ${response.status}: ${text}`);
  return text;
}
