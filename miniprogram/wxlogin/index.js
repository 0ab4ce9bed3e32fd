// wxlogin mini program kit: wx.login → POST /api/login → Bearer token, kept in storage.
// Plain CommonJS in ES2015 with Promises, so it runs as-is in any mini program (no npm build, no
// enhanced compile). One login at a time however many requests need it; a 401 re-logs in once,
// never loops.
'use strict';

var DEFAULTS = {
  baseUrl: '',
  appid: '',
  storageKey: 'wxlogin:session',
  timeout: 15000,
  // Waiting out a 429/503 is opt-in: attempts is how many extra tries, maxWaitSeconds the
  // longest Retry-After worth waiting for (longer ones are surfaced at once).
  retry: { attempts: 0, maxWaitSeconds: 5 },
};
var NO_RETRY = { attempts: 0, maxWaitSeconds: 0 };

/** What every failure rejects with: the server's problem+json `code`, or a client-side one. */
// A plain constructor, not `class extends Error`: "ES6 to ES5" compilation breaks instanceof there.
function WxLoginError(code, message, fields) {
  this.name = 'WxLoginError';
  this.message = message;
  this.stack = new Error(message).stack;
  this.code = code;
  this.status = 0;
  this.retryAfter = null;
  this.requestId = null;
  this.detail = null;
  this.data = null;
  this.errMsg = null;
  Object.assign(this, fields);
}
WxLoginError.prototype = Object.create(Error.prototype);
WxLoginError.prototype.constructor = WxLoginError;

function createClient(options) {
  var settings = Object.assign({}, DEFAULTS, options);
  settings.retry = Object.assign({}, DEFAULTS.retry, options && options.retry);
  if (!/^https?:\/\//.test(settings.baseUrl)) {
    throw new WxLoginError('invalid_config', 'wxlogin: baseUrl must be an http(s) URL, e.g. https://your-app.vercel.app');
  }
  var baseUrl = settings.baseUrl.replace(/\/+$/, '');
  var pendingLogin = null;

  function readSession() {
    var saved = wx.getStorageSync(settings.storageKey);
    if (!saved || typeof saved.token !== 'string') return null;
    // Past its absolute expiry the server would answer 401: skip that round trip.
    if (Date.parse(saved.expiresAt) <= Date.now()) {
      wx.removeStorageSync(settings.storageKey);
      return null;
    }
    return saved;
  }

  function getToken() {
    var session = readSession();
    return session ? session.token : null;
  }

  /** Logs in now. Concurrent callers share one wx.login + /api/login. */
  function login() {
    if (!pendingLogin) {
      pendingLogin = loginOnce().then(
        function (result) {
          pendingLogin = null;
          return result;
        },
        function (error) {
          pendingLogin = null;
          throw error;
        }
      );
    }
    return pendingLogin;
  }

  // Each try asks wx.login for a new code: a code WeChat saw once is spent, even if we never saw
  // its answer.
  function loginOnce(attempt) {
    attempt = attempt || 0;
    return wxLoginCode()
      .then(function (code) {
        var body = { code: code };
        var appid = settings.appid || accountAppid();
        if (appid) body.appid = appid;
        return send({ url: '/api/login', method: 'POST', data: body }, null, NO_RETRY);
      })
      .then(
        function (response) {
          var result = response.data;
          if (!result || typeof result.token !== 'string') {
            throw new WxLoginError('invalid_response', 'wxlogin: /api/login answered without a token', {
              status: response.statusCode,
              data: response.data,
            });
          }
          wx.setStorageSync(settings.storageKey, { token: result.token, expiresAt: result.expiresAt });
          return result;
        },
        function (error) {
          return afterRetryAfter(error, settings.retry, attempt).then(function () {
            return loginOnce(attempt + 1);
          });
        }
      );
  }

  /**
   * wx.request with the token attached. Resolves { statusCode, data, header } for 2xx; rejects
   * with a WxLoginError otherwise. `auth: false` sends no token (and never logs in).
   * At most one login per call.
   */
  function request(options) {
    var retry = Object.assign({}, settings.retry, options.retry);
    if (options.auth === false) return send(options, null, retry);
    var stored = getToken();
    if (!stored) {
      return login().then(function (result) {
        return send(options, result.token, retry);
      });
    }
    return send(options, stored, retry).catch(function (error) {
      if (error.status !== 401) throw error;
      // The token died (revoked, expired, store lost): one fresh login, one more try. A second
      // 401 is surfaced as it is.
      return replaceToken(stored).then(function (fresh) {
        return send(options, fresh, retry);
      });
    });
  }

  /** A token other than `stale`: one a concurrent caller already got, or a new login's. */
  function replaceToken(stale) {
    var current = getToken();
    if (current && current !== stale) return Promise.resolve(current);
    if (current) wx.removeStorageSync(settings.storageKey);
    return login().then(function (result) {
      return result.token;
    });
  }

  /** Ends the session here and on the server; `{ all: true }` ends every session of the user. */
  function logout(options) {
    var token = getToken();
    wx.removeStorageSync(settings.storageKey);
    if (!token) return Promise.resolve();
    var data = options && options.all ? { all: true } : undefined;
    return send({ url: '/api/logout', method: 'POST', data: data }, token, NO_RETRY).then(
      function () {},
      function (error) {
        if (error.status !== 401) throw error; // 401: already dead on the server.
      }
    );
  }

  /** One wx.request, then again after Retry-After on 429/503 while `retry` allows. */
  function send(options, token, retry, attempt) {
    attempt = attempt || 0;
    return wxRequest(options, token).then(function (response) {
      if (response.statusCode >= 200 && response.statusCode < 300) return response;
      return afterRetryAfter(httpError(response), retry, attempt).then(function () {
        return send(options, token, retry, attempt + 1);
      });
    });
  }

  function wxRequest(options, token) {
    var header = Object.assign({}, options.header);
    if (token) header.Authorization = 'Bearer ' + token;
    var url = /^https?:\/\//.test(options.url) ? options.url : baseUrl + options.url;
    return new Promise(function (resolve, reject) {
      wx.request({
        url: url,
        method: options.method || 'GET',
        data: options.data,
        header: header,
        timeout: options.timeout || settings.timeout,
        success: resolve,
        fail: function (result) {
          reject(new WxLoginError('network_error', 'wxlogin: ' + result.errMsg, { errMsg: result.errMsg }));
        },
      });
    });
  }

  return { login: login, request: request, logout: logout, getToken: getToken };
}

function wxLoginCode() {
  return new Promise(function (resolve, reject) {
    wx.login({
      success: function (result) {
        if (result.code) resolve(result.code);
        else reject(new WxLoginError('wx_login_failed', 'wxlogin: ' + result.errMsg, { errMsg: result.errMsg }));
      },
      fail: function (result) {
        reject(new WxLoginError('wx_login_failed', 'wxlogin: ' + result.errMsg, { errMsg: result.errMsg }));
      },
    });
  });
}

function accountAppid() {
  try {
    return wx.getAccountInfoSync().miniProgram.appId;
  } catch (error) {
    return ''; // Old base libraries: the server falls back to the Referer WeChat sets.
  }
}

/** A non-2xx answer as an error carrying the problem+json fields (any body shape tolerated). */
function httpError(response) {
  var body = response.data && typeof response.data === 'object' ? response.data : {};
  var code = typeof body.code === 'string' ? body.code : 'http_' + response.statusCode;
  return new WxLoginError(code, 'wxlogin: ' + (body.detail || body.title || 'HTTP ' + response.statusCode), {
    status: response.statusCode,
    retryAfter: retryAfterSeconds(headerValue(response.header, 'retry-after')),
    requestId: typeof body.requestId === 'string' ? body.requestId : headerValue(response.header, 'x-request-id'),
    detail: typeof body.detail === 'string' ? body.detail : null,
    data: response.data,
  });
}

// Header names keep whatever case the platform gives (it differs between iOS, Android and PC).
function headerValue(header, name) {
  var keys = Object.keys(header || {});
  for (var i = 0; i < keys.length; i++) {
    if (keys[i].toLowerCase() === name) return String(header[keys[i]]);
  }
  return null;
}

/** Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110). */
function retryAfterSeconds(value) {
  if (value === null) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  var at = Date.parse(value);
  return isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Resolves once the server's Retry-After has passed, if `retry` allows another try; else rejects. */
function afterRetryAfter(error, retry, attempt) {
  var retryable = error.status === 429 || error.status === 503;
  if (!retryable || attempt >= retry.attempts || error.retryAfter === null || error.retryAfter > retry.maxWaitSeconds) {
    return Promise.reject(error);
  }
  return new Promise(function (resolve) {
    setTimeout(resolve, error.retryAfter * 1000);
  });
}

// The module-level API: configure() once in app.js, then login/request/logout/getToken anywhere.
var defaultClient = null;

function client() {
  if (!defaultClient) throw new WxLoginError('invalid_config', 'wxlogin: call configure({ baseUrl }) in app.js first');
  return defaultClient;
}

module.exports = {
  WxLoginError: WxLoginError,
  createClient: createClient,
  configure: function (options) {
    defaultClient = createClient(options);
    return defaultClient;
  },
  login: function () {
    return client().login();
  },
  request: function (options) {
    return client().request(options);
  },
  logout: function (options) {
    return client().logout(options);
  },
  getToken: function () {
    return client().getToken();
  },
};
