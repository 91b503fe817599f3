package com.example.fleet;

import com.microsoft.azure.AzureEnvironment;
import com.microsoft.azure.credentials.MSICredentials;
import com.microsoft.azure.management.Azure;

public final class Fleet {
    public static Azure connect() throws Exception {
        MSICredentials credentials = new MSICredentials(AzureEnvironment.AZURE);
        return Azure.authenticate(credentials).withDefaultSubscription();
    }
}
