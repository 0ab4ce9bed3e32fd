// One request to the backend: the URL, the token header, and waiting out a 429/503 when allowed.
'use strict';
var errors = require('./errors.js');
var invoke = require('./platform.js').invoke;

var NO_RETRY = { attempts: 0, maxWaitSeconds: 0 };

function createTransport(settings, api) {
  /** One request, then again after Retry-After on 429/503 while `retry` allows. */
  function send(options, token, retry, attempt) {
    attempt = attempt || 0;
    return platformRequest(options, token).then(function (response) {
      if (response.statusCode >= 200 && response.statusCode < 300) return response;
      return afterRetryAfter(errors.httpError(response), retry, attempt).then(function () {
        return send(options, token, retry, attempt + 1);
      });
    });
  }

  function platformRequest(options, token) {
    var header = Object.assign({}, options.header);
    if (token) header.Authorization = 'Bearer ' + token;
    var url = resolveUrl(settings.baseUrl, options.url);
    var request = { url: url, method: options.method || 'GET', data: options.data, header: header, timeout: options.timeout || settings.timeout };
    return invoke(api, 'request', request).catch(function (failure) {
      throw errors.platformError('network_error', failure);
    });
  }

  return { send: send };
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
  var target = originAndPath(resolveUrl(settings.baseUrl, url));
  if (!target || DOT_SEGMENT.test(target.path)) return false;
  if (settings.trustedOrigins.indexOf(target.origin) !== -1) return true;
  var base = originAndPath(settings.baseUrl);
  return target.origin === base.origin && (target.path === base.path || target.path.indexOf(base.path + '/') === 0);
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
  afterRetryAfter: afterRetryAfter,
  trusts: trusts,
  originAndPath: originAndPath,
  NO_RETRY: NO_RETRY,
};
