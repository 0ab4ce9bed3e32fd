// The backend's own endpoints as calls, on top of request(options, once).
'use strict';
var errors = require('./errors.js');

// What getphonenumber's errMsg says when the person declined ("getPhoneNumber:fail user deny").
var DECLINED = /deny|cancel/i;

/** `generation()` changes on logout: claim keys belong to the person who was logged in. */
function createEndpoints(request, generation) {
  // benefit → the Idempotency-Key of its claim, until an answer settles it.
  var claimKeys = {};
  var claimKeysGeneration = generation();

  /** GET /api/me: the person (phone masked, or null) and their accounts across mini programs. */
  function me() {
    return request({ url: '/api/me' }).then(function (response) {
      return response.data.user;
    });
  }

  /**
   * The getphonenumber button's event → POST /api/phone, sent exactly once: the code is single-use
   * and each lookup is billed. A failure carries tapAgain when only a new tap (a new code) can help.
   */
  function bindPhone(event) {
    var detail = (event && event.detail) || {};
    if (!detail.code) {
      if (DECLINED.test(detail.errMsg)) return { status: 'denied', errMsg: detail.errMsg };
      throw errors.platformError('wx_phone_failed', { errMsg: detail.errMsg || 'getPhoneNumber: no code' });
    }
    return request({ url: '/api/phone', method: 'POST', data: { code: detail.code } }, true).then(
      function (response) {
        return Object.assign({ status: 'bound' }, response.data);
      },
      function (error) {
        error.tapAgain = worthAnotherTap(error);
        throw error;
      }
    );
  }

  /** GET /api/benefits: every benefit with its state for this person (available, claimed, ineligible). */
  function benefits() {
    return request({ url: '/api/benefits' }).then(function (response) {
      return response.data.benefits;
    });
  }

  /**
   * POST /api/claims with an Idempotency-Key. A claim whose answer was lost (network error, 5xx)
   * keeps its key, so claiming again, by a retry or a new tap, cannot claim twice.
   */
  function claim(key) {
    if (typeof key !== 'string' || !key) throw errors.clientError('invalid_argument', 'claim() needs a benefit key');
    if (claimKeysGeneration !== generation()) {
      claimKeys = {};
      claimKeysGeneration = generation();
    }
    var idempotencyKey = claimKeys[key] || (claimKeys[key] = newKey());
    var options = { url: '/api/claims', method: 'POST', data: { benefit: key }, header: { 'Idempotency-Key': idempotencyKey } };
    return request(options).then(
      function (response) {
        delete claimKeys[key];
        return response.data;
      },
      function (error) {
        if (error.status >= 400 && error.status < 500) delete claimKeys[key];
        throw error;
      }
    );
  }

  /**
   * POST /api/me/consents: the person agreed, in this mini program, to this version of the document
   * ('privacy', 'terms' or one the backend is configured with). Call it after they agreed in your
   * own consent UI. The same version again finds the same record, so a retry is harmless.
   */
  function recordConsent(document, version) {
    if (!isText(document) || !isText(version)) {
      throw errors.clientError('invalid_argument', 'recordConsent() needs a document and a version, e.g. (\'privacy\', \'2026-06-01\')');
    }
    var options = { url: '/api/me/consents', method: 'POST', data: { document: document, version: version }, idempotent: true };
    return request(options).then(function (response) {
      return response.data.consent;
    });
  }

  /** DELETE /api/me/consents/{document}: withdraws the agreement in this mini program (kept on record). */
  function withdrawConsent(document) {
    if (!isText(document)) throw errors.clientError('invalid_argument', 'withdrawConsent() needs a document, e.g. \'privacy\'');
    return request({ url: '/api/me/consents/' + encodeURIComponent(document), method: 'DELETE', idempotent: true }).then(function () {});
  }

  /** GET /api/me/consents: every agreement of the person, in every mini program, withdrawals included. */
  function consents() {
    return request({ url: '/api/me/consents' }).then(function (response) {
      return response.data.consents;
    });
  }

  return {
    me: me,
    bindPhone: bindPhone,
    benefits: benefits,
    claim: claim,
    recordConsent: recordConsent,
    withdrawConsent: withdrawConsent,
    consents: consents,
  };
}

function isText(value) {
  return typeof value === 'string' && value !== '';
}

/** A random (version 4) UUID: unique enough to tell one claim from another. */
function newKey() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, function (c) {
    var digit = Math.floor(Math.random() * 16);
    return (c === 'x' ? digit : 8 + (digit % 4)).toString(16);
  });
}

/** Failures a new code may get past: no answer, a lost session, a busy service, a stale code. */
function worthAnotherTap(error) {
  var status = error.status;
  return status === 0 || status === 401 || status === 408 || status === 429 || status >= 500 ||
    error.code === 'invalid_phone_code' || error.code === 'phone_app_mismatch';
}

module.exports = { createEndpoints: createEndpoints };
