class MsiEndpoint {
    // Managed identity via the VM extension.
    static String url(String host, int port) {
        String a = "http://localhost:" + port + "/oauth2/token";
        String b = "http://" + host + ":50342/oauth2/token";
        return a + b;
    }
}
