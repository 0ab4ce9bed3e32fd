// The requests the benchmark sends to our functions, as Vercel's runtime would hand them over:
// the client address in x-real-ip (set by the platform, trusted with TRUST_PROXY_HEADERS=1).

export function loginRequest(appid: string, person: string): Request {
  return new Request('http://localhost/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-real-ip': '127.0.0.1' },
    body: JSON.stringify({ code: `mock:${person}`, appid }),
  });
}

export function meRequest(token: string): Request {
  return new Request('http://localhost/api/me', { headers: { authorization: `Bearer ${token}` } });
}

export function logoutRequest(token: string): Request {
  return new Request('http://localhost/api/logout', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
}

/** The body of a response with the expected status; anything else is a failed request. */
export async function expectStatus(response: Response, status: number, what: string): Promise<string> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`${what} answered ${response.status}: ${text}`);
  return text;
}
