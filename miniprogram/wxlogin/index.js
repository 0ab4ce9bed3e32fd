// wxlogin mini program kit: wx.login → POST /api/login → Bearer token, kept in storage.
// Plain CommonJS in ES2015 with Promises, so it runs as-is in any mini program (no npm build, no
// enhanced compile). One login at a time however many requests need it; a 401 re-logs in once,
// never loops.
'use strict';
var errors = require('./errors.js');
var messages = require('./messages.js');
var createEndpoints = require('./endpoints.js').createEndpoints;
var createSession = require('./session.js').createSession;
var transport = require('./transport.js');

var WxLoginError = errors.WxLoginError;

var DEFAULTS = {
  baseUrl: '',
  // 微信云托管: { env, service, resourceAppid? }; paths then go through wx.cloud.callContainer.
  cloud: null,
  // The platform API: wx when omitted; uni (uni-app) or Taro (import Taro from '@tarojs/taro').
  platform: null,
  appid: '',
  storageKey: 'wxlogin:session',
  // The language of error.message: 'zh' or 'en'.
  language: 'zh',
  // Origins besides baseUrl's that may receive the token, e.g. ['https://files.example.com'].
  trustedOrigins: [],
  timeout: 0, // 0: the platform's own, app.json's networkTimeout.request (60 s by default)
  loginTimeout: 10000,
  // Waiting out a 429/503 is opt-in: attempts is how many extra tries, maxWaitSeconds the
  // longest Retry-After worth waiting for (longer ones are surfaced at once).
  retry: { attempts: 0, maxWaitSeconds: 5 },
};

// The calls that answer with a Promise; getToken() is the one synchronous call.
var ASYNC_CALLS = ['login', 'request', 'logout', 'me', 'bindPhone', 'benefits', 'claim', 'recordConsent', 'withdrawConsent', 'consents'];

/** A client for one backend. A bad configuration gives a client whose every call rejects with it. */
function createClient(options) {
  try {
    return clientFor(readSettings(options));
  } catch (error) {
    return failingClient(errors.localized(errors.toWxLoginError(error), options && options.language));
  }
}

function clientFor(settings) {
  var clock = transport.serverClock();
  var send = transport.createTransport(settings, settings.platform, clock).send;
  var session = createSession(settings, settings.platform, send, clock);

  /**
   * wx.request with the token attached when the URL is the backend's. Resolves { statusCode, data,
   * header } for 2xx; rejects with a WxLoginError otherwise. `auth: false` sends no token (and
   * never logs in). At most one login per call. `once`: never sent twice, not even after a 401
   * (then the dead token is only dropped).
   */
  function request(options, once) {
    if (!options || typeof options.url !== 'string') {
      throw errors.clientError('invalid_argument', 'request() needs { url }');
    }
    var retry = repeatable(options) ? Object.assign({}, settings.retry, options.retry) : transport.NO_RETRY;
    if (options.auth === false || !transport.trusts(settings, options.url)) return send(options, null, retry);
    var since = session.generation();
    var stored = session.token();
    if (!stored) {
      return session.login().then(function (result) {
        return send(options, result.token, retry);
      });
    }
    return send(options, stored, retry).catch(function (error) {
      if (error.status !== 401) throw error;
      if (once) {
        session.drop(stored);
        throw error;
      }
      // The token died (revoked, expired, store lost): one fresh login, one more try, unless the
      // app logged out meanwhile. A second 401 is surfaced as it is.
      return session.replace(stored, since).then(function (fresh) {
        return send(options, fresh, retry);
      });
    });
  }

  var calls = {
    login: session.login,
    request: function (options) {
      return request(options, false);
    },
    /** `{ all: true }` ends every session of the person, on every device and mini program. */
    logout: function (options) {
      return session.logout(Boolean(options && options.all));
    },
    getToken: session.token,
  };
  return guarded(settings.language, Object.assign(calls, createEndpoints(request, session.generation)));
}

/**
 * Public calls never throw: every failure, whatever its origin, rejects with a WxLoginError whose
 * message is in the client's language.
 */
function guarded(language, calls) {
  ASYNC_CALLS.forEach(function (name) {
    var call = calls[name];
    calls[name] = function () {
      var args = arguments;
      return new Promise(function (resolve) {
        resolve(call.apply(null, args));
      }).catch(function (error) {
        throw errors.localized(errors.toWxLoginError(error), language);
      });
    };
  });
  return calls;
}

function failingClient(error) {
  var calls = {
    getToken: function () {
      return null;
    },
  };
  ASYNC_CALLS.forEach(function (name) {
    calls[name] = function () {
      return Promise.reject(error);
    };
  });
  return calls;
}

/**
 * Whether sending the request again is harmless: GET and HEAD, an Idempotency-Key, or the caller
 * says so. Anything else (a one-time phone code above all) is sent once.
 */
function repeatable(options) {
  if (typeof options.idempotent === 'boolean') return options.idempotent;
  var method = String(options.method || 'GET').toUpperCase();
  return method === 'GET' || method === 'HEAD' || errors.headerValue(options.header, 'idempotency-key') !== null;
}

function readSettings(options) {
  var settings = Object.assign({}, DEFAULTS, options);
  settings.retry = Object.assign({}, DEFAULTS.retry, options && options.retry);
  if (!/^https?:\/\//.test(settings.baseUrl) && !(settings.cloud && settings.baseUrl === '')) {
    throw errors.clientError('invalid_config', 'baseUrl must be an http(s) URL, e.g. https://your-app.vercel.app');
  }
  settings.baseUrl = settings.baseUrl.replace(/\/+$/, '');
  settings.platform = settings.platform || (typeof wx === 'undefined' ? null : wx);
  if (!settings.platform || typeof settings.platform.request !== 'function') {
    throw errors.clientError('invalid_config', 'no platform API: wx in WeChat; elsewhere pass { platform: uni } or { platform: Taro }');
  }
  if (settings.cloud) readCloud(settings.cloud, settings.platform);
  settings.trustedOrigins = [].concat(settings.trustedOrigins).map(function (origin) {
    var parts = transport.originAndPath(String(origin));
    if (!parts || parts.path.replace(/\/+$/, '')) {
      throw errors.clientError('invalid_config', 'trustedOrigins holds origins only, e.g. https://files.example.com');
    }
    return parts.origin;
  });
  return settings;
}

/** `cloud` needs an environment and a service name, and a platform with wx.cloud (base library 2.23.0+). */
function readCloud(cloud, platform) {
  var named = function (value) {
    return typeof value === 'string' && value !== '';
  };
  if (!named(cloud.env) || !named(cloud.service) || (cloud.resourceAppid !== undefined && !named(cloud.resourceAppid))) {
    throw errors.clientError('invalid_config', 'cloud needs { env, service }: the 云托管 environment id and service name');
  }
  if (!platform.cloud || typeof platform.cloud.Cloud !== 'function') {
    throw errors.clientError('invalid_config', 'cloud needs wx.cloud.callContainer: WeChat base library 2.23.0 or later');
  }
}

// The module-level API: configure() once in app.js, then the same calls anywhere.
var defaultClient = failingClient(errors.clientError('invalid_config', 'call configure({ baseUrl }) in app.js first'));

module.exports = {
  WxLoginError: WxLoginError,
  messages: { zh: messages.zh, en: messages.en },
  messageFor: messages.messageFor,
  createClient: createClient,
  configure: function (options) {
    defaultClient = createClient(options);
    return defaultClient;
  },
};
ASYNC_CALLS.concat('getToken').forEach(function (name) {
  module.exports[name] = function () {
    return defaultClient[name].apply(defaultClient, arguments);
  };
});
