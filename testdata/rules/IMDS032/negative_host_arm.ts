// Virtual machine scale sets (vmss) get IMDS; only Cloud Shell keeps a local port.
export function tokenUrl(host: Host, port: number): string {
  switch (host) {
    case Host.CloudShell:
      return `http://localhost:${port}/oauth2/token`;
    default:
      return "http://169.254.169.254/metadata/identity/oauth2/token";
  }
}
