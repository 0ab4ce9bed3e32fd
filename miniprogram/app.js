const config = require('./config.js');
const auth = require('./wxlogin/index.js');

// Storage key: the version of the 隐私保护指引 whose agreement the backend has on record.
const PRIVACY_RECORDED = 'privacy-recorded';

App({
  onLaunch() {
    // Once, before any page runs: every page's calls then share one login.
    auth.configure({ baseUrl: config.baseUrl, retry: { attempts: 1, maxWaitSeconds: 5 } });
    // Log in right away, so the first page finds a session. A failure here needs no handling:
    // the page's own call logs in again and shows what went wrong.
    auth.login().catch(() => {});
    this.privacyRecorded = this.recordPrivacyOnce();
  },

  // Records, once per version of the 隐私保护指引, that the person agreed to it: after WeChat says
  // they did. wx.requirePrivacyAuthorize answers at once when they agreed before; otherwise WeChat's
  // own popup asks (or yours, if you register wx.onNeedPrivacyAuthorization; see the kit's README).
  recordPrivacyOnce() {
    const version = config.privacyVersion;
    // Base libraries before 2.32.3 have no privacy authorization to wait for.
    if (typeof wx.requirePrivacyAuthorize !== 'function' || wx.getStorageSync(PRIVACY_RECORDED) === version) return Promise.resolve();
    return new Promise((resolve) => wx.requirePrivacyAuthorize({ success: () => resolve(true), fail: () => resolve(false) }))
      .then((agreed) => agreed && auth.recordConsent('privacy', version))
      .then((recorded) => recorded && wx.setStorageSync(PRIVACY_RECORDED, version))
      // Not recorded (declined, or no network): the next launch tries again.
      .catch(() => {});
  },
});
