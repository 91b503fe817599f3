import java.net.HttpURLConnection;
import java.net.URL;

class TokenClient {
    /* Reads a token from the extension. */
    String fetch() throws Exception {
        URL url = new URL("http://localhost:50342/oauth2/token?resource=https%3A%2F%2Fvault.azure.net");
        HttpURLConnection conn = (HttpURLConnection) url.openConnection();
        conn.setRequestMethod("GET");
        conn.setRequestProperty("Metadata", "true");
        return new String(conn.getInputStream().readAllBytes());
    }
}
