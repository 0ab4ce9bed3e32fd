// The one place this mini program learns where the wxlogin backend runs.
// Local: `npm run dev` in the repository (DevTools: "不校验合法域名" is on in project.config.json).
// Deployed: your Vercel URL, which must also be listed as a request domain (request合法域名).
module.exports = {
  baseUrl: 'http://127.0.0.1:3000',
  // The version of the 隐私保护指引 this release shows (what you named it when you last updated it in
  // 小程序管理后台 → 设置 → 服务内容声明). Change it with the text: people's agreement is then recorded again.
  privacyVersion: '2026-06-01',
};
