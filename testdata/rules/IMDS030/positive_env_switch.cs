using System;
using Xunit;

namespace Contoso.Identity.Tests
{
    public class TokenEndpointTests
    {
        [Theory]
        [InlineData(HostKind.CloudShell)]
        [InlineData(HostKind.VmExtension)]
        [InlineData(HostKind.Imds)]
        [InlineData(HostKind.Arc)]
        public void PicksTheEndpointOfTheHost(HostKind kind)
        {
            string expected;
            switch (kind)
            {
                case HostKind.CloudShell:
                    // Cloud Shell serves its own token endpoint on this port.
                    expected = "http://localhost:50342/oauth2/token";
                    break;
                case HostKind.VmExtension:
                    expected = "http://127.0.0.1:50342/oauth2/token";
                    break;
                case HostKind.Imds:
                    expected = "http://169.254.169.254/metadata/identity/oauth2/token";
                    break;
                default:
                    expected = "http://localhost:40342/metadata/identity/oauth2/token";
                    break;
            }
            Assert.Equal(expected, TokenEndpoint.For(kind).ToString());
            Assert.Equal("true", TokenEndpoint.Headers(kind)["Metadata"]);
        }
    }
}
