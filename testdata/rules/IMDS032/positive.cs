public class MsiOptions
{
    public int Port { get; set; } = 50342;

    public string TokenUrl(string resource) =>
        string.Format("http://localhost:{0}/oauth2/token?resource={1}", Port, resource);

    public string TokenUrl2(string resource) => $"http://localhost:{Port}/oauth2/token?resource={resource}";
}
