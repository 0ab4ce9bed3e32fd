// What a page can show a person for each error code: error.message is the sentence in the
// client's language (Chinese unless configured otherwise), short enough for wx.showToast.
// "claim_refused:<reason>" entries name why a claim was refused.
'use strict';

var zh = {
  // The server's problem+json codes.
  invalid_request: '请求有误，请更新小程序后重试',
  unknown_app: '小程序配置有误，请联系客服',
  unknown_benefit: '没有这项福利',
  invalid_code: '登录凭证已失效，请重试',
  code_used: '登录凭证已失效，请重试',
  phone_app_mismatch: '手机号验证失败，请重新获取',
  invalid_phone_code: '手机号验证已过期，请重新获取',
  unauthorized: '登录已失效，请重新登录',
  user_blocked: '账号存在风险，暂时无法登录',
  user_suspended: '账号已被停用，请联系客服',
  forbidden: '没有权限进行此操作',
  not_found: '请求的内容不存在',
  person_not_found: '找不到这个用户',
  session_not_found: '这个登录已经不存在了',
  method_not_allowed: '请求有误，请更新小程序后重试',
  request_timeout: '请求超时，请重试',
  already_claimed: '您已经领取过了',
  gateway_identity_required: '请通过云托管调用登录',
  claim_refused: '暂时无法领取',
  'claim_refused:not_new': '仅限新用户领取',
  'claim_refused:phone_required': '请先绑定手机号再领取',
  'claim_refused:phone_already_claimed': '这个手机号已经领取过了',
  'claim_refused:risk': '账号存在风险，暂时无法领取',
  'claim_refused:not_started': '活动还没开始',
  'claim_refused:ended': '活动已结束',
  'claim_refused:inactive': '活动暂未开放',
  'claim_refused:sold_out': '已经领完了',
  'claim_refused:sold_out_today': '今天的已领完，明天再来',
  payload_too_large: '提交的内容太大了',
  unsupported_media_type: '请求有误，请更新小程序后重试',
  rate_limited: '操作太频繁，请稍后再试',
  wechat_rate_limited: '操作太频繁，请稍后再试',
  server_misconfigured: '服务暂时不可用，请稍后再试',
  internal_error: '服务出错了，请稍后再试',
  wechat_unavailable: '微信服务繁忙，请稍后再试',
  service_unavailable: '服务繁忙，请稍后再试',
  // The kit's own codes.
  network_error: '网络不给力，请检查网络后重试',
  aborted: '请求已取消',
  wx_login_failed: '微信登录失败，请重试',
  logged_out: '已退出登录',
  invalid_response: '服务响应异常，请检查网络后重试',
  invalid_config: '小程序配置有误，请联系开发者',
  invalid_argument: '请求有误，请更新小程序后重试',
  wx_phone_failed: '无法获取手机号，请稍后再试',
  client_error: '出错了，请稍后再试',
  // Any other code (http_<status> from a proxy, a code newer than this table).
  unknown: '出错了，请稍后再试',
};

var en = {
  invalid_request: 'Something is wrong with this request; please update the app and try again',
  unknown_app: 'This mini program is misconfigured; please contact support',
  unknown_benefit: 'There is no such benefit',
  invalid_code: 'The login expired; please try again',
  code_used: 'The login expired; please try again',
  phone_app_mismatch: 'The phone number could not be verified; please try again',
  invalid_phone_code: 'The phone verification expired; please try again',
  unauthorized: 'Your login has expired; please log in again',
  user_blocked: 'This account is at risk and cannot log in for now',
  user_suspended: 'This account is suspended; please contact support',
  forbidden: 'Not allowed',
  not_found: 'Not found',
  person_not_found: 'No such person',
  session_not_found: 'That login no longer exists',
  method_not_allowed: 'Something is wrong with this request; please update the app and try again',
  request_timeout: 'The request timed out; please try again',
  already_claimed: 'You have already claimed this',
  gateway_identity_required: 'Log in through WeChat Cloud Run',
  claim_refused: 'This cannot be claimed for now',
  'claim_refused:not_new': 'Only for new users',
  'claim_refused:phone_required': 'Please add your phone number first',
  'claim_refused:phone_already_claimed': 'This phone number has already claimed it',
  'claim_refused:risk': 'This account is at risk and cannot claim for now',
  'claim_refused:not_started': 'Not started yet',
  'claim_refused:ended': 'This has ended',
  'claim_refused:inactive': 'Not available for now',
  'claim_refused:sold_out': 'All gone',
  'claim_refused:sold_out_today': 'All gone for today; come back tomorrow',
  payload_too_large: 'What you sent is too large',
  unsupported_media_type: 'Something is wrong with this request; please update the app and try again',
  rate_limited: 'Too many tries; please wait a moment',
  wechat_rate_limited: 'Too many tries; please wait a moment',
  server_misconfigured: 'The service is unavailable; please try again later',
  internal_error: 'Something went wrong on our side; please try again later',
  wechat_unavailable: 'WeChat is busy; please try again later',
  service_unavailable: 'The service is busy; please try again later',
  network_error: 'No connection; please check your network and try again',
  aborted: 'Cancelled',
  wx_login_failed: 'WeChat login failed; please try again',
  logged_out: 'Logged out',
  invalid_response: 'The service answered strangely; please check your network and try again',
  invalid_config: 'This mini program is misconfigured; please contact its developer',
  invalid_argument: 'Something is wrong with this request; please update the app and try again',
  wx_phone_failed: 'Could not get the phone number; please try again later',
  client_error: 'Something went wrong; please try again later',
  unknown: 'Something went wrong; please try again later',
};

var tables = { zh: zh, en: en };

/** The sentence for `code` (and a claim_refused `reason`) in `language` ('zh' or 'en'). */
function messageFor(code, reason, language) {
  var table = tables[language] || zh;
  return table[code + ':' + reason] || table[code] || table.unknown;
}

module.exports = { zh: zh, en: en, messageFor: messageFor };
