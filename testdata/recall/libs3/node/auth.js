const msRestNodeAuth = require("ms-rest-nodeauth");
exports.login = () => msRestNodeAuth.loginWithVmMSI({ resource: "https://management.azure.com/" });
