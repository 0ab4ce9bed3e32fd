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
    var url = /^https?:\/\//.test(options.url) ? options.url : settings.baseUrl + options.url;
    var request = { url: url, method: options.method || 'GET', data: options.data, header: header, timeout: options.timeout || settings.timeout };
    return invoke(api, 'request', request).catch(function (failure) {
      throw errors.platformError('network_error', failure);
    });
  }

  return { send: send };
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

module.exports = { createTransport: createTransport, afterRetryAfter: afterRetryAfter, NO_RETRY: NO_RETRY };
