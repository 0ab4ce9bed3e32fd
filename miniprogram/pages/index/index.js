const auth = require('../../wxlogin/index.js');

Page({
  data: {
    loading: true,
    user: null,
    error: '',
    claiming: false,
    gift: '',
  },

  onLoad() {
    this.loadUser();
  },

  // GET /api/me; the kit logs in first when there is no token yet.
  loadUser() {
    this.setData({ loading: true, error: '' });
    return auth.request({ url: '/api/me' }).then(
      (response) => this.setData({ loading: false, user: response.data.user }),
      (error) => this.setData({ loading: false, user: null, error: describe(error) })
    );
  },

  // POST /api/claims: 201 the first time, 409 already_claimed after that.
  claimGift() {
    this.setData({ claiming: true, gift: '' });
    return auth.request({ url: '/api/claims', method: 'POST', data: { benefit: 'welcome-gift' } }).then(
      () => this.setData({ claiming: false, gift: 'Claimed! 领取成功' }),
      (error) =>
        this.setData({
          claiming: false,
          gift: error.code === 'already_claimed' ? 'Already claimed. 已经领取过了' : describe(error),
        })
    );
  },

  logout() {
    return auth.logout().then(
      () => this.setData({ user: null, gift: '', error: '' }),
      (error) => this.setData({ user: null, error: describe(error) })
    );
  },
});

// The stable code is what to branch on; the request id lets the server's logs find the call.
function describe(error) {
  let text = error.code || error.message;
  if (error.retryAfter != null) text += ', retry in ' + error.retryAfter + ' s';
  if (error.errMsg) text += ' (' + error.errMsg + ')';
  if (error.requestId) text += ' [request ' + error.requestId + ']';
  return text;
}
