using Xunit;

namespace Contoso.Identity.Tests
{
    // The virtual machine case (the retired ManagedIdentityExtensionForWindows) has its own
    // tests; this one checks the other hosts.
    public class OtherHostTests
    {
        [Theory]
        [InlineData("CloudShell")]
        [InlineData("Imds")]
        [InlineData("Arc")]
        public void Endpoint(string host)
        {
            var expected = host switch
            {
                "CloudShell" => "http://localhost:50342/oauth2/token",
                "Imds" => "http://169.254.169.254/metadata/identity/oauth2/token",
                _ => "http://localhost:40342/metadata/identity/oauth2/token",
            };
            Assert.Equal(expected, Hosts.Endpoint(host));
        }
    }
}
