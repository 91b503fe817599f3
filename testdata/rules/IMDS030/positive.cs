using System.Net.Http;
using System.Threading.Tasks;

public static class MsiToken
{
    // Token endpoint of the Managed Identity VM extension.
    private const string Endpoint = "http://localhost:50342/oauth2/token?resource=https://management.azure.com/";

    public static async Task<string> GetAsync(HttpClient client)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, Endpoint);
        request.Headers.Add("Metadata", "true");
        var response = await client.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }
}
