const auth = require('../../wxlogin/index.js');

Page({
  data: {
    loading: true,
    error: '',
    user: null, // GET /api/me's user; user.phone is masked, or null while no number is bound
    accounts: [], // the same person in the company's other mini programs
    benefits: [], // GET /api/benefits, ready to show
    benefitsError: '',
    busy: '', // the action running: 'avatar', 'nickname', 'phone', 'claim', 'logout'
    notice: '', // what the last action did
  },

  onLoad() {
    return this.refresh();
  },

  refresh() {
    this.setData({ loading: true, error: '' });
    return Promise.all([this.loadUser(), this.loadBenefits()]).then(() => this.setData({ loading: false }));
  },

  loadUser() {
    return auth.me().then(
      (user) => this.setData({ user, accounts: user.accounts.map(showAccount) }),
      (error) => this.setData({ user: null, accounts: [], error: error.message })
    );
  },

  loadBenefits() {
    return auth.benefits().then(
      (benefits) => this.setData({ benefits: benefits.map(showBenefit), benefitsError: '' }),
      (error) => this.setData({ benefits: [], benefitsError: error.message })
    );
  },

  // <button open-type="chooseAvatar">: WeChat hands over a temporary file, which the kit uploads.
  chooseAvatar(event) {
    this.setData({ busy: 'avatar', notice: '' });
    return auth.setAvatar(event.detail.avatarUrl).then(
      () => {
        this.setData({ busy: '', notice: '头像已更新' });
        return this.loadUser(); // the new avatarUrl
      },
      (error) => this.setData({ busy: '', notice: error.message })
    );
  },

  // The form around <input type="nickname">: WeChat checks the text on blur and may clear it, so
  // the submitted value is the one to keep.
  saveNickname(event) {
    const nickname = (event.detail.value.nickname || '').trim();
    if (!nickname) return this.setData({ notice: '请先填写昵称' });
    this.setData({ busy: 'nickname', notice: '' });
    return auth.setNickname(nickname).then(
      () => {
        this.setData({ busy: '', notice: '昵称已保存' });
        return this.loadUser();
      },
      (error) => this.setData({ busy: '', notice: error.message })
    );
  },

  // The getPhoneNumber button, shown only while user.phone is null: every lookup is billed.
  bindPhone(event) {
    this.setData({ busy: 'phone', notice: '' });
    return auth.bindPhone(event).then(
      (result) => {
        if (result.status === 'denied') return this.setData({ busy: '', notice: '没有授权手机号，需要时可以再点' });
        this.setData({ busy: '', notice: '手机号已绑定' });
        return this.refresh(); // the masked number shows, and benefits that need a phone open up
      },
      // The code is spent either way; only a new tap can bring a new one.
      (error) => this.setData({ busy: '', notice: error.tapAgain ? error.message + '（请再点一次）' : error.message })
    );
  },

  // data-key on the benefit's button says which one.
  claim(event) {
    this.setData({ busy: 'claim', notice: '' });
    return auth.claim(event.currentTarget.dataset.key).then(
      () => {
        this.setData({ busy: '', notice: '领取成功' });
        return this.loadBenefits();
      },
      (error) => this.setData({ busy: '', notice: error.message })
    );
  },

  logout() {
    return this.endSession({ all: false }, '已退出登录');
  },

  // Ends the person's sessions on every device and in every mini program of the company.
  logoutEverywhere() {
    return this.endSession({ all: true }, '已在所有设备退出登录');
  },

  endSession(options, done) {
    this.setData({ busy: 'logout', notice: '' });
    return auth.logout(options).then(
      () => this.setData({ busy: '', user: null, accounts: [], benefits: [], notice: done }),
      // Not logged out: the kit keeps the token, so tapping again ends the session.
      (error) => this.setData({ busy: '', notice: error.message })
    );
  },
});

function showAccount(account) {
  return { appid: account.appid, openid: account.openid, linkedAt: formatTime(account.linkedAt) };
}

function showBenefit(benefit) {
  const claim = benefit.claim;
  return {
    key: benefit.key,
    title: benefit.title.zh,
    status: benefit.status,
    // Why not, for an ineligible one (new-user gifts are for new people only, ...).
    reason: benefit.status === 'ineligible' ? auth.messageFor('claim_refused', benefit.reason) : '',
    claimedIn: claim ? claim.appid : '',
    claimedAt: claim ? formatTime(claim.claimedAt) : '',
  };
}

// "2024-05-01 09:30", in the phone's time zone.
function formatTime(iso) {
  const at = new Date(iso);
  const two = (n) => ('0' + n).slice(-2);
  return at.getFullYear() + '-' + two(at.getMonth() + 1) + '-' + two(at.getDate()) + ' ' + two(at.getHours()) + ':' + two(at.getMinutes());
}
