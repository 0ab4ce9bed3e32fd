// Every call into the platform API (wx) goes through here.
'use strict';

/** Calls a callback-style API (`success`/`fail`) as a Promise of its result. */
function invoke(api, name, options) {
  return new Promise(function (resolve, reject) {
    api[name](Object.assign({}, options, { success: resolve, fail: reject }));
  });
}

function accountAppid(api) {
  try {
    return api.getAccountInfoSync().miniProgram.appId;
  } catch (error) {
    return ''; // Old base libraries: the server falls back to the Referer WeChat sets.
  }
}

module.exports = { invoke: invoke, accountAppid: accountAppid };
