// The one place this mini program learns where the wxlogin backend runs.
// Local: `npm run dev` in the repository (DevTools: "不校验合法域名" is on in project.config.json).
// Deployed: your Vercel URL, which must also be listed as a request domain (request合法域名).
module.exports = {
  baseUrl: 'http://127.0.0.1:3000',
};
