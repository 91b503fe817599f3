import com.azure.identity.ManagedIdentityCredential;
import com.azure.identity.ManagedIdentityCredentialBuilder;

public class Worker {
    public static void main(String[] args) {
        ManagedIdentityCredential credential = new ManagedIdentityCredentialBuilder().build();
        System.out.println(credential);
    }
}
