import { lookUp, type Lookup } from '../../../lib/people/operators.js';
import { invalid } from '../../../lib/platform/errors.js';
import { bearerToken, endpoint, json } from '../../../lib/http/endpoint.js';
import { appid, openid, optional, personId, phoneNumber, readInput, unionid } from '../../../lib/http/input.js';
import { requireOperator } from '../../../lib/http/keys.js';

export default endpoint('/api/admin/people/search', {
  /**
   * Finds a person by id, appid + openid, unionid or phone, and shows their whole story. The handle
   * travels in the body, never in a URL (proxies and access logs keep URLs).
   */
  async POST(request, context) {
    const { actor } = requireOperator('viewer', bearerToken(request), context);
    const by = await readInput(request, {
      id: optional(personId),
      appid: optional(appid),
      openid: optional(openid),
      unionid: optional(unionid),
      phone: optional(phoneNumber),
    });
    return json(200, { person: await lookUp(lookupOf(by), actor) });
  },
});

/** Exactly one way to name the person. */
function lookupOf(by: { id?: string | undefined; appid?: string | undefined; openid?: string | undefined; unionid?: string | undefined; phone?: string | undefined }): Lookup {
  const named = [by.id, by.openid ?? by.appid, by.unionid, by.phone].filter((value) => value !== undefined);
  if (named.length !== 1 || (by.appid === undefined) !== (by.openid === undefined)) {
    throw invalid('Name the person by exactly one of: id, appid and openid, unionid, phone');
  }
  if (by.id) return { id: by.id };
  if (by.appid && by.openid) return { appid: by.appid, openid: by.openid };
  if (by.unionid) return { unionid: by.unionid };
  return { phone: by.phone! };
}
