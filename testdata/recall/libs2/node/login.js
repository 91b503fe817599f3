const msRestAzure = require('ms-rest-azure');
module.exports = () => msRestAzure.loginWithVmMSI({ port: 50342 });
