import { findPerson, personView, type PersonQuery } from '../../../lib/people/operators.js';
import { invalid } from '../../../lib/platform/errors.js';
import { bearerToken, endpoint, json } from '../../../lib/http/endpoint.js';
import { appid, literal, openid, optional, personId, phoneNumber, readQuery, unionid } from '../../../lib/http/input.js';
import { requireKey } from '../../../lib/http/keys.js';

export default endpoint('/api/admin/people', {
  /** Finds a person by id, appid + openid, unionid or phone, and shows their whole story. */
  async GET(request, context) {
    const actor = requireKey('admin', bearerToken(request), context);
    const { reveal, ...by } = readQuery(request, {
      id: optional(personId),
      appid: optional(appid),
      openid: optional(openid),
      unionid: optional(unionid),
      phone: optional(phoneNumber),
      reveal: optional(literal('phone')),
    });
    const found = await findPerson(lookupOf(by));
    return json(200, { person: await personView(found, { revealPhone: reveal === 'phone', actor }) });
  },
});

/** Exactly one way to name the person. */
function lookupOf(by: { id?: string | undefined; appid?: string | undefined; openid?: string | undefined; unionid?: string | undefined; phone?: string | undefined }): PersonQuery {
  const named = [by.id, by.openid ?? by.appid, by.unionid, by.phone].filter((value) => value !== undefined);
  if (named.length !== 1 || (by.appid === undefined) !== (by.openid === undefined)) {
    throw invalid('Name the person by exactly one of: id, appid and openid, unionid, phone');
  }
  if (by.id) return { id: by.id };
  if (by.appid && by.openid) return { appid: by.appid, openid: by.openid };
  if (by.unionid) return { unionid: by.unionid };
  return { phone: by.phone! };
}
