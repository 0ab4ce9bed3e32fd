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
   * Scan-to-login on a PC site. `scene` is decodeURIComponent(query.scene) of the page the code
   * opened; `launchScene` is wx.getEnterOptionsSync().scene (1048/1049, a forwarded code, is
   * refused by the server). scanned() answers who is asking; confirm() or deny() after a tap.
   */
  var webLogin = {
    scanned: function (scene, launchScene) {
      return request({ url: ticketUrl(scene, 'scan'), method: 'POST', data: { launchScene: launchScene } }).then(function (response) {
        return response.data;
      });
    },
    confirm: function (scene) {
      return request({ url: ticketUrl(scene, 'confirm'), method: 'POST' }).then(function () {});
    },
    deny: function (scene) {
      return request({ url: ticketUrl(scene, 'deny'), method: 'POST' }).then(function () {});
    },
  };

  return { me: me, bindPhone: bindPhone, benefits: benefits, claim: claim, webLogin: webLogin };
}

function ticketUrl(scene, action) {
  if (typeof scene !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(scene)) {
    throw errors.clientError('invalid_argument', 'webLogin needs the scene of the code, decodeURIComponent(query.scene)');
  }
  return '/api/web/tickets/' + scene + '/' + action;
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
