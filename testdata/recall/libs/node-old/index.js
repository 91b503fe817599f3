const msRestAzure = require("ms-rest-azure");

msRestAzure.loginWithVmMSI({ port: 50342 }, (err, credentials) => {
  if (err) throw err;
  console.log("signed in");
});
