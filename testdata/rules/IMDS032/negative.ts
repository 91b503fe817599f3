// Azure Arc: the hybrid agent serves tokens on its own port and path.
const arc = (port: number) => `http://localhost:${port}/metadata/identity/oauth2/token?api-version=2020-06-01`;
const imds = `http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01`;
// const old = `http://localhost:${msiPort}/oauth2/token`;
export { arc, imds };
