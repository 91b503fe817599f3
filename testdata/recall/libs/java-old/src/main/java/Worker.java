import com.microsoft.azure.AzureEnvironment;
import com.microsoft.azure.credentials.MSICredentials;

public class Worker {
    public static void main(String[] args) {
        MSICredentials credentials = new MSICredentials(AzureEnvironment.AZURE);
        System.out.println(credentials.clientId());
    }
}
