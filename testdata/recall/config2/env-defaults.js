const msiPort = process.env.MSI_PORT || 50342;
const appPort = process.env.PORT || 50342;
module.exports = { msiPort, appPort };
