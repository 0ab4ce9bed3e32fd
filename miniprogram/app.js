const config = require('./config.js');
const auth = require('./wxlogin/index.js');

App({
  onLaunch() {
    // Once, before any page runs: every page's calls then share one login.
    auth.configure({ baseUrl: config.baseUrl, retry: { attempts: 1, maxWaitSeconds: 5 } });
    // Log in right away, so the first page finds a session. A failure here needs no handling:
    // the page's own call logs in again and shows what went wrong.
    auth.login().catch(() => {});
  },
});
