import { checkHealth } from '../lib/platform/health.js';
import { endpoint, json } from '../lib/http/endpoint.js';

export default endpoint('/api/health', {
  async GET() {
    return json(200, await checkHealth());
  },
});
