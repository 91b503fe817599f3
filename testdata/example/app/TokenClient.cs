using System.Net.Http;
using System.Threading.Tasks;

namespace Contoso.Payments
{
    public sealed class TokenClient
    {
        private readonly HttpClient _http = new HttpClient();
        private readonly int _port;

        public TokenClient(int port = 50342) => _port = port;

        public Task<string> GetTokenAsync(string resource)
        {
            var url = string.Format("http://localhost:{0}/oauth2/token?resource={1}", _port, resource);
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Add("Metadata", "true");
            return _http.SendAsync(request).ContinueWith(t => t.Result.Content.ReadAsStringAsync()).Unwrap();
        }
    }
}
