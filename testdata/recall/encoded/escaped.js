const config = JSON.parse('{"token":"http:\\/\\/localhost:50342\\/oauth2\\/token"}');
const endpoint = "http:\/\/localhost:50342\/oauth2\/token?resource=" + resource;
const imds = "http:\/\/169.254.169.254\/metadata\/identity\/oauth2\/token?api-version=2018-02-01";
const arc = "http:\/\/localhost:40342\/metadata\/identity\/oauth2\/token";
module.exports = { config, endpoint, imds, arc };
