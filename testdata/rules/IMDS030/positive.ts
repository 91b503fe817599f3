import axios from "axios";

// The VM's identity, served by the Managed Identity extension.
const TOKEN_URL = "http://localhost:50342/oauth2/token";

export async function getToken(resource: string): Promise<string> {
  const res = await axios.get(TOKEN_URL, {
    params: { resource },
    headers: { Metadata: "true" },
  });
  return res.data.access_token;
}
