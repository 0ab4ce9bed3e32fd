// The session: the stored token, the login that gets one (one at a time, however many ask), and
// the logout that ends it.
'use strict';
var errors = require('./errors.js');
var platform = require('./platform.js');
var transport = require('./transport.js');

function createSession(settings, api, send, clock) {
  var store = sessionStore(api, settings.storageKey, clock);
  var pending = null; // the login in flight: { generation, result, shared }
  // Bumped by logout: what started before it (a login, a request's 401 retry) must not log back in.
  var generation = 0;

  function token() {
    var saved = store.saved();
    if (!saved) return null;
    // Past its absolute expiry the server would answer 401: skip that round trip.
    if (Date.parse(saved.expiresAt) <= clock.now()) {
      store.clear();
      return null;
    }
    return saved.token;
  }

  /** Forgets `stale` if it is still the token in use (a concurrent login may have replaced it). */
  function drop(stale) {
    var saved = store.saved();
    if (saved && saved.token === stale) store.clear();
  }

  /** Logs in now. Concurrent callers share one wx.login + /api/login. */
  function login() {
    if (!pending) pending = startLogin();
    return pending.shared;
  }

  function startLogin() {
    var started = { generation: generation, result: loginOnce(0) };
    started.shared = started.result.then(function (result) {
      if (started.generation !== generation) throw loggedOut();
      store.keep({ token: result.token, expiresAt: result.expiresAt, clockOffset: clock.offset() });
      return result;
    });
    var settled = function () {
      if (pending === started) pending = null;
    };
    started.shared.then(settled, settled);
    return started;
  }

  // Each try asks wx.login for a new code: a code WeChat saw once is spent, even if we never saw
  // its answer.
  function loginOnce(attempt) {
    return loginCode()
      .then(postCode)
      .catch(function (error) {
        return transport.afterRetryAfter(error, settings.retry, attempt).then(function () {
          return loginOnce(attempt + 1);
        });
      });
  }

  function loginCode() {
    var timeout = settings.loginTimeout;
    var answer = platform.invoke(api, 'login', { timeout: timeout });
    return platform.withTimeout(answer, timeout, { errMsg: 'login:fail timeout' }).then(
      function (result) {
        if (result.code) return result.code;
        throw errors.platformError('wx_login_failed', result);
      },
      function (failure) {
        throw errors.platformError('wx_login_failed', failure);
      }
    );
  }

  function postCode(code) {
    var body = { code: code };
    var appid = settings.appid || platform.accountAppid(api);
    if (appid) body.appid = appid;
    return send({ url: '/api/login', method: 'POST', data: body }, null, transport.NO_RETRY).then(function (response) {
      var result = response.data;
      if (!result || typeof result.token !== 'string') {
        throw errors.clientError('invalid_response', '/api/login answered without a token', {
          status: response.statusCode,
          data: response.data,
        });
      }
      return result;
    });
  }

  /** A token other than `stale`: one a concurrent caller already got, or a new login's. */
  function replace(stale, since) {
    if (since !== generation) return Promise.reject(loggedOut());
    var current = token();
    if (current && current !== stale) return Promise.resolve(current);
    drop(stale);
    return login().then(function (result) {
      return result.token;
    });
  }

  /**
   * Ends the session on the server, then here; `all` ends every session of the person. On
   * failure the token is kept, so that logging out again can end it.
   */
  function logout(all) {
    var stored = token();
    var ending = [cancelLogin(all)];
    if (stored) {
      ending.push(endSession(stored, all).then(function () {
        drop(stored);
      }));
    }
    return Promise.all(ending).then(function () {});
  }

  /**
   * The login in flight stores nothing, and its session is ended once its token arrives (best
   * effort: never stored, nothing could retry it; unended, it expires).
   */
  function cancelLogin(all) {
    var inFlight = pending;
    generation += 1;
    pending = null;
    if (!inFlight) return Promise.resolve();
    return inFlight.result.then(function (result) {
      return endSession(result.token, all);
    }).catch(function () {});
  }

  function endSession(token, all) {
    var data = all ? { all: true } : undefined;
    return send({ url: '/api/logout', method: 'POST', data: data }, token, transport.NO_RETRY).catch(function (error) {
      if (error.status !== 401) throw error; // 401: already dead on the server.
    });
  }

  return {
    token: token,
    drop: drop,
    login: login,
    replace: replace,
    logout: logout,
    generation: function () {
      return generation;
    },
  };
}

function loggedOut() {
  return errors.clientError('logged_out', 'logout() ran while this call was waiting');
}

/**
 * The session in memory, and in storage when storage works: a full or failing storage costs the
 * session only when the app closes, never a login per request.
 */
function sessionStore(api, key, clock) {
  var memory; // undefined until storage was read, once
  return {
    saved: function () {
      if (memory === undefined) {
        memory = platform.readStorage(api, key);
        if (memory) clock.learn(memory.clockOffset);
      }
      return memory;
    },
    keep: function (session) {
      memory = session;
      platform.writeStorage(api, key, session);
    },
    clear: function () {
      memory = null;
      platform.writeStorage(api, key, null);
    },
  };
}

module.exports = { createSession: createSession };
