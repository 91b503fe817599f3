// Managed identity token client.
export class MsiClient {
  constructor(private port: number = 50342) {}

  url(resource: string): string {
    return `http://localhost:${this.port}/oauth2/token?resource=${encodeURIComponent(resource)}`;
  }

  legacyUrl(): string {
    return "http://localhost:" + this.port + "/oauth2/token";
  }
}
