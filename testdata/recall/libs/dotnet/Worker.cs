using Azure.Identity;

var credential = new ManagedIdentityCredential();
var chained = new DefaultAzureCredential();
Console.WriteLine("http://169.254.169.254/metadata/identity/oauth2/token");
