// The scan-to-login page: a ticket and its mini program code, then polling until the person confirms
// on their phone. The secret stays in this script's memory; the one-time code it receives is handed
// to the site (a `wxlogin:code` event on document) for the site's backend to exchange
// (POST /api/web/exchange). No token ever reaches this page.
'use strict';

var POLL_MS = 1500;
var statusLine = document.getElementById('status');
var qr = document.getElementById('qr');
var again = document.getElementById('again');
var MESSAGES = {
  pending: '请用微信扫描二维码',
  scanned: '已扫码，请在手机上确认登录',
  denied: '已在手机上拒绝登录',
  expired: '二维码已过期',
  confirmed: '登录成功',
  failed: '暂时无法登录，请稍后再试',
};

function show(state) {
  statusLine.textContent = MESSAGES[state];
  statusLine.dataset.state = state;
  again.hidden = !(state === 'denied' || state === 'expired' || state === 'failed');
  if (state !== 'pending' && state !== 'scanned') qr.hidden = true;
}

function post(path, body) {
  return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body || {}) });
}

function start() {
  show('pending');
  statusLine.textContent = '正在生成二维码…';
  post('/api/web/tickets')
    .then(function (response) {
      if (response.status !== 201) throw new Error('ticket');
      return response.json();
    })
    .then(function (ticket) {
      qr.src = ticket.qrCode;
      qr.hidden = false;
      show('pending');
      poll(ticket, Date.parse(ticket.expiresAt));
    })
    .catch(function () {
      show('failed');
    });
}

function poll(ticket, expiresAt) {
  if (Date.now() >= expiresAt) return show('expired');
  post('/api/web/tickets/' + ticket.ticket + '/collect', { secret: ticket.secret })
    .then(function (response) {
      if (response.status === 404) return { state: 'expired' };
      if (response.status !== 200) throw new Error('collect');
      return response.json();
    })
    .then(function (result) {
      show(result.state);
      if (result.state === 'confirmed') {
        document.dispatchEvent(new CustomEvent('wxlogin:code', { detail: { code: result.code, expiresAt: result.codeExpiresAt } }));
      } else if (result.state === 'pending' || result.state === 'scanned') {
        setTimeout(function () {
          poll(ticket, expiresAt);
        }, POLL_MS);
      }
    })
    .catch(function () {
      show('failed');
    });
}

again.addEventListener('click', start);
start();
