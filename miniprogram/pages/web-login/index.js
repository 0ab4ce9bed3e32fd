// The page a scan-to-login code opens (WEB_LOGIN_PAGE): shows who is asking to sign in on the web
// (site, the browser's address, device, time) and signs it in only after an explicit tap. A code
// forwarded in a chat or picked from the album (launch scene 1048, 1049) is refused by the server.
const auth = require('../../wxlogin/index.js');

Page({
  data: {
    loading: true,
    error: '',
    request: null, // webLogin.scanned's answer, ready to show
    done: '', // 'confirmed' or 'denied'
  },

  onLoad(query) {
    // getwxacodeunlimit hands the scene over URL-encoded.
    this.scene = decodeURIComponent((query && query.scene) || '');
    return auth.webLogin.scanned(this.scene, wx.getEnterOptionsSync().scene).then(
      (request) => this.setData({ loading: false, request: showRequest(request) }),
      (error) => this.setData({ loading: false, error: error.message })
    );
  },

  confirm() {
    return this.decide('confirm');
  },

  deny() {
    return this.decide('deny');
  },

  decide(action) {
    return auth.webLogin[action](this.scene).then(
      () => this.setData({ done: action === 'confirm' ? 'confirmed' : 'denied' }),
      (error) => this.setData({ error: error.message })
    );
  },
});

function showRequest(request) {
  return {
    site: request.site || '未知网站',
    address: request.address || '未知',
    device: request.device || '未知设备',
    time: request.createdAt.slice(0, 16).replace('T', ' '),
  };
}
