using System.Collections.Generic;
using System.Net.Http;

class ExtensionToken
{
    static async System.Threading.Tasks.Task<string> Get(HttpClient http, string resource)
    {
        var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["resource"] = resource });
        var resp = await http.PostAsync("http://localhost:50342/oauth2/token", form);
        return await resp.Content.ReadAsStringAsync();
    }

    static byte[] Legacy(System.Net.WebClient wc, System.Collections.Specialized.NameValueCollection values)
    {
        return wc.UploadValues("http://127.0.0.1:50342/oauth2/token", "POST", values);
    }
}
