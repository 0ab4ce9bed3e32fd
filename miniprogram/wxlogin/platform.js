// Every call into the platform API goes through here: wx, or uni-app's uni, or Taro, whose
// request/login/storage calls match wx's (uni and wx call back; Taro also answers with a Promise).
'use strict';

/**
 * Calls a platform API as a Promise of its result, whether it calls back or answers with a
 * Promise. `onTask` receives what the call returns (a RequestTask), if anything.
 */
function invoke(api, name, options, onTask) {
  return new Promise(function (resolve, reject) {
    var task = api[name](Object.assign({}, options, { success: resolve, fail: reject }));
    if (task && typeof task.then === 'function') task.then(resolve, reject);
    if (task && onTask) onTask(task);
  });
}

/** `promise`, or `failure` after `ms`: a platform call that never calls back must not hang the kit. */
function withTimeout(promise, ms, failure) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () {
      reject(failure);
    }, ms);
    promise.then(
      function (value) {
        clearTimeout(timer);
        resolve(value);
      },
      function (error) {
        clearTimeout(timer);
        reject(error);
      }
    );
  });
}

function accountAppid(api) {
  try {
    return api.getAccountInfoSync().miniProgram.appId;
  } catch (error) {
    return ''; // Old base libraries: the server falls back to the Referer WeChat sets.
  }
}

/** The saved session, or null when there is none or storage cannot be read. */
function readStorage(api, key) {
  try {
    var saved = api.getStorageSync(key);
    return saved && typeof saved.token === 'string' ? saved : null;
  } catch (error) {
    return null;
  }
}

/** Saves `value` (null removes it); a storage that fails or is full only loses persistence. */
function writeStorage(api, key, value) {
  try {
    if (value === null) api.removeStorageSync(key);
    else api.setStorageSync(key, value);
  } catch (error) {
    // Nothing to do: the caller keeps the session in memory.
  }
}

module.exports = {
  invoke: invoke,
  withTimeout: withTimeout,
  accountAppid: accountAppid,
  readStorage: readStorage,
  writeStorage: writeStorage,
};
