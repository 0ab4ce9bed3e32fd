// The backend's own endpoints as calls, on top of request(options, once).
'use strict';
var errors = require('./errors.js');

// What getphonenumber's errMsg says when the person declined ("getPhoneNumber:fail user deny").
var DECLINED = /deny|cancel/i;

function createEndpoints(request) {
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

  return { me: me, bindPhone: bindPhone };
}

/** Failures a new code may get past: no answer, a lost session, a busy service, a stale code. */
function worthAnotherTap(error) {
  var status = error.status;
  return status === 0 || status === 401 || status === 408 || status === 429 || status >= 500 ||
    error.code === 'invalid_phone_code' || error.code === 'phone_app_mismatch';
}

module.exports = { createEndpoints: createEndpoints };
