// The backend's own endpoints as calls, on top of request(options, once).
'use strict';
var errors = require('./errors.js');
var invoke = require('./platform.js').invoke;

// What getphonenumber's errMsg says when the person declined ("getPhoneNumber:fail user deny").
var DECLINED = /deny|cancel/i;
// getphonenumber's errno with a fix of its own: the 隐私保护指引 does not declare the phone number
// (112), the person has not agreed to it (104), no phone-verification quota is left (1400001).
var PHONE_ERRNO_CODES = { 112: 'wx_phone_privacy_undeclared', 104: 'wx_phone_privacy_denied', 1400001: 'wx_phone_no_quota' };
// The server's limit for an avatar image.
var AVATAR_MAX_BYTES = 256 * 1024;

/**
 * `generation()` changes on logout: claim keys belong to the person who was logged in. `api` is the
 * platform (wx, uni, Taro), for reading the avatar's file.
 */
function createEndpoints(request, generation, api) {
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
      var errnoCode = PHONE_ERRNO_CODES[detail.errno];
      if (errnoCode) throw errors.platformError(errnoCode, { errMsg: detail.errMsg || 'getPhoneNumber: errno ' + detail.errno });
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

  /**
   * PUT /api/me/profile: the nickname from <input type="nickname"> (null clears it). WeChat's content
   * security checks it first: content_rejected when it does not pass.
   */
  function setNickname(name) {
    if (name !== null && (typeof name !== 'string' || !name.trim())) {
      throw errors.clientError('invalid_argument', 'setNickname() needs the nickname, or null to clear it');
    }
    return request({ url: '/api/me/profile', method: 'PUT', data: { nickname: name } }).then(function (response) {
      return response.data.profile;
    });
  }

  /**
   * The avatarUrl the chooseAvatar button's event gave (a temporary file) → PUT /api/me/avatar as
   * bytes, compressed first when over the server's 256 KB. Sending the same bytes twice is harmless.
   */
  function setAvatar(tempFilePath) {
    if (typeof tempFilePath !== 'string' || !tempFilePath) {
      throw errors.clientError('invalid_argument', 'setAvatar() needs the avatarUrl from the chooseAvatar event');
    }
    return avatarBytes(api, tempFilePath)
      .then(function (bytes) {
        var options = { url: '/api/me/avatar', method: 'PUT', data: bytes, header: { 'Content-Type': 'application/octet-stream' }, idempotent: true };
        return request(options);
      })
      .then(function (response) {
        return response.data.profile;
      });
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

  return {
    me: me,
    bindPhone: bindPhone,
    benefits: benefits,
    claim: claim,
    recordConsent: recordConsent,
    withdrawConsent: withdrawConsent,
    consents: consents,
    setNickname: setNickname,
    setAvatar: setAvatar,
    webLogin: webLogin,
  };
}

/** The image's bytes; a large one is compressed once (wx.compressImage), and refused if still too large. */
function avatarBytes(api, path) {
  return readFile(api, path).then(function (bytes) {
    if (bytes.byteLength <= AVATAR_MAX_BYTES) return bytes;
    return invoke(api, 'compressImage', { src: path, quality: 60 })
      .catch(function (failure) {
        throw errors.platformError('wx_file_failed', failure);
      })
      .then(function (result) {
        return readFile(api, result.tempFilePath);
      })
      .then(function (smaller) {
        if (smaller.byteLength > AVATAR_MAX_BYTES) throw errors.clientError('avatar_too_large', 'over 256 KB even compressed');
        return smaller;
      });
  });
}

function readFile(api, path) {
  return invoke(api.getFileSystemManager(), 'readFile', { filePath: path }).then(
    function (result) {
      return result.data;
    },
    function (failure) {
      throw errors.platformError('wx_file_failed', failure);
    }
  );
}

function ticketUrl(scene, action) {
  if (typeof scene !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(scene)) {
    throw errors.clientError('invalid_argument', 'webLogin needs the scene of the code, decodeURIComponent(query.scene)');
  }
  return '/api/web/tickets/' + scene + '/' + action;
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
