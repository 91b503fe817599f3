const params = new URLSearchParams({ resource: "https://vault.azure.net" });

async function token() {
  const res = await fetch("http://localhost:50342/oauth2/token", {
    method: "POST",
    body: params,
  });
  return (await res.json()).access_token;
}

module.exports = { token };
