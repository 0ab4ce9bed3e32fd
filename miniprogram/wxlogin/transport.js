// One request to the backend: the URL, the token header, and waiting out a 429/503 when allowed.
// With `cloud` configured, paths go through wx.cloud.callContainer (微信云托管) instead of wx.request.
'use strict';
var errors = require('./errors.js');
var invoke = require('./platform.js').invoke;

var NO_RETRY = { attempts: 0, maxWaitSeconds: 0 };
// Request options the kit consumes; every other one (dataType, enableHttp2, ...) goes to the platform.
var KIT_OPTIONS = ['url', 'header', 'auth', 'retry', 'idempotent', 'onTask'];

function createTransport(settings, api, clock) {
  /** One request, then again after Retry-After on 429/503 while `retry` allows. */
  function send(options, token, retry, attempt) {
    attempt = attempt || 0;
    return platformRequest(options, token).then(function (response) {
      clock.observe(response.header);
      if (response.statusCode >= 200 && response.statusCode < 300) return response;
      return afterRetryAfter(errors.httpError(response, clock.now()), retry, attempt).then(function () {
        return send(options, token, retry, attempt + 1);
      });
    });
  }

  function platformRequest(options, token) {
    var request = {};
    Object.keys(options).forEach(function (name) {
      if (KIT_OPTIONS.indexOf(name) === -1) request[name] = options[name];
    });
    request.url = resolveUrl(settings.baseUrl, options.url);
    request.header = Object.assign({}, options.header);
    if (token) request.header.Authorization = 'Bearer ' + token;
    // Unset, the platform's own timeout applies: app.json's networkTimeout.request, else 60 s.
    if (request.timeout === undefined && settings.timeout) request.timeout = settings.timeout;
    var sent = settings.cloud && !ABSOLUTE.test(options.url) ? callContainer(request, options.url) : invoke(api, 'request', request, options.onTask);
    return sent.catch(function (failure) {
      var aborted = /abort/i.test(failure && failure.errMsg);
      throw errors.platformError(aborted ? 'aborted' : 'network_error', failure);
    });
  }

  var container = null; // the wx.cloud.Cloud instance of settings.cloud.env, once initialised
  /**
   * The path to the 云托管 service: its own Cloud instance (the app's wx.cloud.init stays as it
   * is), the service named in X-WX-SERVICE; answers and failures are shaped as wx.request's.
   */
  function callContainer(request, path) {
    if (!container) {
      var cloud = new api.cloud.Cloud(settings.cloud.resourceAppid
        ? { resourceAppid: settings.cloud.resourceAppid, resourceEnv: settings.cloud.env }
        : { resourceEnv: settings.cloud.env });
      container = Promise.resolve(cloud.init()).then(function () {
        return cloud;
      }, function (failure) {
        container = null;
        throw failure;
      });
    }
    return container.then(function (cloud) {
      request.path = path.charAt(0) === '/' ? path : '/' + path;
      request.config = { env: settings.cloud.env };
      request.header['X-WX-SERVICE'] = settings.cloud.service;
      return invoke(cloud, 'callContainer', request);
    });
  }

  return { send: send };
}

/**
 * The server's time, from the Date header of its answers: a device clock can be days off, and
 * token expiry and Retry-After dates are the server's.
 */
function serverClock() {
  var offset = null; // server time minus device time, in ms; null until learnt
  return {
    now: function () {
      return Date.now() + (offset || 0);
    },
    offset: function () {
      return offset || 0;
    },
    /** An offset saved with the session, until an answer of this launch tells. */
    learn: function (saved) {
      if (offset === null && typeof saved === 'number' && isFinite(saved)) offset = saved;
    },
    observe: function (header) {
      var date = Date.parse(errors.headerValue(header, 'date'));
      if (!isNaN(date)) offset = date - Date.now();
    },
  };
}

var ABSOLUTE = /^https?:\/\//i;
var ORIGIN_AND_PATH = /^(https?:\/\/[^\/?#]*)([^?#]*)/i;
// "." and ".." segments (also percent-encoded or after a backslash) that the platform resolves away.
var DOT_SEGMENT = /(^|[\/\\])(\.|%2e){1,2}([\/\\]|$)/i;

/** Absolute URLs as they are; paths are under baseUrl. */
function resolveUrl(baseUrl, url) {
  return ABSOLUTE.test(url) ? url : baseUrl + (url.charAt(0) === '/' ? '' : '/') + url;
}

/**
 * Whether `url` may carry the token: under baseUrl (same origin and path prefix), or on an origin
 * the app named in trustedOrigins. Anything else is another server, which must never get it.
 */
function trusts(settings, url) {
  // A path goes to the 云托管 service (the backend) when one is configured.
  if (settings.cloud && !ABSOLUTE.test(url)) return !DOT_SEGMENT.test(url);
  var target = originAndPath(resolveUrl(settings.baseUrl, url));
  if (!target || DOT_SEGMENT.test(target.path)) return false;
  if (settings.trustedOrigins.indexOf(target.origin) !== -1) return true;
  var base = originAndPath(settings.baseUrl);
  return base !== null && target.origin === base.origin && (target.path === base.path || target.path.indexOf(base.path + '/') === 0);
}

function originAndPath(url) {
  var parts = ORIGIN_AND_PATH.exec(url);
  return parts && { origin: parts[1].toLowerCase(), path: parts[2] };
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

module.exports = {
  createTransport: createTransport,
  serverClock: serverClock,
  afterRetryAfter: afterRetryAfter,
  trusts: trusts,
  originAndPath: originAndPath,
  NO_RETRY: NO_RETRY,
};
