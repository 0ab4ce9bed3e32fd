import { checkHealth } from '../lib/health.js';
import { endpoint, json } from '../lib/http.js';

export default endpoint('/api/health', {
  async GET() {
    return json(200, await checkHealth());
  },
});
