// WxLoginError, and how a platform failure or an HTTP error answer becomes one. The message is
// for people (see messages.js); `detail` and `errMsg` are for developers.
'use strict';
var messageFor = require('./messages.js').messageFor;

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

/** A failure the kit itself detected; `detail` says what happened, for developers. */
function clientError(code, detail, fields) {
  return new WxLoginError(code, messageFor(code), Object.assign({ detail: detail }, fields));
}

/** Anything thrown or rejected, as a WxLoginError: a platform API or a bug never surfaces as a bare Error. */
function toWxLoginError(error) {
  if (error instanceof WxLoginError) return error;
  return clientError('client_error', error && error.message ? String(error.message) : String(error), { cause: error });
}

/** A platform call's `fail` result ({ errMsg }) as a WxLoginError. */
function platformError(code, failure) {
  var errMsg = failure && failure.errMsg ? String(failure.errMsg) : String(failure);
  return clientError(code, null, { errMsg: errMsg });
}

/** The message in the client's language: errors are made in Chinese, the default. */
function localized(error, language) {
  error.message = messageFor(error.code, error.data && error.data.reason, language);
  return error;
}

/**
 * A non-2xx answer as an error carrying the problem+json fields (any body shape tolerated).
 * `serverNow` is the server's time, for a Retry-After given as a date.
 */
function httpError(response, serverNow) {
  var body = response.data && typeof response.data === 'object' ? response.data : {};
  var code = typeof body.code === 'string' ? body.code : 'http_' + response.statusCode;
  return new WxLoginError(code, messageFor(code, body.reason), {
    status: response.statusCode,
    retryAfter: retryAfterSeconds(headerValue(response.header, 'retry-after'), serverNow),
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
function retryAfterSeconds(value, serverNow) {
  if (value === null) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  var at = Date.parse(value);
  return isNaN(at) ? null : Math.max(0, Math.ceil((at - serverNow) / 1000));
}

module.exports = {
  WxLoginError: WxLoginError,
  clientError: clientError,
  toWxLoginError: toWxLoginError,
  platformError: platformError,
  localized: localized,
  httpError: httpError,
  headerValue: headerValue,
};
