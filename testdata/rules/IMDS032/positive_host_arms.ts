// Managed identity endpoints per host, for the deployment scripts.
export function tokenUrl(host: Host, port: number): string {
  switch (host) {
    case Host.CloudShell:
      // Cloud Shell's token service; the port comes from its environment.
      return `http://localhost:${port}/oauth2/token`;
    case Host.VirtualMachine:
      return `http://localhost:${port}/oauth2/token`;
    default:
      return "http://169.254.169.254/metadata/identity/oauth2/token";
  }
}
