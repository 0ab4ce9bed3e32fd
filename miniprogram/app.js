const config = require('./config.js');
const auth = require('./wxlogin/index.js');

App({
  onLaunch() {
    // Once, before any page runs: every page's auth.request() then shares one login.
    auth.configure({ baseUrl: config.baseUrl, retry: { attempts: 1, maxWaitSeconds: 5 } });
  },
});
