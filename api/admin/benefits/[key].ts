import { saveBenefit } from '../../../lib/benefits/claims.js';
import { bearerToken, endpoint, json } from '../../../lib/http/endpoint.js';
import { boolean, integer, nullable, object, oneOf, optional, readInput, text, timestamp } from '../../../lib/http/input.js';
import { requireOperator } from '../../../lib/http/keys.js';

const title = text(/^[\s\S]{1,100}$/, 'a title of 1 to 100 characters');
/** A stock past what any campaign gives, well inside Postgres's integer. */
const STOCK_MAX = 100_000_000;
const benefitKey = text(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a key of lowercase letters, digits, _ or - (up to 64)');

export default endpoint('/api/admin/benefits/[key]', {
  /** Creates or replaces a benefit; what the body leaves out is off (no window, no policy rule). */
  async PUT(request, context, params) {
    const { actor } = requireOperator('admin', bearerToken(request), context);
    const key = benefitKey(params.key, 'key');
    const input = await readInput(request, {
      title: object({ zh: title, en: title }),
      active: optional(boolean),
      startsAt: optional(nullable(timestamp)),
      endsAt: optional(nullable(timestamp)),
      policy: optional(
        object({
          newWithinDays: optional(nullable(integer(1, 3650))),
          phoneRequired: optional(boolean),
          onePerPhone: optional(boolean),
          maxRiskRank: optional(nullable(integer(0, 4))),
          riskFailure: optional(oneOf('refuse', 'allow')),
          stock: optional(nullable(integer(0, STOCK_MAX))),
          dailyStock: optional(nullable(integer(0, STOCK_MAX))),
        }),
      ),
    });
    const { policy } = input;
    const benefit = await saveBenefit(key, {
      title: input.title,
      active: input.active ?? true,
      startsAt: input.startsAt?.toISOString() ?? null,
      endsAt: input.endsAt?.toISOString() ?? null,
      policy: {
        newWithinDays: policy?.newWithinDays ?? null,
        phoneRequired: policy?.phoneRequired ?? false,
        onePerPhone: policy?.onePerPhone ?? false,
        maxRiskRank: policy?.maxRiskRank ?? null,
        riskFailure: policy?.riskFailure ?? 'refuse',
        stock: policy?.stock ?? null,
        dailyStock: policy?.dailyStock ?? null,
      },
    }, actor);
    return json(200, { benefit });
  },
});
